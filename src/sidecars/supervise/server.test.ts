/**
 * The MCP server over real HTTP on 127.0.0.1, driven by the SDK's own client:
 * the tools, their schemas, a call that blocks until a decision written
 * through the queue (as the host CLI does), and the transport's defences.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { superviseConfigFromEnv, type SuperviseConfig } from './config.js';
import { ProposalQueue, type Proposal } from './queue.js';
import { startSupervise, type RunningSupervise } from './server.js';

const root = mkdtempSync(join(tmpdir(), 'bb-supervise-'));
let n = 0;

function config(over: Partial<SuperviseConfig> = {}): SuperviseConfig {
  const dir = join(root, `s${++n}`);
  mkdirSync(join(dir, 'supervise', 'queue'), { recursive: true });
  const base = superviseConfigFromEnv({
    BOT_BOTTLE_IDENTITY: 'dev-test01',
    BOT_BOTTLE_SUPERVISE_DIR: join(dir, 'supervise'),
    BOT_BOTTLE_SUPERVISE_LISTEN: '127.0.0.1',
    BOT_BOTTLE_SUPERVISE_PORT: '0',
    BOT_BOTTLE_EGRESS_ROUTES_DIR: join(dir, 'egress', 'routes.d'),
    BOT_BOTTLE_EGRESS_ADMIN_URL: 'http://127.0.0.1:9/__bot-bottle/routes',
    BOT_BOTTLE_SUPERVISE_PROGRESS_MS: '200',
  });
  return { ...base, ...over };
}

async function connect(url: string): Promise<Client> {
  const client = new Client({ name: 'supervise-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

/** The next pending proposal that shows up in the queue. */
async function nextPending(q: ProposalQueue, except: ReadonlySet<string> = new Set()): Promise<Proposal> {
  for (let i = 0; i < 400; i++) {
    const p = (await q.list()).find((x) => x.state === 'pending' && !except.has(x.id));
    if (p) return p;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('no proposal raised');
}

async function waitUntil(cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function text(r: unknown): string {
  const c = (r as CallToolResult).content[0];
  return c && c.type === 'text' ? c.text : '';
}

/** A raw HTTP request, for what the SDK client would never send. */
function raw(port: number, opts: { method?: string; path?: string; headers?: Record<string, string>; body?: string | Buffer; chunked?: boolean }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: opts.method ?? 'POST', path: opts.path ?? '/mcp', headers: opts.headers ?? {} }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    if (opts.chunked && opts.body !== undefined) {
      // No Content-Length: the server must count as it reads.
      const b = Buffer.from(opts.body);
      for (let i = 0; i < b.length; i += 64 * 1024) req.write(b.subarray(i, i + 64 * 1024));
      req.end();
    } else req.end(opts.body);
  });
}

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const INIT = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });

describe('supervise MCP server', () => {
  let cfg: SuperviseConfig;
  let srv: RunningSupervise;
  let client: Client;
  let queue: ProposalQueue;

  before(async () => {
    cfg = config();
    srv = await startSupervise(cfg);
    client = await connect(srv.url);
    queue = new ProposalQueue(cfg.queueDir);
  });
  after(async () => {
    await client.close();
    await srv.close();
  });

  it('lists four tools, each with a description and an input schema', async () => {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), ['allow', 'list-egress-routes', 'request-capability', 'request-egress']);
    for (const t of tools) {
      assert.ok((t.description ?? '').length > 80, `${t.name} has a description an agent can follow`);
      assert.equal(t.inputSchema.type, 'object');
    }
    const egress = tools.find((t) => t.name === 'request-egress');
    assert.deepEqual(Object.keys(egress?.inputSchema.properties ?? {}).sort(), ['host', 'methods', 'paths', 'port', 'why']);
    assert.deepEqual([...(egress?.inputSchema.required ?? [])].sort(), ['host', 'why']);
    assert.ok(egress?.outputSchema, 'decision tools declare their output');
  });

  it('request-egress blocks until the host approves, then returns and installs the route', async () => {
    let progress = 0;
    const call = client.callTool(
      { name: 'request-egress', arguments: { host: 'API.Example.com', paths: ['/v1/'], methods: ['get'], why: 'fetch the schema' } },
      undefined,
      { onprogress: () => progress++, resetTimeoutOnProgress: true },
    );
    let returned = false;
    void call.then(() => (returned = true));
    const p = await nextPending(queue);
    assert.equal(p.kind, 'egress-route');
    assert.equal(p.raised_by, 'agent');
    assert.equal(p.bottle, 'dev-test01');
    assert.deepEqual(p.request, { host: 'api.example.com', port: 443, paths: ['/v1/'], methods: ['GET'] });
    // Still blocked once a progress notification has come (the event), not after a guessed time.
    await waitUntil(() => progress >= 1);
    assert.equal(returned, false, 'the call blocks while nobody has answered');

    await new ProposalQueue(cfg.queueDir).decide(p.id, { state: 'approved', by: 'human:test', note: 'read-only is fine' });
    const r = await call;
    assert.match(text(r), /^decision: approved\n/);
    assert.match(text(r), /note: read-only is fine/);
    assert.deepEqual({ ...(r.structuredContent as object) }, {
      proposal_id: p.id,
      kind: 'egress-route',
      decision: 'approved',
      note: 'read-only is fine',
      decided_by: 'human:test',
      effect: (r.structuredContent as { effect: string }).effect,
    });
    const route = JSON.parse(readFileSync(join(cfg.egressRoutesDir, `${p.id}.json`), 'utf8')) as Record<string, unknown>;
    assert.equal(route.host, 'api.example.com');
    assert.equal(route.port, 443);
    assert.deepEqual(route.matches, [{ paths: [{ type: 'prefix', value: '/v1/' }], methods: ['GET'], headers: [] }]);
    const audit = readFileSync(cfg.auditLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(audit.filter((e) => e.id === p.id).map((e) => e.event), ['raised', 'applied']);
    assert.equal(audit[0]?.why, 'fetch the schema');
  });

  it('an approval with edits installs the edited route', async () => {
    const call = client.callTool({ name: 'request-egress', arguments: { host: 'files.example.com', why: 'downloads' } });
    const p = await nextPending(queue);
    await queue.decide(p.id, { state: 'approved-with-edits', by: 'h', edited_request: { host: 'files.example.com', port: 443, paths: ['/pub/'], methods: ['GET'] } });
    const r = await call;
    assert.match(text(r), /^decision: approved-with-edits/);
    const route = JSON.parse(readFileSync(join(cfg.egressRoutesDir, `${p.id}.json`), 'utf8')) as { matches: unknown[] };
    assert.deepEqual(route.matches, [{ paths: [{ type: 'prefix', value: '/pub/' }], methods: ['GET'], headers: [] }]);
  });

  it('a rejection returns the reason and installs nothing', async () => {
    const call = client.callTool({ name: 'request-egress', arguments: { host: 'evil.example.net', why: 'exfil' } });
    const p = await nextPending(queue);
    await queue.decide(p.id, { state: 'rejected', by: 'h', note: 'not a host this task needs' });
    const r = await call;
    assert.match(text(r), /^decision: rejected\n/);
    assert.match(text(r), /reason: not a host this task needs/);
    assert.equal((r.structuredContent as { decision: string }).decision, 'rejected');
    assert.equal(existsSync(join(cfg.egressRoutesDir, `${p.id}.json`)), false);
  });

  it('bad tool input is a tool error the agent can read, not a crash', async () => {
    const r = await client.callTool({ name: 'request-egress', arguments: { host: 'https://x.example.com/path', why: 'x' } });
    assert.equal(r.isError, true);
    assert.match(text(r), /bare host name/);
    const r2 = await client.callTool({ name: 'request-egress', arguments: { host: 'x.example.com' } });
    assert.equal(r2.isError, true, 'why is required');
    assert.deepEqual((await queue.list()).filter((p) => p.state === 'pending'), []);
  });

  it('request-capability sends the current Dockerfile plus the change, and returns the decision', async () => {
    writeFileSync(cfg.dockerfileCurrent, 'FROM debian:bookworm-slim\nUSER agent\n');
    const call = client.callTool({ name: 'request-capability', arguments: { dockerfile_change: 'USER root\nRUN apt-get install -y jq\nUSER agent', why: 'parse JSON' } });
    const p = await nextPending(queue);
    assert.equal(p.kind, 'capability');
    assert.equal(p.request.mode, 'append');
    assert.equal(p.request.dockerfile, 'FROM debian:bookworm-slim\nUSER agent\n\nUSER root\nRUN apt-get install -y jq\nUSER agent\n');
    await queue.decide(p.id, { state: 'approved', by: 'h' });
    const r = await call;
    assert.match(text(r), /^decision: approved/);
    assert.match(text(r), /rebuilds the image/);
  });

  it('allow records the justification and returns the decision on the held request', async () => {
    const id = 'dlp-20250101120000-0a1b2c3d';
    writeFileSync(
      join(cfg.queueDir, `${id}.json`),
      JSON.stringify({ id, kind: 'dlp-hold', bottle: 'dev-test01', raised_by: 'egress', request: { method: 'POST', host: 'api.example.com', path: '/x', rule: 'aws-key', where: 'body' }, summary: 'POST carries aws-key', state: 'pending', created_at: new Date().toISOString() }),
    );
    const call = client.callTool({ name: 'allow', arguments: { proposal_id: id, why: 'it is a documented test key' } });
    const a = await nextPending(queue, new Set([id]));
    assert.equal(a.kind, 'allow');
    assert.equal(a.request.proposal_id, id);
    assert.equal(a.why, 'it is a documented test key');
    await queue.decide(id, { state: 'approved', by: 'h', note: 'AKIAIOSFODNN7EXAMPLE is the AWS docs key' });
    const r = await call;
    assert.match(text(r), /^decision: approved/);
    assert.match(text(r), /AWS docs key/);
    assert.equal((await queue.get(a.id)).state, 'approved', 'the allow proposal follows the held one');
    const notHeld = await client.callTool({ name: 'allow', arguments: { proposal_id: a.id, why: 'x' } });
    assert.equal(notHeld.isError, true);
  });

  it('list-egress-routes explains an unreachable proxy', async () => {
    const r = await client.callTool({ name: 'list-egress-routes', arguments: {} });
    assert.equal(r.isError, true);
    assert.match(text(r), /unreachable/);
  });

  it('malformed JSON gets a JSON-RPC parse error, an oversized body a JSON-RPC error, and the server keeps serving', async () => {
    const bad = await raw(srv.port, { headers: { ...JSON_HEADERS, host: '127.0.0.1' }, body: '{"jsonrpc": "2.0", "id": 1, "method": ' });
    assert.equal(bad.status, 400);
    assert.equal((JSON.parse(bad.body) as { error: { code: number } }).error.code, -32700);
    const big = await raw(srv.port, { headers: { ...JSON_HEADERS, host: '127.0.0.1' }, body: Buffer.alloc(2 * 1024 * 1024, 0x20) });
    assert.equal(big.status, 413);
    assert.equal((JSON.parse(big.body) as { jsonrpc: string; error: { code: number } }).jsonrpc, '2.0');
    const bigChunked = await raw(srv.port, { headers: { ...JSON_HEADERS, host: '127.0.0.1' }, body: Buffer.alloc(3 * 1024 * 1024, 0x20), chunked: true });
    assert.equal(bigChunked.status, 413);
    const notRpc = await raw(srv.port, { headers: { ...JSON_HEADERS, host: '127.0.0.1' }, body: '{"hello": 1}' });
    assert.equal(notRpc.status, 400);
    assert.ok((JSON.parse(notRpc.body) as { error?: unknown }).error);
    assert.equal((await client.listTools()).tools.length, 4);
    const other = await connect(srv.url);
    assert.equal((await other.listTools()).tools.length, 4);
    await other.close();
  });

  it('refuses a Host or Origin that is not the bundle (DNS rebinding), and other paths', async () => {
    const rebinding = await raw(srv.port, { headers: { ...JSON_HEADERS, host: 'attacker.example:8765' }, body: INIT });
    assert.equal(rebinding.status, 403);
    const origin = await raw(srv.port, { headers: { ...JSON_HEADERS, host: 'bundle:8765', origin: 'http://attacker.example' }, body: INIT });
    assert.equal(origin.status, 403);
    const ok = await raw(srv.port, { headers: { ...JSON_HEADERS, host: 'bundle:8765' }, body: INIT });
    assert.equal(ok.status, 200);
    const elsewhere = await raw(srv.port, { path: '/admin', headers: { ...JSON_HEADERS, host: 'bundle:8765' }, body: INIT });
    assert.equal(elsewhere.status, 404);
    const noSession = await raw(srv.port, { headers: { ...JSON_HEADERS, host: 'bundle:8765' }, body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }) });
    assert.equal(noSession.status, 400);
  });
});

describe('supervise MCP server: timeouts and the routes list', () => {
  it('a call nobody answers expires after the configured timeout', async () => {
    const cfg = config({ timeoutMs: 600 });
    const srv = await startSupervise(cfg);
    const client = await connect(srv.url);
    try {
      const r = await client.callTool({ name: 'request-egress', arguments: { host: 'slow.example.com', why: 'x' } });
      assert.match(text(r), /^decision: expired/);
      const [p] = await new ProposalQueue(cfg.queueDir).list();
      assert.equal(p?.state, 'expired');
      const audit = readFileSync(cfg.auditLog, 'utf8');
      assert.match(audit, /"event":"decided".*"state":"expired"/);
    } finally {
      await client.close();
      await srv.close();
    }
  });

  it('list-egress-routes shows the proxy\'s routes and never a token value', async () => {
    const admin: Server = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ identity: 'x', routes: [{ host: 'api.github.com', port: 443, matches: [{ paths: [{ type: 'prefix', value: '/repos/' }], methods: [], headers: [] }], auth: { scheme: 'Bearer', token_ref: 'GITHUB_TOKEN', header: 'Authorization', token: 'ghp_SECRETSECRET' } }] }));
    });
    await new Promise<void>((r) => admin.listen(0, '127.0.0.1', r));
    const cfg = config({ egressAdminUrl: `http://127.0.0.1:${(admin.address() as AddressInfo).port}/__bot-bottle/routes` });
    const srv = await startSupervise(cfg);
    const client = await connect(srv.url);
    try {
      const r = await client.callTool({ name: 'list-egress-routes', arguments: {} });
      assert.equal(r.isError, undefined);
      assert.match(text(r), /api\.github\.com/);
      assert.match(text(r), /GITHUB_TOKEN/);
      assert.match(text(r), /"value": "\/repos\/"/, 'path matches are shown');
      assert.doesNotMatch(text(r), /SECRET/);
    } finally {
      await client.close();
      await srv.close();
      await new Promise((r) => admin.close(r));
    }
  });

  it('reconcile installs a route approved while nobody waited (a cancelled call, a restart)', async () => {
    const cfg = config();
    const srv = await startSupervise(cfg);
    try {
      const q = new ProposalQueue(cfg.queueDir);
      const p = await q.raise({ kind: 'egress-route', bottle: 'dev-test01', raised_by: 'agent', request: { host: 'late.example.com', port: 8443, paths: [], methods: [] }, summary: 's', why: 'w', needs_reason: false });
      await q.decide(p.id, { state: 'approved', by: 'h' });
      await srv.service.reconcile();
      const route = JSON.parse(readFileSync(join(cfg.egressRoutesDir, `${p.id}.json`), 'utf8')) as { host: string; port: number; matches: unknown[] };
      assert.deepEqual([route.host, route.port, route.matches], ['late.example.com', 8443, []]);
    } finally {
      await srv.close();
    }
  });
});

after(() => rmSync(root, { recursive: true, force: true }));
