import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BottleError } from '../errors.js';
import { readSettings } from '../settings.js';
import {
  applyCapability,
  approvedEgressRoutes,
  capabilityDiff,
  decideProposal,
  editableText,
  findProposal,
  listProposals,
  parseEditedText,
} from './proposals.js';
import { BottleState } from '../bottle/state.js';
import { ProposalQueue, type Proposal } from '../sidecars/supervise/queue.js';

const queueDir = (home: string, identity: string): string => new BottleState(home, identity).proposalsDir;

const root = mkdtempSync(join(tmpdir(), 'bb-host-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

function home() {
  const h = join(root, `home${++n}`);
  mkdirSync(join(h, 'state'), { recursive: true });
  return { home: h, settings: readSettings({ BOT_BOTTLE_HOME: h, HOME: root, USER: 'tester' }, root, false) };
}

const egress = (bottle: string): Omit<Proposal, 'id' | 'state' | 'created_at'> => ({
  kind: 'egress-route',
  bottle,
  raised_by: 'agent',
  request: { host: 'api.example.com', port: 443, paths: [], methods: [] },
  summary: 'egress to api.example.com',
  why: 'w',
  needs_reason: false,
});

function dlpHold(h: string, identity: string, id = 'dlp-20250101120000-0a1b2c3d'): string {
  const dir = queueDir(h, identity);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, `${id}.json`),
    JSON.stringify({ id, kind: 'dlp-hold', bottle: identity, raised_by: 'egress', request: { method: 'POST', host: 'h', path: '/', rule: 'aws', where: 'body' }, summary: 'POST carries aws', state: 'pending', created_at: new Date().toISOString() }),
  );
  return id;
}

function code(e: unknown): number | undefined {
  return e instanceof BottleError ? e.exitCode : undefined;
}

describe('supervise on the host', () => {
  it('lists pending proposals of every bottle of the home, oldest first; --all adds decided ones', async () => {
    const { home: h } = home();
    const a = await new ProposalQueue(queueDir(h, 'dev-aaaaaa')).raise(egress('dev-aaaaaa'));
    const b = await new ProposalQueue(queueDir(h, 'ops-bbbbbb')).raise(egress('ops-bbbbbb'));
    await new Promise((r) => setTimeout(r, 5)); // distinct created_at
    const held = dlpHold(h, 'ops-bbbbbb');
    mkdirSync(join(h, 'state', 'no-queue-here'), { recursive: true });
    await new ProposalQueue(queueDir(h, 'dev-aaaaaa')).decide(a.id, { state: 'approved', by: 'h' });
    const pending = await listProposals(h);
    assert.deepEqual(pending.map((x) => [x.identity, x.proposal.id]), [
      ['ops-bbbbbb', b.id],
      ['ops-bbbbbb', held],
    ]);
    assert.equal(pending[1]?.proposal.needs_reason, true, 'sidecar-raised: approving needs a reason');
    assert.equal(pending[1]?.proposal.why, '');
    assert.equal((await listProposals(h, { all: true })).length, 3);
    assert.equal((await findProposal(h, b.id)).identity, 'ops-bbbbbb');
  });

  it('an unknown or malformed id is not-found (exit 4)', async () => {
    const { home: h } = home();
    await assert.rejects(findProposal(h, 'egress-00000000'), (e) => code(e) === 4);
    await assert.rejects(findProposal(h, '../x'), (e) => code(e) === 4);
  });

  it('approves and rejects, audits who decided, refuses deciding twice and rejecting without a reason', async () => {
    const { home: h, settings } = home();
    const q = new ProposalQueue(queueDir(h, 'dev-aaaaaa'));
    const p = await q.raise(egress('dev-aaaaaa'));
    await assert.rejects(decideProposal(settings, p.id, { approve: false }), (e) => code(e) === 2);
    const r = await decideProposal(settings, p.id, { approve: true, note: 'fine' });
    assert.equal(r.proposal.state, 'approved');
    assert.equal(r.proposal.decided_by, 'human:tester');
    await assert.rejects(decideProposal(settings, p.id, { approve: false, note: 'no' }), (e) => code(e) === 2 && /already approved/.test((e as Error).message));
    const audit = readFileSync(new BottleState(h, 'dev-aaaaaa').auditLog('supervise'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(audit.map((e) => [e.event, e.id, e.state, e.by, e.note]), [['decided', p.id, 'approved', 'human:tester', 'fine']]);
    assert.ok(typeof audit[0]?.time === 'string');
  });

  it('a held request needs a reason to approve; approving the agent\'s `allow` decides the held one too', async () => {
    const { home: h, settings } = home();
    const held = dlpHold(h, 'dev-aaaaaa');
    const q = new ProposalQueue(queueDir(h, 'dev-aaaaaa'));
    const allow = await q.raise({ kind: 'allow', bottle: 'dev-aaaaaa', raised_by: 'agent', request: { proposal_id: held, held_kind: 'dlp-hold', held_summary: 's' }, summary: `release ${held}`, why: 'test key', needs_reason: true });
    await assert.rejects(decideProposal(settings, allow.id, { approve: true }), (e) => code(e) === 2 && /needs a reason/.test((e as Error).message));
    const r = await decideProposal(settings, allow.id, { approve: true, note: 'documented example key' });
    assert.equal(r.proposal.id, allow.id);
    assert.equal(r.proposal.state, 'approved');
    const heldNow = JSON.parse(readFileSync(join(queueDir(h, 'dev-aaaaaa'), `${held}.json`), 'utf8')) as Record<string, unknown>;
    assert.equal(heldNow.state, 'approved', 'the egress proxy reads `state` and releases the request');
    assert.equal(heldNow.note, 'documented example key');
  });

  it('rejecting a held request writes `reason` (what the proxy reports) and closes the allow pointing at it', async () => {
    const { home: h, settings } = home();
    const held = dlpHold(h, 'dev-aaaaaa');
    const q = new ProposalQueue(queueDir(h, 'dev-aaaaaa'));
    const allow = await q.raise({ kind: 'allow', bottle: 'dev-aaaaaa', raised_by: 'agent', request: { proposal_id: held }, summary: 's', why: 'w', needs_reason: true });
    await decideProposal(settings, held, { approve: false, note: 'a real key' });
    const heldNow = JSON.parse(readFileSync(join(queueDir(h, 'dev-aaaaaa'), `${held}.json`), 'utf8')) as Record<string, unknown>;
    assert.deepEqual([heldNow.state, heldNow.reason], ['rejected', 'a real key']);
    assert.equal((await q.get(allow.id)).state, 'rejected');
  });

  it('edits: egress requests as JSON, capability changes as the Dockerfile; held requests not at all', async () => {
    const { home: h, settings } = home();
    const q = new ProposalQueue(queueDir(h, 'dev-aaaaaa'));
    const p = await q.raise(egress('dev-aaaaaa'));
    const { text } = editableText(p);
    assert.equal(parseEditedText(p, text), undefined, 'unchanged');
    assert.throws(() => parseEditedText(p, '{"host": "a b"}'), (e) => code(e) === 2);
    assert.throws(() => parseEditedText(p, 'not json'), (e) => code(e) === 2);
    const edited = parseEditedText(p, JSON.stringify({ host: 'api.example.com', paths: ['/v1/'], methods: ['get'] }));
    const r = await decideProposal(settings, p.id, { approve: true, ...(edited ? { edited_request: edited } : {}) });
    assert.equal(r.proposal.state, 'approved-with-edits');
    assert.deepEqual(r.proposal.edited_request, { host: 'api.example.com', port: 443, paths: ['/v1/'], methods: ['GET'] });
    assert.deepEqual(
      (await approvedEgressRoutes(h, 'dev-aaaaaa')).map((x) => x.matches),
      [[{ paths: [{ type: 'prefix', value: '/v1/' }], methods: ['GET'], headers: [] }]],
    );
    const held = dlpHold(h, 'dev-aaaaaa');
    await assert.rejects(decideProposal(settings, held, { approve: true, note: 'x', edited_request: {} }), (e) => code(e) === 2);
  });

  it('approving a capability change writes the per-bottle Dockerfile and preserves the bottle', async () => {
    const { home: h, settings } = home();
    const q = new ProposalQueue(queueDir(h, 'dev-aaaaaa'));
    const base = 'FROM debian:bookworm-slim\nUSER agent\n';
    const dockerfile = `${base}\nUSER root\nRUN apt-get install -y jq\nUSER agent\n`;
    const p = await q.raise({ kind: 'capability', bottle: 'dev-aaaaaa', raised_by: 'agent', request: { change: 'x', mode: 'append', base, dockerfile }, summary: 'jq', why: 'w', needs_reason: false });
    assert.match(capabilityDiff(p) ?? '', /\+RUN apt-get install -y jq/);
    const edited = parseEditedText(p, dockerfile.replace('jq', 'jq curl'));
    const r = await decideProposal(settings, p.id, { approve: true, ...(edited ? { edited_request: edited } : {}) });
    assert.match(r.effects.join('\n'), /preserved dev-aaaaaa/);
    const written = readFileSync(join(h, 'state', 'dev-aaaaaa', 'Dockerfile'), 'utf8');
    assert.match(written, /apt-get install -y jq curl/);
    assert.ok(existsSync(join(h, 'state', 'dev-aaaaaa', '.preserve')));
    const pending = await q.raise({ kind: 'capability', bottle: 'dev-aaaaaa', raised_by: 'agent', request: { dockerfile }, summary: 's', why: 'w', needs_reason: false });
    await assert.rejects(applyCapability(settings, 'dev-aaaaaa', pending), /pending, not approved/);
  });
});
