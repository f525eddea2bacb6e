/**
 * `forward_host_credentials` with the real `codex` binary: the host's Codex
 * auth file (a ChatGPT sign-in) is read into the egress sidecar at launch
 * only; planning never opens it; the agent holds a file of the same shape
 * with placeholders; the proxy injects the real access token upstream (an
 * HTTPS stand-in of chatgpt.com's Codex backend, reached through the proxy).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, open, openSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { agentSh, docker, labelled, makeHome, run, startDetached, type TestHome } from './helpers.js';
import { SELF_DUMP } from './provider-kit.js';
import { startStandIn, type StandIn } from './standins.js';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
/** A JWT as ChatGPT issues them: claims Codex reads, and a signature that is the secret part. */
const jwt = (claims: Record<string, unknown>, signature: string) => `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(claims)}.${signature}`;

const ACCOUNT = 'acct-standin-7f3e';
const AUTH_CLAIM = { 'https://api.openai.com/auth': { chatgpt_plan_type: 'plus', chatgpt_account_id: ACCOUNT, chatgpt_user_id: 'user-standin' } };
const exp = Math.floor(Date.now() / 1000) + 3600;
const ACCESS_SIG = randomBytes(48).toString('base64url');
const ACCESS = jwt({ ...AUTH_CLAIM, exp, iat: exp - 7200, scp: ['openid'] }, ACCESS_SIG);
const ID_SIG = randomBytes(48).toString('base64url');
const ID_TOKEN = jwt({ ...AUTH_CLAIM, email: 'someone@example.com', exp }, ID_SIG);
const REFRESH = `rt_${randomBytes(36).toString('base64url')}`;
const SECRETS = { access: ACCESS, access_signature: ACCESS_SIG, id_token: ID_TOKEN, id_signature: ID_SIG, refresh: REFRESH };

const AUTH_FILE = JSON.stringify({
  auth_mode: 'chatgpt',
  OPENAI_API_KEY: null,
  tokens: { id_token: ID_TOKEN, access_token: ACCESS, refresh_token: REFRESH, account_id: ACCOUNT },
  last_refresh: new Date().toISOString(),
});

function assertNoSecret(text: string, where: string): void {
  for (const [name, value] of Object.entries(SECRETS)) assert.ok(!text.includes(value), `${where} holds the host's ${name}`);
}

describe('codex forward_host_credentials', () => {
  let h: TestHome;
  let standIn: StandIn;
  let codexHome: string;
  let authPath: string;

  before(async () => {
    h = makeHome();
    codexHome = join(h.env.HOME ?? h.home, 'host-codex');
    mkdirSync(codexHome, { recursive: true });
    authPath = join(codexHome, 'auth.json');
    writeFileSync(authPath, AUTH_FILE, { mode: 0o600 });
    h.env.CODEX_HOME = codexHome;
    standIn = await startStandIn('openai', { command: `printf 'tool ran as '; whoami`, finalPrefix: 'FINAL: ' }, h.home);
    h.writeBottle(
      'fwd',
      `---
agent_provider:
  template: codex
  forward_host_credentials: true
supervise: false
egress:
  hosts: {chatgpt.com: ${standIn.address}, api.openai.com: ${standIn.address}}
  ca_certs: [${standIn.caFile}]
---
`,
    );
    h.writeAgent('coder', '---\nbottle: fwd\n---\nYou are the forward-credentials test agent.\n');
  });

  after(async () => {
    await standIn?.close();
    await h?.cleanup();
  });

  it('planning (--dry-run) never opens the auth file, and names it as a need', async () => {
    // A FIFO in its place: whoever opens it for reading is seen by the writer's open resolving.
    rmSync(authPath);
    execFileSync('mkfifo', ['-m', '600', authPath]);
    let opened = false;
    const writer = new Promise<void>((resolve) => {
      open(authPath, 'w', (err, fd) => {
        if (err) return resolve();
        opened = true;
        try {
          // Let a reader that did open it finish (it then reads what a real file holds).
          writeFileSync(fd, AUTH_FILE);
        } catch {
          // our own unblocking reader (below) has gone already
        }
        closeSync(fd);
        resolve();
      });
    });
    try {
      const dry = await run(['start', 'coder', '--dry-run', '--json'], { env: h.env, cwd: h.cwd, timeoutMs: 60_000 });
      assert.equal(dry.code, 0, dry.stderr);
      const checked = await run(['validate', '--json'], { env: h.env, cwd: h.cwd, timeoutMs: 60_000 });
      assert.equal(checked.code, 0, checked.stdout + checked.stderr);
      assert.equal(opened, false, 'planning opened the host credential file');
      const plan = JSON.parse(dry.stdout) as { needs: unknown[] };
      assert.deepEqual(
        plan.needs.filter((n) => (n as { key: string }).key === 'agent_provider.forward_host_credentials'),
        [{ key: 'agent_provider.forward_host_credentials', source: 'file', from: authPath, available: true, required: true }],
      );
      assert.match(dry.stdout, /read at launch/);
    } finally {
      // Unblock our own writer by opening the FIFO for reading once, then put the real file back.
      if (!opened) closeSync(openSync(authPath, 'r'));
      await writer;
      rmSync(authPath, { force: true });
      writeFileSync(authPath, AUTH_FILE, { mode: 0o600 });
    }
  });

  it('a headless run: the real access token reaches the stand-in, only through the proxy', async () => {
    const r = await run(['start', 'coder', '--headless', '--prompt', 'run the check'], { env: h.env, cwd: h.cwd });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /FINAL: [\s\S]*tool ran as agent/);
    const responses = standIn.requests.filter((q) => q.path.startsWith('/backend-api/codex/responses'));
    assert.ok(responses.length >= 2, `a tool turn and a final turn: ${standIn.requests.map((q) => `${q.method} ${q.path}`).join(', ')}`);
    for (const q of responses) assert.equal(q.headers.authorization, `Bearer ${ACCESS}`, 'the proxy injected the host access token');
    for (const q of standIn.requests) {
      assert.ok(!q.path.startsWith('/v1/') || q.headers.authorization !== `Bearer ${ACCESS}`, 'the token never goes to another host');
      assert.ok(!JSON.stringify(q.headers).includes(REFRESH) && !q.body.includes(REFRESH), 'the refresh token never leaves the host');
    }
  });

  it('a detached bottle holds placeholders only: env, files, docker inspect', async () => {
    const id = await startDetached(h, 'coder');
    const dump = await agentSh(h, id, SELF_DUMP);
    assert.equal(dump.code, 0, dump.stderr);
    assert.ok(dump.stdout.includes('.codex/auth.json'), 'the dump covered the auth file');
    assertNoSecret(dump.stdout, 'the agent');
    const agentAuth = JSON.parse((await agentSh(h, id, 'cat "$HOME/.codex/auth.json"')).stdout) as { tokens: { account_id: string; access_token: string } };
    assert.equal(agentAuth.tokens.account_id, ACCOUNT, 'same shape: the non-secret account id');
    assert.match(agentAuth.tokens.access_token, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'JWT-shaped placeholder');
    for (const c of await labelled('ps', id)) assertNoSecret(await docker(['inspect', c]), `docker inspect ${c}`);
    const listing = await run(['list', '--json'], { env: h.env });
    assertNoSecret(listing.stdout + listing.stderr, 'list');
    const logs = await run(['logs', id], { env: h.env });
    assertNoSecret(logs.stdout + logs.stderr, 'logs');
  });
});
