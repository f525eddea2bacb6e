/**
 * The escape suite on the micro-VM backend under `npm test`: a representative
 * subset (every network, confinement and token case, and one of each other
 * kind of attack that touches the backend), because two guests under software
 * emulation make the whole suite too slow for CI. The full suite on this
 * backend: `npm run escape -- --backend microvm`.
 */
import { escapeTests } from './node-tests.js';

export const MICROVM_SUBSET = [
  'network/',
  'confinement/',
  'tokens/',
  'proxy/unrouted-host',
  'proxy/plain-http',
  'smuggling/cl-te',
  'git-gate/key-in-file',
  'git-gate/bypass-the-gate',
];

escapeTests('microvm', MICROVM_SUBSET);
