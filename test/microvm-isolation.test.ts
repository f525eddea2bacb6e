/** The isolation suite (test/isolation.ts) on the micro-VM backend: the same cases, two guests. */
import { loadBackend } from './escape/backend.js';
import { isolationSuite } from './isolation.js';

isolationSuite(await loadBackend('microvm'));
