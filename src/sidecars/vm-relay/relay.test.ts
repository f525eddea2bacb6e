import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parsePorts, relaySocket, startRelays } from './relay.js';

void test('a relay socket carries a connection both ways to the loopback port, half-close included', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bb-relay-'));
  // An upstream that answers only once the client has finished sending (needs half-close).
  const upstream = createServer({ allowHalfOpen: true }, (s) => {
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString()));
    s.on('end', () => s.end(`upstream got ${got.length} bytes: ${got.slice(0, 5)}`));
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const port = (upstream.address() as AddressInfo).port;
  const relays = await startRelays(dir, [port]);
  t.after(() => {
    for (const s of relays) s.close();
    upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });
  assert.equal(statSync(relaySocket(dir, port)).mode & 0o777, 0o600, 'only the bundle user (and root) may connect');
  const reply = await new Promise<string>((resolve, reject) => {
    const c = connect(relaySocket(dir, port));
    let out = '';
    c.on('data', (d: Buffer) => (out += d.toString()));
    c.on('end', () => resolve(out));
    c.on('error', reject);
    c.end('hello relay');
  });
  assert.equal(reply, 'upstream got 11 bytes: hello');
});

void test('relay ports are validated', () => {
  assert.deepEqual(parsePorts('3128,9420'), [3128, 9420]);
  assert.throws(() => parsePorts(''), /must list ports/);
  assert.throws(() => parsePorts('3128,x'), /must list ports/);
});
