/** How a run of the program ends: once its output has drained, or its reader has gone. */
import { ExitCode } from '../errors.js';

/** Set once a reader went away (EPIPE on stdout or stderr). */
let readerGone = false;

/**
 * A reader that goes away (`bot-bottle scan --help | head -1`) is noted, not thrown: without a listener
 * Node threw the EPIPE as an unhandled 'error' event, a stack trace (a listener added at the exit came too
 * late when the error arrived first). Any other write error is thrown as before. For a run that ends by
 * itself (`scan`): `exitAfterFlush` then reports it.
 */
export function noteClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
      readerGone = true;
    });
  }
}

/**
 * Exit with `code` once stdout and stderr have drained. process.exit drops what a pipe has not taken
 * yet, so `proposals --json | slow-reader` was cut at 64 KiB (invalid JSON); an empty write's callback
 * runs after every earlier write. With `gone`: the code when all went well but a reader went away, so
 * the output was not all read (`scan` gives 141, as a shell reports a program SIGPIPE ended: non-zero
 * for `set -o pipefail`); any other code stands (a scan that found secrets still exits 1).
 */
export function exitAfterFlush(code: number, gone?: ExitCode): void {
  let left = 2;
  const done = (): void => {
    if (--left === 0) process.exit(gone !== undefined && readerGone && code === ExitCode.ok ? gone : code);
  };
  for (const stream of [process.stdout, process.stderr]) {
    // A reader that went away (EPIPE) has nothing left to wait for; the write's callback and
    // 'error' may both fire for one stream, which must count once.
    let settled = false;
    const once = (e?: NodeJS.ErrnoException | null): void => {
      if (e?.code === 'EPIPE') readerGone = true;
      if (settled) return;
      settled = true;
      done();
    };
    stream.once('error', once);
    stream.write('', once);
  }
}

/**
 * A run whose event loop empties while `done` is pending is a fault of ours, never a success: Node would
 * exit 0, and a scan that stopped early would pass a push it had not read. Exit `internal` then.
 */
export function failIfUnsettled(done: Promise<unknown>, what: string): void {
  let settled = false;
  done.then(
    () => (settled = true),
    () => (settled = true),
  );
  process.on('beforeExit', () => {
    if (settled) return;
    process.stderr.write(`error: internal error: ${what} stopped before it finished (please report it)\n`);
    process.exit(ExitCode.internal);
  });
}
