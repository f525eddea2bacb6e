/** Timing whole processes for the scan benchmarks (push.ts, history.ts): wall time, and CPU time of the process and its children. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitleaksBinary } from './score.js';

export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/** CPU time (user + system, ms) of this process's waited-for children, from /proc (Linux; NaN elsewhere). */
function childrenCpuMs(): number {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').replace(/^.*\) /, '').split(' ');
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100; // cutime + cstime, in USER_HZ (100)
  } catch {
    return NaN;
  }
}

/**
 * Wall time, and CPU time of the process and its children (git too): on a busy machine the steadier of the two.
 * `discard`: the output goes to /dev/null (collecting 5 MB through a pipe would cost more than git's own work).
 */
export function timed(cmd: string, args: string[], cwd: string, discard = false): { ms: number; cpu: number; out: string } {
  const c0 = childrenCpuMs();
  const t0 = process.hrtime.bigint();
  const p = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', discard ? 'ignore' : 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (p.status !== 0 && p.status !== 1) throw new Error(`${cmd}: exit ${p.status}: ${p.stderr}`);
  return { ms, cpu: childrenCpuMs() - c0, out: p.stdout };
}

export interface Hit {
  commit: string;
  path: string;
}

export interface Run {
  ms: number;
  cpu: number;
  hits: Hit[];
}

/** `bot-bottle scan --json` by `cli`: the package's executable (bin/bot-bottle), or a program's bin.js run with this Node. */
export function ours(cli: string, repo: string, range: string): Run {
  const args = ['scan', '--repo', repo, '--range', range, '--json'];
  const cwd = repo;
  const r = cli.endsWith('.js') ? timed(process.execPath, [cli, ...args], cwd) : timed(cli, args, cwd);
  return { ms: r.ms, cpu: r.cpu, hits: r.out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Hit) };
}

/** gitleaks `detect` on the same range, its report written to `report`. */
export function gitleaks(bin: string, repo: string, range: string, report: string): Run {
  const r = timed(bin, ['detect', '--source', repo, '--log-opts', range, '--report-format', 'json', '--report-path', report, '--no-banner', '--exit-code', '0', '--log-level', 'error'], repo);
  const raw = JSON.parse(readFileSync(report, 'utf8')) as { Commit: string; File: string }[] | null;
  return { ms: r.ms, cpu: r.cpu, hits: (raw ?? []).map((f) => ({ commit: f.Commit, path: f.File })) };
}

export type Tool = readonly [name: string, run: () => Run];

/**
 * What the scan benchmarks compare on one range: `bin/bot-bottle scan` of the checkout at `root` (the
 * executable a pre-push hook runs), another checkout's (`baseline`) if named, and gitleaks if installed.
 */
export function scanTools(root: string, repo: string, range: string, work: string, baseline?: string): Tool[] {
  const tools: Tool[] = [['bot-bottle scan (CLI)', () => ours(join(root, 'bin', 'bot-bottle'), repo, range)]];
  if (baseline) tools.push([`baseline ${baseline}`, () => ours(baseline, repo, range)]);
  const gl = gitleaksBinary();
  if (gl) tools.push(['gitleaks 8.16 detect', () => gitleaks(gl, repo, range, join(work, 'gl.json'))]);
  return tools;
}

export interface Timings {
  times: number[];
  cpus: number[];
  /** The last run's findings. */
  hits: Hit[];
}

/**
 * Each tool `rounds` + 1 times, the first run not counted (it warms caches). Interleaved, each round runs
 * every tool once: on a shared machine the load drifts, and one tool's runs after another's would mostly
 * measure the drift.
 */
export function runRounds(tools: readonly Tool[], rounds: number, interleave = true): Timings[] {
  const results = tools.map((): Timings => ({ times: [], cpus: [], hits: [] }));
  const runOnce = (t: number, i: number) => {
    const tool = tools[t];
    const r = results[t];
    if (!tool || !r) return;
    const x = tool[1]();
    if (i > 0) {
      r.times.push(x.ms);
      r.cpus.push(x.cpu);
    }
    r.hits = x.hits;
  };
  if (interleave) for (let i = 0; i <= rounds; i++) tools.forEach((_, t) => runOnce(t, i));
  else tools.forEach((_, t) => { for (let i = 0; i <= rounds; i++) runOnce(t, i); });
  return results;
}
