import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { archiveState, pruneArchive, retireState } from '../bottle/archive.js';
import { readAudit } from '../bottle/audit.js';
import { BottleState } from '../bottle/state.js';
import { readSettings } from '../settings.js';
import { pickIdentity } from './identities.js';
import { auditWindow, listArchive, parseSince, readRecord } from './record.js';

const root = mkdtempSync(join(tmpdir(), 'bb-record-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A bottle's state as the sidecars leave it: metadata, audit logs, a decided proposal, and secrets-bearing configs. */
async function bottle(home: string, identity: string): Promise<BottleState> {
  const s = new BottleState(home, identity);
  await s.create(['agent', 'bundle', 'egress', 'git-gate', 'supervise']);
  await s.writeMetadata({ identity, agent: 'dev', bottles: ['dev'], backend: 'docker', cwd: undefined, label: undefined, color: undefined, started_at: '2026-12-01T10:00:00.000Z', owner_pid: undefined, detached: true });
  writeFileSync(s.auditLog('egress'), '{"time":"2026-12-01T10:00:01.000Z","verdict":"allow","host":"a.test"}\n{"time":"2026-12-01T10:00:03.000Z","verdict":"deny","host":"b.test"}\n');
  writeFileSync(s.auditLog('supervise'), '{"time":"2026-12-01T10:00:02.000Z","event":"decided","id":"egress-1"}\n');
  mkdirSync(s.proposalsDir, { recursive: true });
  writeFileSync(join(s.proposalsDir, 'egress-1.json'), JSON.stringify({ id: 'egress-1', kind: 'egress-route', bottle: identity, raised_by: 'agent', request: {}, summary: 'a.test', why: 'w', state: 'approved', created_at: '2026-12-01T10:00:02.000Z', needs_reason: false }));
  writeFileSync(s.file('egress', 'config'), '{"tokensFile":"/tmp/secrets/egress-tokens.json"}');
  return s;
}

void test('a retired bottle leaves its record (audit, proposals, metadata) and nothing else', async () => {
  const home = join(root, 'h1');
  const s = await bottle(home, 'dev-aaaaaa');
  await retireState(s, 'stop', 90);
  assert.equal(statSync(s.dir, { throwIfNoEntry: false }), undefined, 'state removed');
  const settings = readSettings({ BOT_BOTTLE_HOME: home }, root, false);
  const r = await readRecord(settings, 'dev-aaaaaa');
  assert.equal(r.origin, 'archive');
  assert.equal(r.metadata?.agent, 'dev');
  assert.deepEqual(r.audit.map((e) => `${e.source}:${e.time.slice(17, 19)}`), ['egress:01', 'supervise:02', 'egress:03']);
  assert.deepEqual(r.proposals.map((p) => `${p.id}:${p.state}`), ['egress-1:approved']);
  const kept = readdirSync(s.archiveDir, { recursive: true }).map(String).sort();
  assert.deepEqual(kept, ['archived.json', 'egress', 'egress/audit.jsonl', 'metadata.json', 'supervise', 'supervise/audit.jsonl', 'supervise/queue', 'supervise/queue/egress-1.json']);
  assert.equal(statSync(s.archiveDir).mode & 0o777, 0o700);
  assert.deepEqual((await listArchive(settings)).map((a) => [a.identity, a.reason]), [['dev-aaaaaa', 'stop']]);
});

void test('retention: old archives are pruned on the next retirement; 0 keeps none; an undated one is kept', async () => {
  const home = join(root, 'h2');
  await archiveState(await bottle(home, 'old-aaaaaa'), 'stop', new Date(Date.now() - 40 * 86_400_000));
  await archiveState(await bottle(home, 'new-aaaaaa'), 'stop', new Date(Date.now() - 1 * 86_400_000));
  mkdirSync(join(home, 'archive', 'undated-aaaaaa'), { recursive: true });
  assert.deepEqual(await pruneArchive(home, 30), ['old-aaaaaa']);
  await retireState(await bottle(home, 'zero-aaaaaa'), 'stop', 0);
  assert.deepEqual(readdirSync(join(home, 'archive')).sort(), ['undated-aaaaaa']);
});

void test('a live bottle is read from its state, with the same shape', async () => {
  const home = join(root, 'h3');
  await bottle(home, 'live-aaaaaa');
  const r = await readRecord(readSettings({ BOT_BOTTLE_HOME: home }, root, false), 'live-aaaaaa');
  assert.equal(r.origin, 'state');
  assert.equal(r.proposals.length, 1);
  assert.equal((await readAudit(home, 'live-aaaaaa')).length, 3);
});

void test('--tail and --since', () => {
  const entries = ['01', '02', '03', '04'].map((s) => ({ source: 'egress' as const, time: `2026-12-01T10:00:${s}.000Z` }));
  assert.deepEqual(auditWindow(entries, { tail: 2 }).map((e) => e.time.slice(17, 19)), ['03', '04']);
  assert.deepEqual(auditWindow(entries, { tail: 0 }), []);
  assert.deepEqual(auditWindow(entries, { since: new Date('2026-12-01T10:00:02Z'), tail: 5 }).map((e) => e.time.slice(17, 19)), ['02', '03', '04']);
  const now = Date.parse('2026-12-02T12:00:00Z');
  assert.equal(parseSince('10m', now).toISOString(), '2026-12-02T11:50:00.000Z');
  assert.equal(parseSince('1h30m', now).toISOString(), '2026-12-02T10:30:00.000Z');
  assert.equal(parseSince('2d', now).toISOString(), '2026-11-30T12:00:00.000Z');
  assert.equal(parseSince('2026-12-01T08:00:00Z', now).toISOString(), '2026-12-01T08:00:00.000Z');
  for (const bad of ['', 'yesterday', '10', '5 m', '2026-13-45']) assert.throws(() => parseSince(bad, now), /--since/, bad);
});

void test('identities by unique prefix, as docker ids', () => {
  const known = ['dev-k3x9q2', 'dev-k3zz11', 'web-aaaaaa', 'web'];
  assert.equal(pickIdentity('dev-k3x', known), 'dev-k3x9q2');
  assert.equal(pickIdentity('web', known), 'web', 'an exact identity wins over being a prefix');
  assert.throws(() => pickIdentity('dev-k3', known), (e: unknown) => e instanceof Error && /matches several bottles: dev-k3x9q2, dev-k3zz11/.test(e.message) && (e as { exitCode?: number }).exitCode === 2);
  assert.throws(() => pickIdentity('nope', known), (e: unknown) => (e as { exitCode?: number }).exitCode === 4);
  assert.throws(() => pickIdentity('', known), (e: unknown) => (e as { exitCode?: number }).exitCode === 4);
});
