/**
 * The escape suite under `npm test`, against the backend named by
 * BOT_BOTTLE_ESCAPE_BACKEND (default docker); BOT_BOTTLE_ESCAPE_ONLY limits
 * it to cases whose id starts with one of its comma-separated prefixes.
 */
import { escapeTests } from './node-tests.js';

escapeTests(process.env.BOT_BOTTLE_ESCAPE_BACKEND || 'docker', (process.env.BOT_BOTTLE_ESCAPE_ONLY ?? '').split(',').filter(Boolean));
