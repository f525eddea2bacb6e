/**
 * Run by hand (`node --import tsx --test test/escape/microvm-subset.ts`), not
 * under `npm test`: with two guests under software emulation one boot stalled
 * past 200 s on a loaded machine, which would fail CI on a slow box. The
 * escape suite on the micro-VM backend: a representative
 * subset (every network case, every confinement and
 * token case, and one of each other kind of attack that touches the backend), because two guests under software
 * emulation make the whole suite too slow for CI. The full suite on this
 * backend: `npm run escape -- --backend microvm`.
 */
import { escapeTests } from './node-tests.js';

// Every network case. The full port scan is the slow one: its 65,535 probes
// took about 2.5 minutes in a TCG guest here (load 7 to 9), every closed port
// refused at once by the guest's restricted user-mode network.
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
