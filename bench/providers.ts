/**
 * Provider figures. Prints numbers; asserts nothing.
 *
 *   node --import tsx bench/providers.ts [builds|first-request|all] [runs=3]
 *
 * builds: each template image built cold (no layer cache, every base image of
 *   its chain too, under bench-only tags that are removed afterwards) and warm
 *   (everything present: the content-hash lookup only); image sizes.
 *   `debian:bookworm-slim` is taken as present (see `doctor`).
 * first-request: time from `bot-bottle start --headless` (warm images) to the
 *   first request reaching an HTTPS stand-in of the provider's API, against
 *   the same client run directly on this host (installed from npm into a
 *   scratch prefix) reaching the same stand-in through a bare CONNECT relay.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectEngine } from '../src/backends/docker/engine.js';
import { ensureImageSpec } from '../src/backends/docker/image-spec.js';
import { silentProgress } from '../src/progress.js';
import { claudeProvider } from '../src/providers/claude.js';
import { codexProvider } from '../src/providers/codex.js';
import type { ImageSpec } from '../src/providers/index.js';
import { shellProvider } from '../src/providers/shell.js';
import { VERSIONS } from '../src/providers/versions.js';
import { CLI } from '../test/helpers.js';
import { providerBed } from '../test/provider-kit.js';

const what = process.argv[2] ?? 'all';
const runs = Number(process.argv[3] ?? 3);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

function rename(spec: ImageSpec, prefix: string): ImageSpec {
  return { ...spec, repository: spec.repository.replace(/^bot-bottle\//, prefix), bases: Object.fromEntries(Object.entries(spec.bases).map(([k, v]) => [k, rename(v, prefix)])) };
}

async function builds(): Promise<void> {
  const engine = await connectEngine();
  console.log('image builds (cold = no layer cache for the whole chain; warm = all present)');
  for (const provider of [shellProvider(), claudeProvider(), codexProvider()]) {
    const prefix = `bot-bottle-bench-${process.pid}/`;
    const spec = rename(provider.image, prefix);
    const t0 = Date.now();
    const tag = await ensureImageSpec(engine, spec, silentProgress, { noCache: true });
    const cold = Date.now() - t0;
    const t1 = Date.now();
    await ensureImageSpec(engine, spec, silentProgress);
    const warm = Date.now() - t1;
    const size = (await engine.getImage(tag).inspect()).Size;
    console.log(`  ${provider.name.padEnd(6)} cold ${s(cold).padStart(8)}   warm ${String(warm).padStart(5)} ms   size ${(size / 1e6).toFixed(0)} MB`);
    const mine = execFileSync('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}'], { encoding: 'utf8' }).split('\n').filter((r) => r.startsWith(prefix));
    if (mine.length > 0) execFileSync('docker', ['rmi', ...mine], { stdio: 'ignore' });
  }
}

/** A bare CONNECT relay: maps the provider host to the stand-in, no TLS interception (the host run's stand-in for DNS). */
function relay(host: string, address: string): Promise<{ port: number; server: Server }> {
  const server = createServer();
  server.on('connect', (req, sock, head) => {
    const [h, p] = (req.url ?? '').split(':');
    const up = connect(Number(p ?? 443), h === host ? address : (h ?? ''), () => {
      sock.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      up.write(head);
      up.pipe(sock).pipe(up);
    });
    up.on('error', () => sock.destroy());
    sock.on('error', () => up.destroy());
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r({ port: (server.address() as { port: number }).port, server })));
}

function npmInstall(pkg: string): string {
  const prefix = mkdtempSync(join(tmpdir(), 'bb-bench-client-'));
  execFileSync('npm', ['install', '--global', '--prefix', prefix, '--no-audit', '--no-fund', pkg], { stdio: 'ignore' });
  return prefix;
}

async function firstRequest(): Promise<void> {
  console.log(`time to the first request at the provider stand-in (median of ${runs})`);
  const cases = [
    { kind: 'anthropic' as const, template: 'claude', host: 'api.anthropic.com', pkg: `@anthropic-ai/claude-code@${VERSIONS.claude}`, bin: 'claude', hostArgs: ['-p', 'hi'], env: (ca: string) => ({ NODE_EXTRA_CA_CERTS: ca, ANTHROPIC_API_KEY: 'sk-bench', DISABLE_AUTOUPDATER: '1', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' }) },
    { kind: 'openai' as const, template: 'codex', host: 'api.openai.com', pkg: `@openai/codex@${VERSIONS.codex}`, bin: 'codex', hostArgs: ['exec', '--skip-git-repo-check', '-c', 'check_for_update_on_startup=false', '-c', 'analytics.enabled=false', '--disable', 'api_key_model_discovery', '--disable', 'plugins', 'hi'], env: (ca: string) => ({ CODEX_CA_CERTIFICATE: ca, CODEX_API_KEY: 'sk-bench' }) },
  ];
  for (const c of cases) {
    const bed = await providerBed(c.kind, c.template, 'bench-token-0123456789');
    const prefix = npmInstall(c.pkg);
    const { port, server } = await relay(c.host, bed.standIn.address);
    try {
      const firstAfter = async (start: () => { kill(): void; done: Promise<void> }): Promise<number> => {
        const n = bed.standIn.requests.length;
        const t0 = Date.now();
        const p = start();
        for (let i = 0; i < 1200 && bed.standIn.requests.length === n; i++) await new Promise((r) => setTimeout(r, 25));
        const at = bed.standIn.requests[n]?.at;
        await p.done;
        if (at === undefined) throw new Error(`${c.template}: no request reached the stand-in`);
        return at - t0;
      };
      const run = (cmd: string, args: string[], env: NodeJS.ProcessEnv) => () => {
        const child = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'ignore'] });
        return { kill: () => child.kill('SIGKILL'), done: new Promise<void>((r) => child.on('close', () => r())) };
      };
      const bottle: number[] = [];
      const host: number[] = [];
      await firstAfter(run(process.execPath, [CLI, 'start', 'coder', '--headless', '--prompt', 'hi'], bed.h.env)); // warm-up: builds if needed
      for (let i = 0; i < runs; i++) {
        bottle.push(await firstAfter(run(process.execPath, [CLI, 'start', 'coder', '--headless', '--prompt', 'hi'], bed.h.env)));
        const home = mkdtempSync(join(tmpdir(), 'bb-bench-home-'));
        host.push(await firstAfter(run(join(prefix, 'bin', c.bin), c.hostArgs, { PATH: process.env.PATH, HOME: home, HTTPS_PROXY: `http://127.0.0.1:${port}`, ...c.env(bed.standIn.caFile) })));
        rmSync(home, { recursive: true, force: true });
      }
      console.log(`  ${c.template.padEnd(6)} bot-bottle start --headless ${s(median(bottle)).padStart(7)}   same client on the host ${s(median(host)).padStart(7)}   (runs: ${bottle.map(s).join(', ')} | ${host.map(s).join(', ')})`);
    } finally {
      server.close();
      rmSync(prefix, { recursive: true, force: true });
      await bed.close();
    }
  }
}

if (what === 'builds' || what === 'all') await builds();
if (what === 'first-request' || what === 'all') await firstRequest();
process.exit(0);
