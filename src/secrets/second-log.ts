/**
 * When a range scan starts a second `git log` from the range's other end
 * (see `startSecond` in git.ts): only where git is clearly the slow side.
 *
 * - Where the scanner is the slow part (a push of new files) it hardly waits,
 *   and a second git would only take CPU from it: 70 ms more on the
 *   200-commit bench push.
 * - Starting git takes the scanner's thread 10-20 ms a process here (fork and
 *   exec; the rev-list is another), so a log that ends soon is left alone:
 *   200 one-line commits (git's log takes 110 ms, and the scan waits for it
 *   65 ms of that) took 58 ms longer with a second log. The log bin/bot-bottle
 *   starts reaches the scan 128 KiB at a time (or whole, when shorter), so
 *   there a wait after the first read already means a long log.
 * - Both sides keep a core busy while the scanner catches up with git now and
 *   then, and a second git takes CPU from the scanner: on 21 commits of build
 *   output (source maps and minified files) the waits reached 20 ms at a tenth
 *   of the time since the scanner first caught up, and a second log made the
 *   scan 50-90 ms slower. On real history that share is two thirds throughout,
 *   and the second log saves a tenth of the scan.
 */
export interface SecondLogWhen {
  /** ms waited for git, in all */
  readonly waited: number;
  /** ms since the log started */
  readonly after: number;
  /** waited, as a share of the time since the scanner first caught up with git (its first wait began) */
  readonly idleShare: number;
}

/** For the log a scan starts itself. */
export const SECOND_LOG: SecondLogWhen = { waited: 40, after: 150, idleShare: 0.5 };
/** For the log bin/bot-bottle started (PipedLog in git-log.ts). */
export const SECOND_PIPED_LOG: SecondLogWhen = { waited: 20, after: 0, idleShare: 0.5 };

/**
 * Told each wait for the first log's output (`readAhead`'s `onWait`: its length, at its end), says whether a
 * second log should start now. `since` is when the first log started; times are `nowMs()`'s (read-ahead.ts).
 */
export function secondLogTrigger(when: SecondLogWhen, since: number): (ms: number, now: number) => boolean {
  let waited = 0;
  let caughtUp: number | undefined;
  return (ms, now) => {
    caughtUp ??= now - ms;
    waited += ms;
    return waited >= when.waited && now - since >= when.after && waited >= when.idleShare * (now - caughtUp);
  };
}
