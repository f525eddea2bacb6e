/**
 * The escape suite's vocabulary: a case is one attack an already-compromised
 * agent (or a hostile repository) tries; it reports whether the attack got
 * through. `expect` says what the threat model (README) promises for it:
 * `stopped` (a leak is a failure), or `out-of-reach` (pattern matching
 * cannot stop it; the case documents that, and either result passes).
 */
import type { World } from './world.js';

export const CATEGORIES = [
  'network',
  'proxy-policy',
  'smuggling',
  'dlp',
  'tokens',
  'git-gate',
  'supervise',
  'confinement',
  'manifest',
] as const;
export type Category = (typeof CATEGORIES)[number];

export type Expect = 'stopped' | 'out-of-reach';

/** What happened: `escaped` is true when the attack achieved its aim. */
export interface Outcome {
  readonly escaped: boolean;
  /** One line: what the bottle answered or what leaked. */
  readonly detail: string;
}

export interface EscapeCase {
  /** `<category>/<short-name>`, unique. */
  readonly id: string;
  readonly category: Category;
  /** The attack, in one line. */
  readonly attack: string;
  readonly expect: Expect;
  run(w: World): Promise<Outcome>;
}

export type Result = 'stopped' | 'ESCAPED' | 'error';

export interface CaseResult {
  readonly c: EscapeCase;
  readonly result: Result;
  readonly detail: string;
  /** An escape where the threat model says `stopped`, or a case that could not run. */
  readonly failed: boolean;
}

export const stopped = (detail: string): Outcome => ({ escaped: false, detail });
export const escaped = (detail: string): Outcome => ({ escaped: true, detail });

export async function runCase(c: EscapeCase, w: World): Promise<CaseResult> {
  try {
    const o = await c.run(w);
    const result: Result = o.escaped ? 'ESCAPED' : 'stopped';
    return { c, result, detail: o.detail, failed: o.escaped && c.expect === 'stopped' };
  } catch (e) {
    // A case that cannot run proves nothing: it fails, never passes.
    return { c, result: 'error', detail: e instanceof Error ? e.message.split('\n')[0] ?? '' : String(e), failed: true };
  }
}

/** The table for the report: case, expected, result, and the counts. */
export function formatTable(results: readonly CaseResult[], backend: string): string {
  const rows = [['case', 'expected', 'result', 'detail'], ...results.map((r) => [r.c.id, r.c.expect, r.result, oneLine(r.detail, 90)])];
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]) => row.map((cell, i) => (i < 3 ? cell.padEnd(widths[i] ?? 0) : cell)).join('  ');
  const leaks = results.filter((r) => r.result === 'ESCAPED' && r.c.expect === 'stopped').length;
  const errors = results.filter((r) => r.result === 'error').length;
  const outOfReach = results.filter((r) => r.c.expect === 'out-of-reach');
  return [
    `escape suite on backend ${backend}`,
    line(rows[0] ?? []),
    ...rows.slice(1).map(line),
    '',
    `${results.length} cases: ${results.filter((r) => r.result === 'stopped').length} stopped, ${leaks} leaks among the ${results.length - outOfReach.length} the threat model says are stopped, ${errors} could not run; ${outOfReach.length} out of reach by design (${outOfReach.filter((r) => r.result === 'ESCAPED').length} got through).`,
  ].join('\n');
}

function oneLine(s: string, max: number): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}
