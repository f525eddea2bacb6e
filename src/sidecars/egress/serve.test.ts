// The bundle entry as a process: one-line failure on a bad config, and a
// running primary with a worker that both serve, with the CA written where
// the host reads it (certificate only) and kept across restarts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request, startUpstream, tempDir } from './testkit.test.js';

const SERVE = join(dirname(fileURLToPath(import.meta.url)), 'serve.ts');

function start(configPath: string): { child: ChildProcess; out: Promise<string>; exit: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVE], { env: { ...process.env, BOT_BOTTLE_EGRESS_CONFIG: configPath }, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const out = new Promise<string>((resolve) => {
    const on = (c: Buffer): void => {
      text += c.toString();
      if (text.includes('\n')) resolve(text);
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out, exit };
}

void test('a bad config is one line on stderr and exit code 2', async () => {
  const dir = tempDir();
  const cfg = join(dir, 'c.json');
  writeFileSync(cfg, JSON.stringify({ identity: 'x', listen: { host: '127.0.0.1', port: 0 }, caDir: join(dir, 'ca'), routes: [{ host: '1.2.3.4' }] }));
  const s = start(cfg);
  assert.equal(await s.exit, 2);
  const line = await s.out;
  assert.match(line, /^bot-bottle egress: bad config: routes\[0\]\.host: .*\n$/);
});

void test('serves from the primary and a worker; CA certificate out, key only in caDir, kept on restart', async () => {
  const dir = tempDir();
  const up = await startUpstream(dir);
  const cfg = join(dir, 'c.json');
  const caCertOut = join(dir, 'out', 'egress-ca.pem');
  const port = 20000 + Math.floor(Math.random() * 20000);
  writeFileSync(
    cfg,
    JSON.stringify({
      identity: 'serve-test',
      listen: { host: '127.0.0.1', port },
      routes: [{ host: 'up.test', port: up.port }],
      hosts: { 'up.test': '127.0.0.1' },
      caCerts: [up.caFile],
      caDir: join(dir, 'ca'),
      caCertOut,
      auditLog: join(dir, 'audit.jsonl'),
      workers: 2,
    }),
  );
  const s = start(cfg);
  try {
    assert.match(await s.out, /listening on 127\.0\.0\.1:\d+ \(2 process\(es\), 1 route\(s\), CA certificate in /);
    const ca = readFileSync(caCertOut, 'utf8');
    assert.match(ca, /^-----BEGIN CERTIFICATE-----/);
    assert.ok(!ca.includes('PRIVATE KEY'));
    assert.deepEqual(readdirSync(join(dir, 'out')), ['egress-ca.pem']);
    assert.equal(statSync(join(dir, 'ca', 'ca-key.pem')).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'ca')).mode & 0o777, 0o700);
    // Enough new connections to reach both processes (round-robin).
    for (let i = 0; i < 6; i++) {
      const r = await request({ proxyPort: port, proxyCa: ca, authority: `up.test:${up.port}`, path: `/n${i}` });
      assert.equal(r.status, 200);
    }
    assert.equal(up.seen.length, 6);
  } finally {
    s.child.kill('SIGTERM');
    assert.equal(await s.exit, 0);
  }
  const before = readFileSync(caCertOut, 'utf8');
  const again = start(cfg);
  try {
    await again.out;
    assert.equal(readFileSync(caCertOut, 'utf8'), before);
  } finally {
    again.child.kill('SIGTERM');
    await again.exit;
    await up.close();
  }
});
