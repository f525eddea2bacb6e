/**
 * supervise from the outside:
 * - the CLI's `proposals`, `approve`, `reject` against a home with queues
 *   (the pending proposal survives the CLI: every command is a new process);
 * - the real thing in containers: the bundled server (`supervise.js`) in the
 *   bundle image (pinned Node LTS), `bottle-ask` in the agent image on the same
 *   internal network, the queue folder bind-mounted from the host, where the
 *   human's decision is written. Everything created carries `bb-test=1`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { renderScreen } from '../src/cli/supervise/render.js';
import { colors } from '../src/cli/output.js';
import { readSettings } from '../src/settings.js';
import { decideProposal } from '../src/api/proposals.js';
import { BottleState } from '../src/bottle/state.js';
import { ProposalQueue, type Proposal } from '../src/sidecars/supervise/queue.js';
import { connectEngine } from '../src/backends/docker/engine.js';
import { agentShellRecipe, ensureImage } from '../src/backends/docker/images.js';
import { bundleImageRecipe } from '../src/backends/docker/plan.js';
import { silentProgress } from '../src/progress.js';
import { ROOT, docker, makeHome, run, type TestHome } from './helpers.js';

const BOTTLE = 'dev-svtest1';

const egressProposal = (why: string): Omit<Proposal, 'id' | 'state' | 'created_at'> => ({
  kind: 'egress-route',
  bottle: BOTTLE,
  raised_by: 'agent',
  request: { host: 'api.example.com', port: 443, paths: ['/v1/'], methods: ['GET'] },
  summary: 'egress to api.example.com (GET; /v1/)',
  why,
  needs_reason: false,
});

async function nextPending(q: ProposalQueue, timeoutMs = 30_000): Promise<Proposal> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const p = (await q.list()).find((x) => x.state === 'pending');
    if (p) return p;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('no proposal raised');
}

describe('supervise CLI', () => {
  let h: TestHome;

  before(() => {
    h = makeHome();
  });
  after(async () => {
    await h.cleanup();
  });

  it('proposals --json lists pending proposals of every bottle; approve and reject decide them', async () => {
    const q = new ProposalQueue(new BottleState(h.home, BOTTLE).proposalsDir);
    const a = await q.raise(egressProposal('first'));
    const b = await q.raise(egressProposal('second'));

    const empty = await run(['proposals', '--json'], { env: { ...h.env, BOT_BOTTLE_HOME: join(h.home, 'nothing-here') } });
    assert.equal(empty.code, 0, empty.stderr);
    assert.deepEqual(JSON.parse(empty.stdout), []);

    const listed = await run(['proposals', '--json'], { env: h.env });
    assert.equal(listed.code, 0, listed.stderr);
    const rows = JSON.parse(listed.stdout) as (Proposal & { identity: string })[];
    assert.deepEqual(rows.map((r) => [r.id, r.identity, r.state, r.why]), [
      [a.id, BOTTLE, 'pending', 'first'],
      [b.id, BOTTLE, 'pending', 'second'],
    ]);
    const text = await run(['proposals'], { env: h.env });
    assert.match(text.stdout, new RegExp(a.id));

    const approved = await run(['approve', a.id, '--note', 'read-only is fine', '--json'], { env: h.env });
    assert.equal(approved.code, 0, approved.stderr);
    assert.equal((JSON.parse(approved.stdout) as { proposal: Proposal }).proposal.state, 'approved');
    const onDisk = await q.get(a.id);
    assert.deepEqual([onDisk.state, onDisk.note], ['approved', 'read-only is fine']);

    const noReason = await run(['reject', b.id], { env: h.env });
    assert.equal(noReason.code, 2, 'a rejection without --reason is a usage error');
    const rejected = await run(['reject', b.id, '--reason', 'not needed for this task'], { env: h.env });
    assert.equal(rejected.code, 0, rejected.stderr);
    assert.match(rejected.stdout, /rejected/);
    assert.deepEqual([(await q.get(b.id)).state, (await q.get(b.id)).note], ['rejected', 'not needed for this task']);

    const twice = await run(['approve', b.id], { env: h.env });
    assert.equal(twice.code, 2);
    assert.match(twice.stderr, /already rejected/);
    const unknown = await run(['approve', 'egress-00000000'], { env: h.env });
    assert.equal(unknown.code, 4);
    const pendingNow = JSON.parse((await run(['proposals', '--json'], { env: h.env })).stdout) as unknown[];
    assert.equal(pendingNow.length, 0);
    const all = JSON.parse((await run(['proposals', '--json', '--all'], { env: h.env })).stdout) as unknown[];
    assert.equal(all.length, 2);
    const audit = readFileSync(new BottleState(h.home, BOTTLE).auditLog('supervise'), 'utf8');
    assert.equal(audit.trim().split('\n').length, 2, 'one audit line per decision');
  });

  it('a held request needs --note to approve; supervise without a terminal says what to use instead', async () => {
    const q = new ProposalQueue(new BottleState(h.home, BOTTLE).proposalsDir);
    const held = await q.raise({ ...egressProposal('x'), kind: 'dlp-hold', raised_by: 'egress', needs_reason: true });
    const bare = await run(['approve', held.id], { env: h.env });
    assert.equal(bare.code, 2);
    assert.match(bare.stderr, /needs a reason/);
    assert.equal((await run(['approve', held.id, '--note', 'test fixture'], { env: h.env })).code, 0);
    const screen = await run(['supervise'], { env: h.env });
    assert.equal(screen.code, 2);
    assert.match(screen.stderr, /terminal/);
  });
});

describe('supervise screen', () => {
  it('lists pending proposals, shows the selected one with its Dockerfile diff, fits the terminal', () => {
    const now = Date.now();
    const at = new Date(now - 120_000).toISOString();
    const egress: Proposal = { ...egressProposal('fetch the schema'), id: 'egress-aaaaaaaa', state: 'pending', created_at: at };
    const cap: Proposal = {
      ...egressProposal('need jq'),
      id: 'cap-bbbbbbbb',
      kind: 'capability',
      state: 'pending',
      created_at: at,
      summary: 'Dockerfile +: RUN apt-get install -y jq',
      request: { base: 'FROM debian\nUSER agent\n', dockerfile: 'FROM debian\nUSER agent\n\nRUN apt-get install -y jq\n' },
    };
    const items = [
      { identity: BOTTLE, proposal: egress },
      { identity: BOTTLE, proposal: cap },
    ];
    const lines = renderScreen({ items, selected: 1, message: { tone: 'plain', text: '' } }, 100, 30, colors(false), now);
    assert.equal(lines.length, 30);
    assert.ok(lines.every((l) => l.length <= 100));
    assert.match(lines[0] ?? '', /2 pending/);
    assert.match(lines[1] ?? '', /^ {2}egress-aaaaaaaa .* 2m {2}egress to api\.example\.com/);
    assert.match(lines[2] ?? '', /^> cap-bbbbbbbb/);
    const body = lines.join('\n');
    assert.match(body, /why: need jq/);
    assert.match(body, /\n\+RUN apt-get install -y jq\n/);
    assert.match(lines[28] ?? '', /a approve/);
    const typing = renderScreen({ items, selected: 0, message: { tone: 'plain', text: '' }, input: { label: 'reject egress-aaaaaaaa - reason (required)', text: 'not n' } }, 100, 30, colors(false), now);
    assert.match(typing[28] ?? '', /reason \(required\): not n/);
    assert.match(typing.join('\n'), /"host": "api\.example\.com"/);
    const empty = renderScreen({ items: [], selected: 0, message: { tone: 'plain', text: '' } }, 60, 12, colors(false), now);
    assert.match(empty[0] ?? '', /no pending proposals/);
  });
});


interface Asked {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

describe('supervise in containers: bottle-ask in the agent, the server in the bundle, the human on the host', () => {
  const tag = `${process.pid}-${Date.now().toString(36)}`;
  const net = `bb-test-sv-${tag}`;
  const bundleName = `bb-test-sv-bundle-${tag}`;
  let h: TestHome;
  let bundleImage = '';
  let agentImage = '';
  let queue: ProposalQueue;

  before(async () => {
    h = makeHome();
    // The images every bottle uses (cached by content: built once per run, shared with the other suites).
    const engine = await connectEngine();
    [bundleImage, agentImage] = await Promise.all([ensureImage(engine, bundleImageRecipe(), silentProgress), ensureImage(engine, agentShellRecipe(), silentProgress)]);
    const svDir = new BottleState(h.home, BOTTLE).service('supervise');
    mkdirSync(join(svDir, 'queue'), { recursive: true, mode: 0o700 });
    writeFileSync(join(svDir, 'Dockerfile.current'), 'FROM debian:bookworm-slim\nUSER agent\n');
    // The bundle runs as uid 10001 (as launch does for a root host): hand it its folder.
    if (process.getuid?.() === 0) for (const p of [svDir, join(svDir, 'queue'), join(svDir, 'Dockerfile.current')]) chownSync(p, 10001, 10001);
    const user = process.getuid?.() === 0 ? [] : ['--user', `${process.getuid?.()}:${process.getgid?.()}`];
    await docker(['network', 'create', '--internal', '--label', 'bb-test=1', net]);
    await docker([
      'run', '-d', '--name', bundleName, '--label', 'bb-test=1', '--network', net, '--network-alias', 'bundle',
      '--read-only', '--tmpfs', '/tmp', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges', ...user,
      '-v', `${join(ROOT, 'dist', 'bundle', 'supervise.js')}:/opt/bot-bottle/supervise.js:ro`,
      '-v', `${svDir}:/run/bot-bottle/supervise:rw`,
      '-e', `BOT_BOTTLE_IDENTITY=${BOTTLE}`,
      '--entrypoint', 'node', bundleImage, '/opt/bot-bottle/supervise.js',
    ]);
    const deadline = Date.now() + 20_000;
    while (!(await docker(['logs', bundleName]).catch(() => '')).includes('MCP server on')) {
      if (Date.now() > deadline) throw new Error(`supervise did not start: ${await docker(['logs', bundleName]).catch((e: unknown) => String(e))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    queue = new ProposalQueue(new BottleState(h.home, BOTTLE).proposalsDir);
  });

  after(async () => {
    await docker(['rm', '-f', bundleName]).catch(() => undefined);
    const left = await docker(['ps', '-aq', '--filter', `label=bb-test-sv=${tag}`]).catch(() => '');
    if (left) await docker(['rm', '-f', ...left.split('\n')]).catch(() => undefined);
    await docker(['network', 'rm', net]).catch(() => undefined);
    await h.cleanup();
  });

  /** `bottle-ask ARGS` in a fresh agent container on the bottle's network. */
  function ask(args: readonly string[], input = ''): Promise<Asked> {
    return new Promise((resolve, reject) => {
      const child = spawn(
        'docker',
        [
          'run', '--rm', '-i', '--label', 'bb-test=1', '--label', `bb-test-sv=${tag}`, '--network', net, '--cap-drop', 'ALL',
          // As in a real bottle, a proxy is configured: bottle-ask must not use it for the bundle.
          '-e', 'HTTPS_PROXY=http://bundle:3128', '-e', 'HTTP_PROXY=http://bundle:3128', '-e', 'BOT_BOTTLE_MCP_URL=http://bundle:8765/mcp',
          '-v', `${join(ROOT, 'images', 'agent-shell', 'bottle-ask')}:/usr/local/bin/bottle-ask:ro`,
          agentImage, 'bottle-ask', ...args,
        ],
        { stdio: ['pipe', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
      child.stdin.end(input);
    });
  }

  it('request-egress blocks until the host approves; the agent sees the approval and the note', async () => {
    const asked = ask(['request-egress', '--host', 'api.example.com', '--path', '/v1/', '--method', 'GET', '--why', 'fetch the "v1" schema']);
    const p = await nextPending(queue);
    assert.equal(p.bottle, BOTTLE);
    assert.equal(p.why, 'fetch the "v1" schema');
    assert.deepEqual(p.request, { host: 'api.example.com', port: 443, paths: ['/v1/'], methods: ['GET'] });
    const settings = readSettings({ ...h.env }, h.cwd, false);
    await decideProposal(settings, p.id, { approve: true, note: 'read-only is fine' });
    const r = await asked;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^decision: approved\n/);
    assert.match(r.stdout, /note: read-only is fine/);
    // Recorded as the bundle user, in the bundle's view of the host state.
    const audit = readFileSync(new BottleState(h.home, BOTTLE).auditLog('supervise'), 'utf8');
    assert.match(audit, new RegExp(`"event":"raised","id":"${p.id}"`));
    assert.match(audit, new RegExp(`"event":"decided","id":"${p.id}"`));
  });

  it('a rejection reaches the agent with its reason and exit 1', async () => {
    const asked = ask(['request-capability', '--why', 'need jq'], 'USER root\nRUN apt-get install -y jq\nUSER agent\n');
    const p = await nextPending(queue);
    assert.equal(p.kind, 'capability');
    assert.match(String(p.request.dockerfile), /^FROM debian:bookworm-slim\nUSER agent\n\nUSER root\n/);
    await decideProposal(readSettings({ ...h.env }, h.cwd, false), p.id, { approve: false, note: 'use the jq in /workspace/tools' });
    const r = await asked;
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^decision: rejected\n/);
    assert.match(r.stdout, /reason: use the jq in \/workspace\/tools/);
    assert.equal(existsSync(join(h.home, 'state', BOTTLE, 'Dockerfile')), false);
  });

  it('a malformed request gets a JSON-RPC error and the server keeps serving', async () => {
    const script = [
      'set -e',
      "curl -sS --noproxy '*' -o /tmp/a -w '%{http_code}\\n' -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' --data-binary '{\"jsonrpc\":' http://bundle:8765/mcp",
      'cat /tmp/a; echo',
      "head -c 2000000 /dev/zero | tr '\\0' ' ' > /tmp/big",
      "curl -sS --noproxy '*' -o /tmp/b -w '%{http_code}\\n' -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' --data-binary @/tmp/big http://bundle:8765/mcp",
      'cat /tmp/b; echo',
      'bottle-ask list-routes || echo "list-routes exit $?"',
    ].join('\n');
    const out = await docker(['run', '--rm', '--label', 'bb-test=1', '--network', net, '-v', `${join(ROOT, 'images', 'agent-shell', 'bottle-ask')}:/usr/local/bin/bottle-ask:ro`, agentImage, 'bash', '-c', script]);
    const lines = out.split('\n');
    assert.equal(lines[0], '400');
    assert.match(lines[1] ?? '', /"code":-32700/);
    assert.equal(lines[2], '413');
    assert.match(lines[3] ?? '', /"jsonrpc":"2.0"/);
    // No egress proxy in this test: the tool answers, with a clear error.
    assert.match(out, /route list is unreachable/);
    assert.match(out, /list-routes exit 3/);
  });
});
