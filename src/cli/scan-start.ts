/**
 * `bot-bottle scan`'s start (bin/bot-bottle runs it as dist/cli/scan.cjs, and
 * bin.js imports it): when the command line is a plain range scan, git's log
 * first (the one bin/bot-bottle started on stdin, else one started here), then
 * the scan bundle beside it, with its code cache.
 */
import { fstatSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { adoptPipedLog, PIPED_LOG_ENV, prestartLog } from '../secrets/git-log.js';
import { startScan } from './scan-load.js';

/** `scan [--repo P] --range A..B` (any order, with `--json` or `--entropy`): the repository and range; else none. */
function plainRange(argv: readonly string[]): { repo: string; range: string } | undefined {
  if (argv[2] !== 'scan') return undefined;
  let repo = '.';
  let range: string | undefined;
  for (let i = 3; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const value = argv[i + 1];
    if ((arg === '--repo' || arg === '--range') && value !== undefined && !value.startsWith('-')) {
      if (arg === '--repo') repo = value;
      else range = value;
      i++;
    } else if (arg !== '--json' && arg !== '--entropy') return undefined;
  }
  return range?.includes('..') ? { repo, range } : undefined;
}

/**
 * A plain range scan's log (git-log.ts), before the scanner loads: the one
 * bin/bot-bottle started on stdin (it reads the command line the same way,
 * and names the log's nonce in PIPED_LOG_ENV), else one started here. The
 * scan takes it only if it is exactly the log it would start; anything else
 * on the command line (help, --all, --repo=P) leaves the scan to start its own.
 */
function prestart(argv: readonly string[]): void {
  const nonce = process.env[PIPED_LOG_ENV];
  delete process.env[PIPED_LOG_ENV];
  const plain = plainRange(argv);
  if (!plain) return;
  if (nonce !== undefined && /^[0-9a-f]{16}$/.test(nonce) && stdinIsPipe()) adoptPipedLog(resolve(plain.repo), plain.range, nonce, process.stdin);
  else prestartLog(resolve(plain.repo), plain.range);
}

function stdinIsPipe(): boolean {
  try {
    return fstatSync(0).isFIFO();
  } catch {
    return false;
  }
}

prestart(process.argv);
startScan(fileURLToPath(new URL('./scan.bundle.cjs', import.meta.url)));
