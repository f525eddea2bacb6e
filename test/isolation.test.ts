/** The isolation suite (test/isolation.ts) on the Docker backend. */
import { loadBackend } from './escape/backend.js';
import { isolationSuite } from './isolation.js';

isolationSuite(await loadBackend('docker'));
