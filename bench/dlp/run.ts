/**
 * Egress DLP benchmark: every request of bench/dlp/cases.ts sent through a
 * real `bot-bottle egress serve` (TLS bump, routes, DLP) to a local HTTPS
 * upstream, with every host routed, so only the DLP can stop a request. A
 * request is stopped when the upstream never saw it; a benign one passes
 * when the upstream answered it. Prints numbers per class; asserts nothing.
 *
 *   npm run build && node --import tsx bench/dlp/run.ts [--cli PATH/dist/cli/main.js] [--config default|strict|both] [--set cases|fresh|both] [--verbose]
 *
 * Configs: `default` is a route as a user writes it (`dlp` left out: outbound,
 * block); `strict` adds `rules: [credentials, pii, financial]` and
 * `entropy: enforce`. `--cli` runs another checkout's CLI (a baseline).
 * Sets: `cases` (cases.ts, the first set) and `fresh` (fresh.ts, written
 * later against disguises the first set lacks), reported apart.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttps } from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requests, type BenchRequest } from './cases.js';
import { requests as freshRequests } from './fresh.js';

const root = join(import.meta.dirname, '..', '..');
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const cli = arg('--cli') ?? join(root, 'dist', 'cli', 'main.js');
const which = arg('--config') ?? 'both';
const whichSet = arg('--set') ?? 'both';
const verbose = process.argv.includes('--verbose');
const KNOWN = 'Bottle-Known-Secret-' + 'q7Zt4mX2';
const HOSTS = ['api.github.com', 'registry.npmjs.org', 'api.example.test', 'hooks.example.test'];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

function makeCerts(dir: string): { ca: string; key: string; cert: string } {
  const o = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  o(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=dlp bench CA']);
  o(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'up.key', '-out', 'up.csr', '-subj', '/CN=upstream']);
  writeFileSync(join(dir, 'san.ext'), `subjectAltName=${HOSTS.map((h) => `DNS:${h}`).join(',')}\n`);
  o(['x509', '-req', '-in', 'up.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'up.pem', '-days', '2', '-extfile', 'san.ext']);
  return { ca: join(dir, 'ca.pem'), key: join(dir, 'up.key'), cert: join(dir, 'up.pem') };
}

interface Outcome {
  req: BenchRequest;
  status: number;
  seen: boolean;
  reason: string;
}

async function runConfig(name: string, dlp: string, reqs: readonly BenchRequest[], work: string, certs: { ca: string; key: string; cert: string }, upPort: number, seen: Set<string>): Promise<Outcome[]> {
  const home = join(work, `home-${name}`);
  mkdirSync(join(home, 'bottles'), { recursive: true });
  const routes = HOSTS.map((h) => `    - host: ${h}:${upPort}\n${dlp ? `      dlp: ${dlp}\n` : ''}`).join('');
  writeFileSync(
    join(home, 'bottles', 'dlpbench.md'),
    `---\nenv:\n  BENCH_TOKEN: "\${BENCH_KNOWN_SECRET}"\negress:\n  routes:\n${routes}  hosts:\n${HOSTS.map((h) => `    ${h}: 127.0.0.1\n`).join('')}  ca_certs:\n    - ${certs.ca}\n---\nThe DLP benchmark's bottle (${name}).\n`,
  );
  const port = await freePort();
  if (verbose) process.stderr.write(`config ${name}: proxy on ${port}\n`);
  const caOut = join(work, `proxy-ca-${name}.pem`);
  const proc: ChildProcess = spawn(process.execPath, [cli, 'egress', 'serve', '--bottle', 'dlpbench', '--listen', `127.0.0.1:${port}`, '--ca-out', caOut], {
    env: { ...process.env, BOT_BOTTLE_HOME: home, BENCH_KNOWN_SECRET: KNOWN },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr?.on('data', (b: Buffer) => (err += b.toString()));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`egress serve did not start: ${err}`)), 30_000);
    proc.stdout?.on('data', (b: Buffer) => {
      if (/listening/.test(b.toString())) {
        clearTimeout(t);
        resolve();
      }
    });
    proc.once('exit', (c) => reject(new Error(`egress serve exited ${c}: ${err}`)));
  });
  const out: Outcome[] = [];
  try {
    for (const req of reqs) {
      const bodyFile = join(work, 'body');
      const args = ['-sS', '-o', '/dev/null', '-D', '-', '-w', '%{http_code}', '--proxy', `http://127.0.0.1:${port}`, '--cacert', caOut, '--path-as-is', '--max-time', '20', '-X', req.method, '-H', `X-Bench-Case: ${req.id}`];
      for (const [k, v] of req.headers) args.push('-H', `${k}: ${v}`);
      if (req.body) {
        writeFileSync(bodyFile, req.body);
        args.push('--data-binary', `@${bodyFile}`);
      }
      args.push(`https://${req.host}:${upPort}${req.path}`);
      // Asynchronous: the upstream answers from this same process.
      const r = await promisify(execFile)('curl', args, { encoding: 'utf8' }).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? '' }));
      const status = Number(/(\d{3})$/.exec(r.stdout.trim())?.[1] ?? 0);
      const reason = /^x-bot-bottle-(?:reason|rule): *(.*)$/im.exec(r.stdout)?.[1]?.trim() ?? '';
      out.push({ req, status, seen: seen.has(`${name}:${req.id}`), reason });
    }
  } finally {
    proc.kill('SIGTERM');
  }
  return out;
}

function report(name: string, outcomes: readonly Outcome[]): void {
  const attacks = outcomes.filter((o) => o.req.kind === 'attack');
  const benign = outcomes.filter((o) => o.req.kind === 'benign');
  const stopped = attacks.filter((o) => !o.seen);
  const blocked = benign.filter((o) => !o.seen || o.status !== 200);
  process.stdout.write(`\n== config ${name}: ${outcomes.length} requests (${attacks.length} attacks, ${benign.length} benign)\n`);
  const classes = [...new Set(outcomes.map((o) => `${o.req.kind}:${o.req.cls}`))];
  process.stdout.write(`${'class'.padEnd(28)}${'n'.padStart(4)}${'stopped'.padStart(9)}${'passed'.padStart(8)}\n`);
  for (const c of classes) {
    const xs = outcomes.filter((o) => `${o.req.kind}:${o.req.cls}` === c);
    const s = xs.filter((o) => !o.seen).length;
    process.stdout.write(`${c.padEnd(28)}${String(xs.length).padStart(4)}${String(s).padStart(9)}${String(xs.length - s).padStart(8)}\n`);
  }
  process.stdout.write(`attacks stopped: ${stopped.length}/${attacks.length} (${((100 * stopped.length) / attacks.length).toFixed(1)}%); benign blocked: ${blocked.length}/${benign.length}\n`);
  if (verbose) {
    for (const o of stopped) process.stdout.write(`  stopped ${o.req.id} ${o.req.cls.padEnd(16)} ${o.status} ${o.reason.slice(0, 100)}\n`);
    for (const o of attacks.filter((x) => x.seen)) process.stdout.write(`  MISSED ${o.req.id} ${o.req.cls} ${o.req.method} ${o.req.path.slice(0, 80)}\n`);
    for (const o of blocked) process.stdout.write(`  BLOCKED ${o.req.id} ${o.req.cls} ${o.status} ${o.reason} ${o.req.path.slice(0, 80)}\n`);
  }
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'bb-dlp-bench-'));
  try {
    const certs = makeCerts(work);
    const seen = new Set<string>();
    let current = '';
    const up = createHttps({ key: readFileSync(certs.key), cert: readFileSync(certs.cert) }, (req, res) => {
      const id = req.headers['x-bench-case'];
      if (typeof id === 'string') seen.add(`${current}:${id}`);
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"ok":true}');
      });
    });
    await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
    const upPort = (up.address() as AddressInfo).port;
    process.stdout.write(`egress DLP bench: ${cli} egress serve, every host routed, upstream 127.0.0.1:${upPort}\n`);
    const configs: [string, string][] = [
      ['default', ''],
      ['strict', '{rules: [credentials, pii, financial], entropy: enforce}'],
    ];
    const sets: [string, BenchRequest[]][] = [
      ['cases', requests(KNOWN)],
      ['fresh', freshRequests(KNOWN)],
    ];
    for (const [setName, reqs] of sets) {
      if (whichSet !== 'both' && whichSet !== setName) continue;
      for (const [name, dlp] of configs) {
        if (which !== 'both' && which !== name) continue;
        current = `${setName}-${name}`;
        report(current, await runConfig(current, dlp, reqs, work, certs, upPort, seen));
      }
    }
    up.close();
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
