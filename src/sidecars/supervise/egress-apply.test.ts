// An approved egress route on a provider-owned host, through the real proxy:
// the provider's route keeps injecting its token for exactly what it allowed,
// the approval lets through what was asked and nothing more, never with the
// token, and a policy file holding a whole route (auth included) cannot
// steer the token anywhere new.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { providerRoute } from '../../providers/common.js';
import { request, startProxy, startUpstream, tempDir, type Reply, type TestProxy, type Upstream } from '../egress/testkit.test.js';
import { applyEgressRoute } from './egress-apply.js';
import { egressRoute, parseEgressRequest } from './requests.js';

const TOKEN = 'provider-real-token-0123456789';
const PLACEHOLDER = 'agent-placeholder';

async function waitFor(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('an approved route on a provider-owned host, through the real proxy', () => {
  let dir: string;
  let up: Upstream;
  let p: TestProxy;
  let policyFile: string;
  let approvals = 0;

  const approve = (req: Record<string, unknown>) =>
    applyEgressRoute(
      { routesDir: join(dir, 'routes.d'), configFile: p.configPath, policyFile },
      `egress-${(++approvals).toString().padStart(8, '0')}`,
      egressRoute(parseEgressRequest({ port: up.port, ...req })),
    );

  /** One request as the agent makes it (its placeholder credential), and what reached the upstream. */
  async function send(host: string, path: string): Promise<{ reply: Reply; authorization: string | undefined; apiKey: string | undefined }> {
    const before = up.seen.length;
    const reply = await request({
      proxyPort: p.port,
      proxyCa: p.ca.certPem,
      authority: `${host}:${up.port}`,
      path,
      headers: { authorization: `Bearer ${PLACEHOLDER}`, 'x-api-key': PLACEHOLDER },
    });
    const seen = up.seen.slice(before).find((s) => s.url === path);
    const header = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join(',') : v);
    return { reply, authorization: header(seen?.headers.authorization), apiKey: header(seen?.headers['x-api-key']) };
  }

  const routeCount = (n: number) => waitFor(() => p.proxy.routes.length === n, `${n} routes in force`);

  before(async () => {
    dir = tempDir();
    up = await startUpstream(dir);
    policyFile = join(dir, 'policy.json');
    writeFileSync(policyFile, '{"routes":[]}\n', { mode: 0o600 });
    writeFileSync(join(dir, 'tokens.json'), JSON.stringify({ CODEX: TOKEN, CLAUDE: TOKEN }), { mode: 0o600 });
    // The routes the codex (ChatGPT sign-in) and claude templates own, on the stand-in's port.
    const codex = { ...providerRoute('chatgpt.com', { scheme: 'Bearer', token_ref: 'CODEX', header: 'Authorization' }, ['/backend-api/']), port: up.port };
    const claude = { ...providerRoute('api.anthropic.com', { scheme: '', token_ref: 'CLAUDE', header: 'x-api-key' }), port: up.port };
    p = await startProxy(dir, {
      routes: [codex, claude],
      hosts: { 'chatgpt.com': '127.0.0.1', 'api.anthropic.com': '127.0.0.1' },
      caCerts: [up.caFile],
      tokensFile: join(dir, 'tokens.json'),
      policyFile,
    });
    p.proxy.watch();
    await routeCount(2);
  });

  after(async () => {
    await p.proxy.close();
    await up.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps injecting the token after an approval for other paths of the host, and gives the approved paths none', async () => {
    const provider = await send('chatgpt.com', '/backend-api/codex/responses');
    assert.equal(provider.reply.status, 200);
    assert.equal(provider.authorization, `Bearer ${TOKEN}`);
    assert.equal((await send('chatgpt.com', '/other/x')).reply.status, 403, 'not routed before the approval');

    assert.equal((await approve({ host: 'chatgpt.com', paths: ['/other/'], methods: ['GET'] })).live, 'merged');
    await routeCount(3);

    const still = await send('chatgpt.com', '/backend-api/codex/responses');
    assert.equal(still.reply.status, 200);
    assert.equal(still.authorization, `Bearer ${TOKEN}`, 'the approval did not drop injection');
    const approved = await send('chatgpt.com', '/other/x');
    assert.equal(approved.reply.status, 200, 'the approved path goes through');
    assert.notEqual(approved.authorization, `Bearer ${TOKEN}`, 'the token does not follow the approval');
    assert.ok(!JSON.stringify(up.seen.at(-1)?.headers).includes(TOKEN));
    assert.equal((await send('chatgpt.com', '/third/x')).reply.status, 403, 'nothing beyond what was asked');
  });

  it('an approval for every path of the host still leaves the token on the provider\'s paths only', async () => {
    assert.equal((await approve({ host: 'chatgpt.com' })).live, 'merged');
    await waitFor(() => p.proxy.routes.some((r) => r.host === 'chatgpt.com' && r.auth === undefined && r.matches.length === 0), 'the every-path approval');
    const anywhere = await send('chatgpt.com', '/anything');
    assert.equal(anywhere.reply.status, 200);
    assert.ok(!JSON.stringify(up.seen.at(-1)?.headers).includes(TOKEN), 'no token off the provider\'s paths');
    assert.equal((await send('chatgpt.com', '/backend-api/x')).authorization, `Bearer ${TOKEN}`);
  });

  it('a host whose provider route allows everything: already covered, token kept', async () => {
    const before = readFileSync(policyFile, 'utf8');
    assert.equal((await approve({ host: 'api.anthropic.com', paths: ['/v1/files'] })).live, 'already-covered');
    assert.equal(readFileSync(policyFile, 'utf8'), before, 'nothing written');
    assert.equal((await send('api.anthropic.com', '/v1/files')).apiKey, TOKEN);
  });

  it('a policy file that holds a whole route with its auth (an older version\'s) neither replaces the provider route nor moves the token', async () => {
    const copy = { host: 'chatgpt.com', port: up.port, matches: [], auth: { scheme: 'Bearer', token_ref: 'CODEX', header: 'Authorization' } };
    writeFileSync(policyFile, JSON.stringify({ routes: [copy] }), { mode: 0o600 });
    await waitFor(() => p.proxy.routes.filter((r) => r.host === 'chatgpt.com').length === 2 && p.proxy.routes.length === 3, 'the rewritten policy');
    const off = await send('chatgpt.com', '/elsewhere');
    assert.equal(off.reply.status, 200);
    assert.ok(!JSON.stringify(up.seen.at(-1)?.headers).includes(TOKEN), 'the copied auth is ignored');
    assert.equal((await send('chatgpt.com', '/backend-api/y')).authorization, `Bearer ${TOKEN}`);
  });
});
