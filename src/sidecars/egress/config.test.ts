import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { effectiveRoutes, EgressConfigError, loadEgressConfig, parseEgressConfig, readStringMap } from './config.js';
import { tempDir } from './testkit.test.js';

const base = { identity: 'b-1', listen: { host: '127.0.0.1', port: 3128 }, caDir: '/run/ca' };

void test('a minimal config gets its defaults; routes get DLP on', () => {
  const c = parseEgressConfig({ ...base, routes: [{ host: 'API.example.com' }, { host: 'x.test:8443', auth: { token_ref: 'T' } }] });
  assert.equal(c.routes[0]?.host, 'api.example.com');
  assert.equal(c.routes[0]?.port, 443);
  assert.deepEqual(c.routes[0]?.dlp, { outbound: true, inbound: false, inbound_on_match: 'warn', on_match: 'block', entropy: false, entropy_action: 'warn', rules: ['credentials'] });
  assert.equal(c.routes[1]?.port, 8443);
  assert.deepEqual(c.routes[1]?.auth, { scheme: 'Bearer', token_ref: 'T', header: 'Authorization' });
  assert.equal(c.holdTimeoutMs, 600_000);
  assert.equal(c.bodyCap, 8 * 1024 * 1024);
});

void test('bad configs fail with one line naming the key', () => {
  const bad: [unknown, RegExp][] = [
    [{ ...base, lisen: 1 }, /^config: unknown key "lisen"$/],
    [{ ...base, routes: [{ host: '10.0.0.1' }] }, /^routes\[0\]\.host: .*must be a host name/],
    [{ ...base, routes: [{ host: 'a.test', matches: [{ paths: [{ type: 'regex', value: '(' }] }] }] }, /^routes\[0\]\.matches\[0\]\.paths\[0\]\.value: regex does not compile/],
    [{ ...base, routes: [{ host: 'a.test', dlp: { on_match: 'blok' } }] }, /on_match: must be block, redact or supervise/],
    [{ ...base, routes: [{ host: 'a.test', dlp: { inbound: true, inbound_on_match: 'hold' } }] }, /^routes\[0\]\.dlp\.inbound_on_match: must be warn, block or supervise$/],
    [{ ...base, hosts: { 'a.test': 'not-an-ip' } }, /^hosts\.a\.test: must be an IP address$/],
    [{ ...base, listen: { host: '127.0.0.1', port: 70000 } }, /^listen\.port: must be an integer/],
  ];
  for (const [raw, re] of bad) {
    assert.throws(() => parseEgressConfig(raw), (e: Error) => e instanceof EgressConfigError && re.test(e.message) && !e.message.includes('\n'));
  }
});

void test('the policy file adds routes after the config\'s (same host:port: beside it, never with a token); a missing one adds nothing', () => {
  const dir = tempDir();
  const cfg = join(dir, 'c.json');
  const pol = join(dir, 'p.json');
  writeFileSync(cfg, JSON.stringify({ ...base, routes: [{ host: 'a.test' }, { host: 'b.test' }] }));
  assert.deepEqual(effectiveRoutes(cfg, pol).map((r) => r.host), ['a.test', 'b.test']);
  writeFileSync(cfg, JSON.stringify({ ...base, routes: [{ host: 'a.test' }, { host: 'b.test', matches: [{ paths: [{ value: '/api/' }] }], auth: { token_ref: 'B' } }] }));
  writeFileSync(pol, JSON.stringify({ routes: [{ host: 'b.test', matches: [{ methods: ['GET'] }], auth: { token_ref: 'B' } }, { host: 'c.test' }] }));
  const r = effectiveRoutes(cfg, pol);
  assert.deepEqual(r.map((x) => x.host), ['a.test', 'b.test', 'b.test', 'c.test']);
  assert.equal(r[1]?.auth?.token_ref, 'B', 'the config route keeps its token');
  assert.deepEqual(r[2]?.matches[0]?.methods, ['GET']);
  assert.equal(r[2]?.auth, undefined, 'an approved route never carries one');
  writeFileSync(pol, '{bad');
  assert.throws(() => effectiveRoutes(cfg, pol), EgressConfigError);
  assert.throws(() => loadEgressConfig(join(dir, 'none.json')), /cannot read .*ENOENT/);
});

void test('a broken tokens file never echoes its content in the error', () => {
  const dir = tempDir();
  const p = join(dir, 't.json');
  writeFileSync(p, '{"T": "ghp_supersecretvalue"');
  assert.throws(() => readStringMap(p), (e: Error) => !e.message.includes('supersecret'));
  assert.equal(readStringMap(join(dir, 'none.json')).size, 0);
});
