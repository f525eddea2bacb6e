/**
 * Run by hand (`node --import tsx --test test/escape/microvm-subset.ts`), not
 * under `npm test`: with two guests under software emulation one boot stalled
 * past 200 s on a loaded machine, which would fail CI on a slow box. The
 * escape suite on the micro-VM backend: a representative
 * subset (every network case but the full port scan, every confinement and
 * token case, and one of each other kind of attack that touches the backend), because two guests under software
 * emulation make the whole suite too slow for CI. The full suite on this
 * backend: `npm run escape -- --backend microvm`.
 */
import { escapeTests } from './node-tests.js';

// Every network case but the full port scan: its 65,535 probes through the
// guest's user-mode network ran over 7 minutes under software emulation here
// without finishing. It runs in `npm run escape -- --backend microvm`.
export const MICROVM_SUBSET = [
  'network/host-',
  'network/upstream-direct',
  'network/cloud-metadata',
  'network/external-dns',
  'network/neighbour-',
  'network/own-bundle-egress-side',
  'confinement/',
  'tokens/',
  'proxy/unrouted-host',
  'proxy/plain-http',
  'smuggling/cl-te',
  'git-gate/key-in-file',
  'git-gate/bypass-the-gate',
];

escapeTests('microvm', MICROVM_SUBSET);
