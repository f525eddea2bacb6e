/**
 * What the dashboard's tests and benchmark share: the `dashboard` command as
 * a real CLI process, Debian's Chromium driven by playwright-core, and an
 * HTTPS upstream on the host that bottles reach through their egress proxy.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { hostAddresses } from '../src/demo/run.js';
import { createCa, LeafMinter } from '../src/sidecars/egress/certs.js';
import { CLI, type TestHome } from './helpers.js';

export interface RunningDashboard {
  readonly url: string;
  readonly port: number;
  readonly child: ChildProcessWithoutNullStreams;
  /** What it printed on stderr so far (its log of decisions and actions). */
  readonly stderr: () => string;
  stop(): Promise<void>;
}

/** `bot-bottle dashboard --json --no-open`, once it printed its URL. */
export async function startDashboard(h: TestHome, listen = '127.0.0.1:0'): Promise<RunningDashboard> {
  const child = spawn(process.execPath, [CLI, 'dashboard', '--listen', listen, '--no-open', '--json'], { env: h.env });
  child.stdin.end();
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve((JSON.parse(line) as { url: string }).url);
    });
    child.on('exit', (code) => reject(new Error(`dashboard exited (${code}) before printing its URL: ${err}`)));
  });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  return { url, port: Number(new URL(url).port), child, stderr: () => err, stop };
}

/** Debian's Chromium (the wrapper script's binary when present: it starts faster and says less). */
export function chromiumPath(): string {
  for (const p of ['/usr/lib/chromium/chromium', '/usr/bin/chromium', '/usr/bin/chromium-browser']) if (existsSync(p)) return p;
  throw new Error('chromium is not installed: run `bash scripts/setup.sh` (it installs Debian\'s chromium)');
}

export function launchBrowser(): Promise<Browser> {
  // --no-sandbox: the tests run as root, where Chromium's own sandbox cannot start.
  return chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox', '--disable-gpu'] });
}

export interface Upstream {
  readonly port: number;
  /** The host's address on the Docker bridge: where a bottle's proxy reaches it. */
  readonly address: string;
  readonly caFile: string;
  close(): void;
}

/** An HTTPS server for the given names, trusted through a CA file written into the home. */
export async function startUpstream(h: TestHome, names: readonly string[]): Promise<Upstream> {
  const ca = await createCa('dashboard-test-upstream');
  const minter = new LeafMinter(ca);
  const contexts = new Map(await Promise.all(names.map(async (n) => [n, await minter.contextFor(n)] as const)));
  const server: Server = createServer({ SNICallback: (n, cb) => cb(null, contexts.get(n)) }, (req, res) => res.end(`hello from ${req.headers.host ?? '?'}${req.url ?? ''}\n`));
  await new Promise<void>((r) => server.listen(0, '0.0.0.0', r));
  const caFile = join(h.home, 'upstream-ca.pem');
  writeFileSync(caFile, ca.certPem);
  const address = hostAddresses()[0];
  if (!address) throw new Error('no Docker bridge address on this host');
  return { port: (server.address() as { port: number }).port, address, caFile, close: () => server.close() };
}

/** A bottle with supervise, an allowed route to `allowed.test` and the upstream's names resolved to the host. */
export function superviseBottle(up: Upstream, names: readonly string[]): string {
  return `---
agent_provider: {template: shell}
supervise: true
egress:
  hosts: {${names.map((n) => `${n}: ${up.address}`).join(', ')}}
  ca_certs: [${up.caFile}]
  routes:
    - host: allowed.test:${up.port}
      dlp: {on_match: supervise}
---
A bottle for the dashboard's tests.
`;
}

export function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  return (async () => {
    for (;;) {
      const v = await check();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

/** One HTTP request to the dashboard with any headers (fetch will not send a foreign Host). */
export function rawRequest(port: number, path: string, headers: Record<string, string>, method = 'GET', body?: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
