/**
 * Scale: N bottles (default 20) started in parallel with `start --detach`,
 * beside the anchor from the same run (N bare `docker run -d` of the same
 * agent image, in parallel). Prints the total and per-bottle times, each
 * bottle's memory by the engine's stats, and how long `list` and `cleanup`
 * take with N bottles. Asserts nothing.
 *
 *   npm run --silent build && node --import tsx bench/scale.ts [N=20]
 *
 * `cleanup` is timed twice: with N live bottles (nothing to remove: the scan
 * alone), and removing N orphans. The orphans are the same bottles with their
 * record changed to what a killed session leaves (not detached, owner gone):
 * starting N attached sessions and killing their CLIs would measure the same
 * cleanup at far more cost.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

const n = Number(process.argv[2] ?? 20);
const cli = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
const home = mkdtempSync(join(tmpdir(), 'bb-bench-scale-'));
mkdirSync(join(home, 'agents'), { recursive: true });
mkdirSync(join(home, 'bottles'), { recursive: true });
writeFileSync(join(home, 'bottles', 'bench.md'), '---\nagent_provider:\n  template: shell\n---\n');
writeFileSync(join(home, 'agents', 'bench.md'), '---\nbottle: bench\n---\n');
const env = { ...process.env, BOT_BOTTLE_HOME: home, NO_COLOR: '1' };

interface Ran {
  ms: number;
  code: number | null;
  out: string;
  err: string;
}

function timed(cmd: string, args: readonly string[]): Promise<Ran> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => resolve({ ms: performance.now() - t0, code, out, err }));
  });
}

const bb = (...args: string[]) => timed(process.execPath, [cli, ...args]);
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const mib = (text: string): number => {
  const m = /^([\d.]+)\s*([KMG]i?B|B)/.exec(text.trim());
  if (!m) return NaN;
  const unit = { B: 1 / 2 ** 20, KiB: 1 / 1024, kB: 1 / 1024, MiB: 1, MB: 1, GiB: 1024, GB: 1024 }[m[2]] ?? NaN;
  return Number(m[1]) * unit;
};

const ids: string[] = [];
const bare: string[] = [];
try {
  console.log(`bottles: ${n}   load average at start: ${load()}`);
  // Warm-up: images built (or found) and the runtime probed, not measured.
  const warm = await bb('start', 'bench', '--detach', '--json');
  if (warm.code !== 0) throw new Error(`warm-up start failed: ${warm.err}`);
  const warmId = (JSON.parse(warm.out) as { identity: string }).identity;
  const agentImage = execFileSync('docker', ['inspect', '-f', '{{.Config.Image}}', `bot-bottle-${warmId}-agent`], { encoding: 'utf8' }).trim();
  await bb('stop', warmId);

  // Anchor: N bare containers of the agent image, in parallel.
  const t0 = performance.now();
  const bareRuns = await Promise.all(Array.from({ length: n }, () => timed('docker', ['run', '-d', '--network', 'none', agentImage, 'sleep', '600'])));
  const bareTotal = performance.now() - t0;
  for (const r of bareRuns) if (r.code === 0) bare.push(r.out.trim());
  await timed('docker', ['rm', '-f', ...bare]);
  bare.length = 0;

  const t1 = performance.now();
  const starts = await Promise.all(Array.from({ length: n }, () => bb('start', 'bench', '--detach', '--json')));
  const total = performance.now() - t1;
  const failed = starts.filter((r) => r.code !== 0);
  for (const r of starts) if (r.code === 0) ids.push((JSON.parse(r.out) as { identity: string }).identity);
  const loadAfterStart = load();
  const each = starts.filter((r) => r.code === 0).map((r) => r.ms);

  // Every bottle answers: its agent runs a command.
  const execs = await Promise.all(ids.map((id) => bb('exec', id, '--', 'sh', '-c', 'echo "$BOT_BOTTLE_IDENTITY"')));
  const answered = execs.filter((r, i) => r.code === 0 && r.out.trim() === ids[i]).length;

  await new Promise((r) => setTimeout(r, 5000)); // idle
  const names = ids.flatMap((id) => [`bot-bottle-${id}-bundle`, `bot-bottle-${id}-agent`]);
  const stats = execFileSync('docker', ['stats', '--no-stream', '--format', '{{.Name}} {{.MemUsage}}', ...names], { encoding: 'utf8' });
  const memOf = new Map(stats.trim().split('\n').map((l) => [l.split(' ')[0] ?? '', mib(l.slice(l.indexOf(' ') + 1))]));
  const bundleMem = ids.map((id) => memOf.get(`bot-bottle-${id}-bundle`) ?? NaN);
  const agentMem = ids.map((id) => memOf.get(`bot-bottle-${id}-agent`) ?? NaN);

  const lists: number[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await bb('list', '--json');
    if (r.code !== 0 || (JSON.parse(r.out) as unknown[]).length !== ids.length) throw new Error(`list saw the wrong bottles: ${r.err}`);
    lists.push(r.ms);
  }
  const scan = await bb('cleanup', '--yes', '--json');
  const spared = (JSON.parse(scan.out) as { removed: string[] }).removed.length;

  // What a killed session leaves: not detached, its owner gone.
  const dead = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => dead.on('close', r));
  for (const id of ids) {
    const f = join(home, 'state', id, 'metadata.json');
    const meta = JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown>;
    writeFileSync(f, JSON.stringify({ ...meta, detached: false, owner_pid: dead.pid }), { mode: 0o600 });
  }
  const removed = await bb('cleanup', '--yes', '--json');
  const removedN = removed.code === 0 ? (JSON.parse(removed.out) as { removed: string[] }).removed.length : 0;
  if (removedN === ids.length) ids.length = 0;

  const fmtMem = (xs: number[]) => `median ${median(xs).toFixed(1)} MiB (min ${Math.min(...xs).toFixed(1)}, max ${Math.max(...xs).toFixed(1)})`;
  console.log(`all ready                          : ${n - failed.length}/${n} started, ${answered}/${n - failed.length} answered an exec`);
  for (const f of failed.slice(0, 3)) console.log(`  failed: ${f.err.trim().split('\n').pop() ?? ''}`);
  console.log(`${n} x start --detach, parallel    : ${s(total)} total; per bottle median ${s(median(each))}, max ${s(Math.max(...each))}`);
  console.log(`${n} x bare docker run -d (anchor) : ${s(bareTotal)} total`);
  console.log(`ratio total / anchor               : ${(total / bareTotal).toFixed(1)}x`);
  console.log(`load average after the starts      : ${loadAfterStart}`);
  console.log(`memory per bottle, bundle (idle)   : ${fmtMem(bundleMem)}`);
  console.log(`memory per bottle, agent (idle)    : ${fmtMem(agentMem)}`);
  console.log(`list --json with ${n} bottles       : median ${s(median(lists))} of 3`);
  console.log(`cleanup --yes, ${n} live (scan)     : ${s(scan.ms)} (removed ${spared})`);
  console.log(`cleanup --yes, ${n} orphans         : ${s(removed.ms)} (removed ${removedN})`);
  console.log(`load average at end                : ${load()}`);
} finally {
  if (bare.length > 0) execFileSync('docker', ['rm', '-f', ...bare], { stdio: 'ignore' });
  await Promise.all(ids.map((id) => bb('stop', id)));
  rmSync(home, { recursive: true, force: true });
}
