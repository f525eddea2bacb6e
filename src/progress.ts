/**
 * Progress for long waits (image builds, engine starts). Writes to stderr so
 * stdout stays clean for `--json`. Quiet mode prints nothing.
 */
export interface Progress {
  /** A step that may take a while. */
  step(message: string): void;
  /** A detail line inside a step (e.g. a build log line). */
  detail(message: string): void;
  /** Something the user should know once (fallbacks, warnings). */
  warn(message: string): void;
}

export const silentProgress: Progress = { step() {}, detail() {}, warn() {} };

export function stderrProgress(opts: { verbose: boolean; color: boolean }): Progress {
  const dim = (s: string) => (opts.color ? `\x1b[2m${s}\x1b[22m` : s);
  const yellow = (s: string) => (opts.color ? `\x1b[33m${s}\x1b[39m` : s);
  return {
    step: (m) => process.stderr.write(`• ${m}\n`),
    detail: (m) => {
      if (opts.verbose) process.stderr.write(dim(`  ${m}`) + '\n');
    },
    warn: (m) => process.stderr.write(yellow(`! ${m}`) + '\n'),
  };
}
