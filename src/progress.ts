/**
 * Progress for long waits (image builds, engine starts). Writes to stderr so
 * stdout stays clean for `--json`. Quiet mode prints nothing. Messages may
 * carry bottle text (a proposed Dockerfile's build output, a summary), so
 * their control characters are made visible.
 */
import { visible } from './untrusted.js';

export interface Progress {
  /** A step that may take a while. */
  step(message: string): void;
  /** A detail line inside a step (e.g. a build log line). */
  detail(message: string): void;
  /** Something the user should know once (fallbacks, warnings). */
  warn(message: string): void;
}

export const silentProgress: Progress = { step() {}, detail() {}, warn() {} };

/**
 * Verbose lines start with the time since the process started (Node's time
 * origin, so the CLI's own start is counted): `--verbose` shows where a
 * command's time goes.
 */
export function stderrProgress(opts: { verbose: boolean; color: boolean }): Progress {
  const dim = (s: string) => (opts.color ? `\x1b[2m${s}\x1b[22m` : s);
  const yellow = (s: string) => (opts.color ? `\x1b[33m${s}\x1b[39m` : s);
  const at = () => (opts.verbose ? dim(`${(performance.now() / 1000).toFixed(3).padStart(7)} s `) : '');
  return {
    step: (m) => process.stderr.write(`${at()}• ${visible(m)}\n`),
    detail: (m) => {
      if (opts.verbose) process.stderr.write(`${at()}${dim(`  ${visible(m)}`)}\n`);
    },
    warn: (m) => process.stderr.write(`${at()}${yellow(`! ${visible(m)}`)}\n`),
  };
}
