/**
 * Bottle start/stop figures, side by side with the anchor (a bare
 * `docker run --rm` of the same agent image). Prints numbers; asserts nothing.
 *
 *   node --import tsx bench/start.ts [runs=5]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';

const runs = Number(process.argv[2] ?? 5);
const cli = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
const home = mkdtempSync(join(tmpdir(), 'bb-bench-'));
mkdirSync(join(home, 'agents'), { recursive: true });
mkdirSync(join(home, 'bottles'), { recursive: true });
writeFileSync(join(home, 'bottles', 'bench.md'), '---\nagent_provider:\n  template: shell\n---\n');
writeFileSync(join(home, 'agents', 'bench.md'), '---\nbottle: bench\n---\n');
const env = { ...process.env, BOT_BOTTLE_HOME: home, NO_COLOR: '1' };

function timed(cmd: string, args: string[]): { ms: number; out: string } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return { ms, out: r.stdout };
}

const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const loadAtStart = load();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

// Warm-up: builds images if needed (not measured).
const warm = JSON.parse(timed(process.execPath, [cli, 'start', 'bench', '--detach', '--json']).out) as { identity: string };
const agentImage = execFileSync('docker', ['inspect', '-f', '{{.Config.Image}}', `bot-bottle-${warm.identity}-agent`], { encoding: 'utf8' }).trim();
// Read twice: 3 s after ready start-up garbage still adds a few MiB; "idle" is the settled figure.
const bundleMem = () => execFileSync('docker', ['stats', '--no-stream', '--format', '{{.MemUsage}}', `bot-bottle-${warm.identity}-bundle`], { encoding: 'utf8' }).trim();
await new Promise((r) => setTimeout(r, 3000));
const memEarly = bundleMem();
await new Promise((r) => setTimeout(r, 17_000));
const mem = bundleMem();
timed(process.execPath, [cli, 'stop', warm.identity]);

/**
 * The engine's own work for a bottle's layout, with nothing of ours running:
 * an internal and an egress network created together, two containers of the
 * agent image (one on both networks, as the bundle is, one on the internal
 * network, as the agent is) created and started together, through the same
 * Engine API client the CLI uses. start minus this is what bot-bottle adds.
 */
const engine = new Docker();
async function engineFloor(i: number): Promise<number> {
  const tag = `bb-bench-floor-${process.pid}-${i}`;
  const t0 = process.hrtime.bigint();
  await Promise.all([
    engine.createNetwork({ Name: `${tag}-int`, Driver: 'bridge', Internal: true, Options: { 'com.docker.network.bridge.inhibit_ipv4': 'true' } }),
    engine.createNetwork({ Name: `${tag}-egr`, Driver: 'bridge' }),
  ]);
  const make = (name: string) =>
    engine.createContainer({ name: `${tag}-${name}`, Image: agentImage, Entrypoint: ['sleep'], Cmd: ['infinity'], HostConfig: { NetworkMode: `${tag}-int`, Init: true } });
  const [bundle, agent] = await Promise.all([make('bundle'), make('agent')]);
  await engine.getNetwork(`${tag}-egr`).connect({ Container: bundle.id });
  await Promise.all([bundle.start(), agent.start()]);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  await Promise.all([bundle.remove({ force: true }), agent.remove({ force: true })]);
  await Promise.all([engine.getNetwork(`${tag}-int`).remove(), engine.getNetwork(`${tag}-egr`).remove()]);
  return ms;
}

const starts: number[] = [];
const stops: number[] = [];
const bare: number[] = [];
const floors: number[] = [];
for (let i = 0; i < runs; i++) {
  const s = timed(process.execPath, [cli, 'start', 'bench', '--detach', '--json']);
  starts.push(s.ms);
  const id = (JSON.parse(s.out) as { identity: string }).identity;
  stops.push(timed(process.execPath, [cli, 'stop', id]).ms);
  bare.push(timed('docker', ['run', '--rm', '--network', 'none', agentImage, 'true']).ms);
  floors.push(await engineFloor(i));
}
rmSync(home, { recursive: true, force: true });

const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
console.log(`runs: ${runs} (medians)   load average at start: ${loadAtStart}, at end: ${load()}`);
console.log(`warm start --detach to ready : ${fmt(median(starts))}   [${starts.map(fmt).join(', ')}]`);
console.log(`bare docker run --rm (anchor): ${fmt(median(bare))}   [${bare.map(fmt).join(', ')}]`);
console.log(`ratio start / docker run     : ${(median(starts) / median(bare)).toFixed(2)}x`);
console.log(`engine floor of the layout   : ${fmt(median(floors))}   [${floors.map(fmt).join(', ')}]  (2 networks + 2 containers started together, nothing inside)`);
console.log(`start minus that floor       : ${fmt(median(starts) - median(floors))}   (the CLI, the sidecars' boot, secrets, trust)`);
console.log(`stop                         : ${fmt(median(stops))}   [${stops.map(fmt).join(', ')}]`);
console.log(`sidecar bundle idle memory   : ${mem} (20 s after ready; ${memEarly.split(' ')[0]} at 3 s)`);
