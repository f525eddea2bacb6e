/** The dashboard page's entry point (bundled into static/app.js). */
import { render } from 'preact';
import { App } from './app.js';

const root = document.getElementById('app');
if (root) render(<App />, root);
