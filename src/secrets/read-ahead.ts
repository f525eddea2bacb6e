/**
 * A child process's output read as fast as it comes and processed chunk by
 * chunk between turns of the event loop, instead of in the `data` event that
 * delivered it.
 *
 * `git log -p` and the scanner run at different speeds from one part of a
 * range to the next: git is slow where it diffs large changed files, the
 * scanner where a commit adds a lot of text. Scanning inside the `data` event
 * kept Node from reading the pipe meanwhile, so git stopped as soon as the
 * kernel's buffer was full, and later the scanner waited for git. Read ahead,
 * git runs at its own pace and its output waits in memory, up to `limit`
 * bytes (then the stream is paused: a huge range does not fill memory).
 */
import type { Readable } from 'node:stream';

/**
 * Milliseconds on a monotonic clock, for timing waits. `performance.now()` would do, but the global's first
 * use loads perf_hooks: 2-3 ms of every scan's start here.
 */
export function nowMs(): number {
  const [s, ns] = process.hrtime();
  return s * 1e3 + ns / 1e6;
}

/**
 * Resolves once the stream has ended and every chunk was processed; rejects with what `onChunk` threw.
 * `onWait` is told how long each wait for the stream lasted, and when it ended (on `nowMs`), once its first
 * chunk was processed: a time the stream's writer was the slow side.
 */
export function readAhead(stream: Readable, onChunk: (chunk: Buffer) => void, limit = 1 << 20, onWait?: (ms: number, now: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const queue: Buffer[] = [];
    let queued = 0;
    let scheduled = false;
    let ended = false;
    let failed = false;
    let idleSince: number | undefined;
    const work = () => {
      scheduled = false;
      if (failed) return;
      const chunk = queue.shift();
      if (chunk) {
        queued -= chunk.length;
        try {
          onChunk(chunk);
        } catch (e) {
          failed = true;
          stream.destroy();
          reject(e instanceof Error ? e : new Error(String(e)));
          return;
        }
        if (stream.isPaused() && queued < limit / 2) stream.resume();
      }
      // One chunk a turn: the event loop reads the pipe between chunks.
      if (queue.length > 0) schedule();
      else if (ended) resolve();
      else if (onWait) idleSince = nowMs();
    };
    const schedule = () => {
      scheduled = true;
      setImmediate(work);
    };
    stream.on('data', (chunk: Buffer) => {
      if (idleSince !== undefined) {
        const now = nowMs();
        onWait?.(now - idleSince, now);
        idleSince = undefined;
      }
      queue.push(chunk);
      queued += chunk.length;
      if (queued > limit) stream.pause();
      if (!scheduled) schedule();
    });
    stream.on('end', () => {
      ended = true;
      if (!scheduled && queue.length === 0) resolve();
    });
    stream.on('error', (e) => {
      failed = true;
      reject(e);
    });
  });
}
