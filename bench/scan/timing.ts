/** Timing whole processes for the scan benchmarks (push.ts, history.ts): wall time, and CPU time of the process and its children. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

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
