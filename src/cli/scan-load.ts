/**
 * Starting `bot-bottle scan` from its bundle (dist/cli/scan.bundle.cjs, made
 * by scripts/bundle-scan.mjs) with V8's code cache for it: the bytecode of
 * the functions a scan runs, written beside the bundle at build time, so a
 * scan does not parse and compile them again. A scan runs in pre-push hooks
 * and CI on every push, where start-up is a large part of its time.
 *
 * The bundle is CommonJS run through `vm.Script`, the one way Node 20 takes
 * a code cache (ES modules take none), with the wrapper Node's own CommonJS
 * loader would give it. V8 checks the cache against its own version, its
 * flags and the source, and compiles from the source when any differs (a
 * newer Node, a changed bundle, NODE_OPTIONS with V8 flags): the cache can
 * make a scan faster, never different.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';

/**
 * A scan is a short process over a lot of text: with V8's defaults its optimising compiler spent more CPU
 * (on its background threads, competing with git for the cores) than the scan itself, recompiling big
 * inlined graphs of the rule loop. Tiering up later and without inlining cost a quarter less CPU on a
 * 200-commit push and a sixth less on one 83 MB commit (bench/scan/push.ts). Set before the scanner is
 * compiled: the code cache was made under the same flags (V8 refuses one made under others).
 */
export const SCAN_V8_FLAGS = '--interrupt-budget=1000000 --no-turbo-inlining';

/**
 * Node ships a code cache for its own modules, checked against V8's flags like any other: once the flags
 * change, each module it loads after is compiled from source. So the ones a scan needs (child_process and
 * the streams under it, stdout's stream) are loaded first: 5 ms less at every start.
 */
function setScanFlags(): void {
  const require = createRequire(import.meta.url);
  require('node:child_process');
  void process.stdout;
  (require('node:v8') as typeof import('node:v8')).setFlagsFromString(SCAN_V8_FLAGS);
}

/** Set at build time only (scripts/bundle-scan.mjs): write the code cache when this scan exits. */
export const WRITE_CACHE_ENV = 'BOT_BOTTLE_WRITE_SCAN_CACHE';

export function codeCacheOf(bundle: string): string {
  return `${bundle}.v8cache`;
}

type CommonJsBody = (exports: object, require: NodeJS.Require, module: { exports: object }, filename: string, dirname: string) => void;

/** The scan bundle at `bundle` (an absolute path) compiled, with its code cache when V8 takes it. */
export function compileScan(bundle: string): { script: Script; cacheUsed: boolean } {
  setScanFlags();
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(codeCacheOf(bundle));
  } catch {
    // no cache (a build that could not run git): compiled from the source
  }
  // esbuild writes ASCII only (non-ASCII characters escaped; the build checks): read as one byte a character,
  // without UTF-8 decoding.
  const source = readFileSync(bundle, 'latin1');
  const script = new Script(`(function (exports, require, module, __filename, __dirname) { ${source}\n})`, {
    filename: bundle,
    ...(cachedData ? { cachedData } : {}),
  });
  return { script, cacheUsed: cachedData !== undefined && !script.cachedDataRejected };
}

/** Run the scan bundle at `bundle` (an absolute path) as this process's program. */
export function startScan(bundle: string): void {
  const { script } = compileScan(bundle);
  if (process.env[WRITE_CACHE_ENV] === '1') {
    // At exit the cache holds every function the scan compiled, not only the top level.
    const cacheFile = codeCacheOf(bundle);
    process.once('exit', () => {
      writeFileSync(`${cacheFile}.tmp`, script.createCachedData());
      renameSync(`${cacheFile}.tmp`, cacheFile);
    });
  }
  const body = script.runInThisContext() as CommonJsBody;
  const module = { exports: {} };
  body.call(module.exports, module.exports, createRequire(bundle), module, bundle, dirname(bundle));
}
