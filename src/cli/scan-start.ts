/**
 * `bot-bottle scan`'s start (bin/bot-bottle runs it as dist/cli/scan.cjs, and
 * bin.js imports it): the scan bundle beside it, with its code cache.
 */
import { fileURLToPath } from 'node:url';
import { startScan } from './scan-load.js';

startScan(fileURLToPath(new URL('./scan.bundle.cjs', import.meta.url)));
