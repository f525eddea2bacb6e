/**
 * A whole bottle on the micro-VM backend through the CLI, side by side with
 * the anchor (the same bottle on the Docker backend): `start --detach` to
 * ready, first `exec`, `stop`, and what an idle bottle costs the host (QEMU's
 * proportional set size once the guest settles, and the sidecar bundle's
 * memory, the same container on both backends). Prints the load average
 * with the figures: software emulation slows with every busy core. Prints
 * numbers; asserts nothing.
 *
 *   npm run build && node --import tsx bench/microvm-start.ts [runs=3]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

const runs = Number(process.argv[2] ?? 3);
const cli = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
const home = mkdtempSync(join(tmpdir(), 'bb-bench-mvm-'));
mkdirSync(join(home, 'agents'), { recursive: true });
mkdirSync(join(home, 'bottles'), { recursive: true });
writeFileSync(join(home, 'bottles', 'bench.md'), '---\nagent_provider:\n  template: shell\nruntime: {cpus: 1, memory: 512m}\n---\n');
writeFileSync(join(home, 'agents', 'bench.md'), '---\nbottle: bench\n---\n');
const env = { ...process.env, BOT_BOTTLE_HOME: home, NO_COLOR: '1' };

function timed(args: string[]): { ms: number; out: string; err: string } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`bot-bottle ${args.join(' ')} failed: ${r.stderr}`);
  return { ms, out: r.stdout, err: r.stderr };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const load = () => loadavg()[0] ?? NaN;

function qemuPid(identity: string): number {
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').some((a) => a.startsWith(`bot-bottle-${identity},`))) return Number(p);
    } catch {
      /* gone */
    }
  }
  throw new Error(`no QEMU for ${identity}`);
}

function pssMiB(pid: number): number {
  const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
  return Number(m?.[1] ?? NaN) / 1024;
}

function bundleMem(identity: string): string {
  return execFileSync('docker', ['stats', '--no-stream', '--format', '{{.MemUsage}}', `bot-bottle-${identity}-bundle`], { encoding: 'utf8' }).trim();
}

interface Row {
  start: number[];
  exec: number[];
  stop: number[];
  loads: number[];
}

function measure(backend: 'docker' | 'microvm'): Row & { idle: string } {
  // Warm-up: builds images, the guest kernel and the root disk, probes the accelerator (not measured).
  const warm = (JSON.parse(timed(['start', 'bench', '--backend', backend, '--detach', '--json']).out) as { identity: string }).identity;
  timed(['exec', warm, '--', 'true']);
  // Idle: the guest (or container) settled with nothing running.
  spawnSync('sleep', ['20']);
  const idle = backend === 'microvm' ? `QEMU PSS ${pssMiB(qemuPid(warm)).toFixed(0)} MiB + bundle ${bundleMem(warm)}` : `agent ${execFileSync('docker', ['stats', '--no-stream', '--format', '{{.MemUsage}}', `bot-bottle-${warm}-agent`], { encoding: 'utf8' }).trim()} + bundle ${bundleMem(warm)}`;
  timed(['stop', warm]);
  const row: Row = { start: [], exec: [], stop: [], loads: [] };
  for (let i = 0; i < runs; i++) {
    row.loads.push(load());
    const s = timed(['start', 'bench', '--backend', backend, '--detach', '--json']);
    row.start.push(s.ms);
    const id = (JSON.parse(s.out) as { identity: string }).identity;
    row.exec.push(timed(['exec', id, '--', 'true']).ms);
    row.stop.push(timed(['stop', id]).ms);
  }
  return { ...row, idle };
}

try {
  const vm = measure('microvm');
  const docker = measure('docker');
  const accel = (JSON.parse(readFileSync(join(home, 'cache', 'microvm', 'accel.json'), 'utf8')) as { reason: string }).reason;
  console.log(`runs: ${runs} each (medians; all runs in brackets); 2 cores shared with other work`);
  console.log(`accelerator                      : ${accel}`);
  console.log(`microvm start --detach to ready  : ${fmt(median(vm.start))}   [${vm.start.map(fmt).join(', ')}]   load ${vm.loads.map((l) => l.toFixed(1)).join(', ')}`);
  console.log(`docker  start --detach (anchor)  : ${fmt(median(docker.start))}   [${docker.start.map(fmt).join(', ')}]   load ${docker.loads.map((l) => l.toFixed(1)).join(', ')}`);
  console.log(`microvm first exec (true)        : ${fmt(median(vm.exec))}   [${vm.exec.map(fmt).join(', ')}]`);
  console.log(`docker  first exec (anchor)      : ${fmt(median(docker.exec))}   [${docker.exec.map(fmt).join(', ')}]`);
  console.log(`microvm stop                     : ${fmt(median(vm.stop))}   [${vm.stop.map(fmt).join(', ')}]`);
  console.log(`docker  stop                     : ${fmt(median(docker.stop))}   [${docker.stop.map(fmt).join(', ')}]`);
  console.log(`idle microvm bottle (512 MiB limit): ${vm.idle}`);
  console.log(`idle docker bottle               : ${docker.idle}`);
} finally {
  spawnSync(process.execPath, [cli, 'cleanup', '--yes'], { env });
  rmSync(home, { recursive: true, force: true });
}
