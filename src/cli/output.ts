/** Printing for commands: colours only on a TTY, JSON when asked, errors in one line. */
import pc from 'picocolors';
// errors.ts and untrusted.ts, not index.ts: `bot-bottle scan` (cli/scan-main.ts) prints with this and loads nothing else.
import { BottleError, ExitCode } from '../errors.js';
import { visible, visibleJson } from '../untrusted.js';

export type Colors = ReturnType<typeof pc.createColors>;

export function colors(enabled: boolean): Colors {
  return pc.createColors(enabled);
}

/**
 * Colour for one stream: `NO_COLOR` (when non-empty) turns it off, then
 * `FORCE_COLOR` (non-empty, not `0`) turns it on, else only a terminal gets it.
 */
export function colorFor(stream: { readonly isTTY?: boolean }, env: Readonly<Record<string, string | undefined>>): boolean {
  if (env.NO_COLOR) return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '') return force !== '0' && force.toLowerCase() !== 'false';
  return stream.isTTY === true;
}

/** One JSON document on stdout (lists are arrays, `[]` when empty). */
export function printJson(value: unknown): void {
  // C1, bidi and invisible characters of bottle text as \u escapes: the same value to a parser.
  process.stdout.write(visibleJson(value, 2) + '\n');
}

/** One JSON object per line: for streams (`logs --follow`, `scan`); nothing at all when empty. */
export function printJsonLine(value: unknown): void {
  process.stdout.write(visibleJson(value) + '\n');
}

/** The CLI's last word on a failure: one line for user errors, a stack for bugs. */
export function reportError(e: unknown, c: Colors): number {
  if (e instanceof BottleError) {
    // Messages quote bottle text (summaries, paths, manifest values from a cloned repository): escaped.
    process.stderr.write(`${c.red('error:')} ${visible(e.message, { lines: true })}\n`);
    if (e.fix) process.stderr.write(`${c.dim('fix:')} ${visible(e.fix, { lines: true })}\n`);
    return e.exitCode;
  }
  process.stderr.write(`${c.red('internal error (a bug in bot-bottle):')} ${visible(e instanceof Error ? (e.stack ?? e.message) : String(e), { lines: true })}\n`);
  return ExitCode.internal;
}

const NAMED: Record<string, (c: Colors, s: string) => string> = {
  red: (c, s) => c.red(s),
  green: (c, s) => c.green(s),
  yellow: (c, s) => c.yellow(s),
  blue: (c, s) => c.blue(s),
  magenta: (c, s) => c.magenta(s),
  cyan: (c, s) => c.cyan(s),
  white: (c, s) => c.white(s),
};
export const COLOR_NAMES = Object.keys(NAMED);

export function paint(c: Colors, color: string | undefined, s: string): string {
  const f = color ? NAMED[color] : undefined;
  return f ? f(c, s) : s;
}

export function age(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

// eslint-disable-next-line no-control-regex -- ANSI colour codes have no width
const ANSI = /\x1b\[[0-9;]*m/g;

export function table(rows: string[][], visibleLength: (s: string) => number = (s) => s.replace(ANSI, "").length): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, visibleLength(cell))));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - visibleLength(cell)))).join('  ')).join('\n') + '\n';
}
