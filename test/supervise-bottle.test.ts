/**
 * supervise in a real bottle: the agent asks over MCP (bottle-ask), a human
 * answers on the host, and the answer changes the running bottle.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:https';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hostAddresses } from '../src/demo/run.js';
import { createCa, LeafMinter } from '../src/sidecars/egress/certs.js';
import { agentSh, CLI, docker, makeHome, run, startDetached, type TestHome } from './helpers.js';

describe('supervise in a bottle', () => {
  let h: TestHome;
  let id: string;
  let server: Server;
  let port: number;

  before(async () => {
    const ca = await createCa('test-upstream');
    const ctx = await new LeafMinter(ca).contextFor('asked.test');
    server = createServer({ SNICallback: (_n, cb) => cb(null, ctx) }, (_req, res) => res.end('asked for and granted\n'));
    await new Promise<void>((r) => server.listen(0, '0.0.0.0', r));
    port = (server.address() as { port: number }).port;
    h = makeHome();
    const caFile = join(h.home, 'upstream-ca.pem');
    writeFileSync(caFile, ca.certPem);
    h.writeBottle('sup', `---\nagent_provider: {template: shell}\nsupervise: true\negress:\n  hosts: {asked.test: ${hostAddresses()[0]}}\n  ca_certs: [${caFile}]\n---\n`);
    h.writeAgent('sup', '---\nbottle: sup\n---\n');
    id = await startDetached(h, 'sup');
  });

  after(async () => {
    server.close();
    await h.cleanup();
  });

  const pendingId = async (kind: string, not: string[] = []): Promise<string> => {
    for (let i = 0; i < 150; i++) {
      const list = JSON.parse((await run(['proposals', '--json'], { env: h.env })).stdout || '[]') as { id: string; kind: string; state: string }[];
      const p = list.find((x) => x.kind === kind && x.state === 'pending' && !not.includes(x.id));
      if (p) return p.id;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no pending ${kind} proposal`);
  };

  it('an approved request-egress opens a denied URL in the running bottle', async () => {
    const target = `https://asked.test:${port}/data`;
    assert.equal((await agentSh(h, id, `curl -s -o /dev/null -w '%{http_connect}' ${target}`)).stdout, '403', 'denied before');
    const asking = agentSh(h, id, `bottle-ask request-egress --host asked.test --port ${port} --path /data --method GET --why 'the task needs the dataset'`);
    const pid = await pendingId('egress-route');
    const approved = await run(['approve', pid, '--note', 'fine for this task'], { env: h.env });
    assert.equal(approved.code, 0, approved.stderr);
    const answer = await asking;
    assert.equal(answer.code, 0, answer.stderr);
    assert.match(answer.stdout, /approved/);
    assert.match(answer.stdout, /fine for this task/);
    let body = '';
    for (let i = 0; i < 20 && body !== 'asked for and granted\n'; i++) {
      body = (await agentSh(h, id, `curl -sS ${target}`)).stdout;
      if (body !== 'asked for and granted\n') await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(body, 'asked for and granted\n', 'the new route is live without a restart');
  });

  it('a rejected request returns the reason and leaves the URL denied', async () => {
    const done = await run(['proposals', '--json', '--all'], { env: h.env });
    const seen = (JSON.parse(done.stdout || '[]') as { id: string }[]).map((p) => p.id);
    const asking = agentSh(h, id, `bottle-ask request-egress --host asked.test --port ${port} --path /other --why 'curious'`);
    const pid = await pendingId('egress-route', seen);
    assert.equal((await run(['reject', pid, '--reason', 'not needed for this task'], { env: h.env })).code, 0);
    const answer = await asking;
    assert.equal(answer.code, 1);
    assert.match(answer.stdout + answer.stderr, /not needed for this task/);
    assert.equal((await agentSh(h, id, `curl -s -o /dev/null -w '%{http_code}' https://asked.test:${port}/other`)).stdout, '403');
  });

  it('a pending proposal survives a crash of the supervise screen showing it, and can still be answered', async () => {
    const asking = agentSh(h, id, `bottle-ask request-egress --host asked.test --port ${port} --path /later --why 'later'`);
    const pid = await pendingId('egress-route');
    // The approval screen, on a pseudo-terminal as a human runs it, killed once it shows the proposal.
    const screen = spawn('script', ['-qfc', `${process.execPath} ${CLI} supervise`, '/dev/null'], { env: { ...h.env, TERM: 'xterm', COLUMNS: '120', LINES: '40' }, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    let shown = '';
    await new Promise<void>((resolve, reject) => {
      screen.stdout.on('data', (d: Buffer) => {
        shown += d.toString();
        if (shown.includes(pid)) resolve();
      });
      screen.on('error', reject);
      screen.on('exit', (code) => reject(new Error(`supervise exited (${code}) before showing ${pid}: ${shown.slice(-400)}`)));
    });
    process.kill(-(screen.pid ?? 0), 'SIGKILL');
    const list = JSON.parse((await run(['proposals', '--json'], { env: h.env })).stdout) as { id: string; state: string }[];
    assert.equal(list.find((p) => p.id === pid)?.state, 'pending');
    assert.equal((await run(['approve', pid, '--note', 'after the crash'], { env: h.env })).code, 0);
    assert.equal((await asking).code, 0);
  });

  it('the MCP endpoint answers the agent only: not the host network', async () => {
    const mcp = await agentSh(h, id, `curl -s -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' --data '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}' http://bundle:8765/mcp`);
    assert.equal(mcp.stdout, '200');
    const egressIp = await docker(['inspect', '-f', `{{(index .NetworkSettings.Networks "bot-bottle-${id}-egress").IPAddress}}`, `bot-bottle-${id}-bundle`]);
    const fromHost = await fetch(`http://${egressIp}:8765/mcp`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(3000) }).then(
      (r) => `answered ${r.status}`,
      () => 'refused',
    );
    assert.equal(fromHost, 'refused');
    const malformed = await agentSh(h, id, `curl -s -X POST -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' --data '{not json' http://bundle:8765/mcp`);
    assert.match(malformed.stdout, /"code":-32700/);
  });

  it('an approved capability change rebuilds the image and resumes with the workspace', async () => {
    assert.equal((await agentSh(h, id, 'echo precious > /workspace/keep.txt; command -v jq || echo no-jq')).stdout.trim(), 'no-jq');
    const asking = agentSh(h, id, `echo 'RUN apt-get update && apt-get install -y --no-install-recommends jq && rm -rf /var/lib/apt/lists/*' | bottle-ask request-capability --why 'the task parses JSON'`);
    const pid = await pendingId('capability');
    const approved = await run(['approve', pid, '--note', 'jq is fine'], { env: h.env, timeoutMs: 600_000 });
    assert.equal(approved.code, 0, approved.stderr);
    await asking.catch(() => undefined); // its container was replaced
    const after = await agentSh(h, id, 'jq --version && cat /workspace/keep.txt && cat /run/bot-bottle/notice');
    assert.equal(after.code, 0, after.stderr);
    assert.match(after.stdout, /^jq-/);
    assert.match(after.stdout, /precious/);
    assert.match(after.stdout, /capability change was approved/);
  });
});
