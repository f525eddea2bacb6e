/**
 * `bot-bottle scan`'s start (bin/bot-bottle runs it as dist/cli/scan.cjs, and
 * bin.js imports it): git's log started first when the command line is a
 * plain range scan, then the scan bundle beside it, with its code cache.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prestartLog } from '../secrets/git-log.js';
import { startScan } from './scan-load.js';

/**
 * `scan --repo P --range R` (any order, with `--json` or `--entropy`): the log that scan reads, started
 * before the scanner loads (git-log.ts). The scan takes it only if it is exactly the log it would start;
 * anything else on the command line (help, --all, --repo=P) leaves the scan to start its own.
 */
function prestart(argv: readonly string[]): void {
  if (argv[2] !== 'scan') return;
  let repo = '.';
  let range: string | undefined;
  for (let i = 3; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const value = argv[i + 1];
    if ((arg === '--repo' || arg === '--range') && value !== undefined && !value.startsWith('-')) {
      if (arg === '--repo') repo = value;
      else range = value;
      i++;
    } else if (arg !== '--json' && arg !== '--entropy') return;
  }
  if (range?.includes('..')) prestartLog(resolve(repo), range);
}

prestart(process.argv);
startScan(fileURLToPath(new URL('./scan.bundle.cjs', import.meta.url)));
