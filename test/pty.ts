/**
 * The CLI on a real pseudo-terminal, typed into like a user would: util-linux
 * `script` (Debian's essential bsdutils) allocates the pty, so stdin and
 * stdout are terminals to the CLI, raw mode and hidden prompts included.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { CLI } from './helpers.js';

export interface PtySession {
  readonly child: ChildProcessWithoutNullStreams;
  /** Everything the terminal showed so far (stdout and stderr share it), without control sequences. */
  output(): string;
  /** The same, as the bytes arrived. */
  raw(): string;
  /** Keystrokes, as typed. */
  type(text: string): void;
  /** Resolves once `pattern` appears in `output()`; rejects on exit or timeout. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** The CLI's exit code (script -e passes it through). */
  readonly exited: Promise<number | null>;
}

// CSI and OSC sequences (cursor moves, colours, titles) and the carriage returns of raw mode.
// eslint-disable-next-line no-control-regex -- matching control sequences is the point
const CONTROL = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]|\r/g;

/** What a person would read on the terminal, near enough for matching. */
export function screenText(raw: string): string {
  return raw.replace(CONTROL, '');
}

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export function ptyCli(args: readonly string[], opts: { env: NodeJS.ProcessEnv; cwd?: string; cols?: number; rows?: number }): PtySession {
  const command = [process.execPath, CLI, ...args].map(shellQuote).join(' ');
  // The pty starts 80x24; stty sets the size the session should see.
  const sized = `stty cols ${opts.cols ?? 100} rows ${opts.rows ?? 30} 2>/dev/null; exec ${command}`;
  const child = spawn('script', ['-qfec', sized, '/dev/null'], { env: { ...opts.env, TERM: 'xterm' }, ...(opts.cwd ? { cwd: opts.cwd } : {}), stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const w of waiters) w();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => {
      exitCode = code;
      for (const w of waiters) w();
      resolve(code);
    });
  });
  return {
    child,
    output: () => screenText(out),
    raw: () => out,
    type: (text) => void child.stdin.write(text),
    exited,
    waitFor: (pattern, timeoutMs = 300_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const m = pattern.exec(screenText(out));
          if (m) {
            done();
            resolve(m);
          } else if (exitCode !== undefined) {
            done();
            reject(new Error(`the CLI exited (${exitCode}) before ${pattern}; it showed:\n${screenText(out)}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no ${pattern} within ${timeoutMs} ms; the terminal showed:\n${screenText(out)}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      }),
  };
}
