// Mirror refresh against a real HTTPS upstream (a local TLS server in front of
// `git http-backend`) that demands the bottle's token: the token reaches git
// through the environment and a header scoped to the upstream's origin.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runHttpBackend } from './cgi.js';
import { parseGitGateConfig, type GitGateConfig } from './config.js';
import { upstreamEnv } from './git.js';
import { ensureMirror, installHook, mirrorPath, refreshMirror } from './mirror.js';

const TOKEN = 'glpat-Zq8vYt2LmN4pR6sT0wXa';

describe('git-gate mirror refresh over HTTPS with a token', () => {
  let dir: string;
  let server: Server;
  let cfg: GitGateConfig;
  let seen: string[] = [];
  const gitEnv = () => ({ ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: dir });
  const git = (...a: string[]) => execFileSync('git', a, { env: gitEnv(), encoding: 'utf8' }).trim();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bb-gg-https-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    git('init', '-q', '--bare', '--initial-branch=trunk', join(dir, 'up', 'r.git'));
    git('init', '-q', '--initial-branch=trunk', join(dir, 'w'));
    git('-C', join(dir, 'w'), '-c', 'user.name=t', '-c', 'user.email=t@x', 'commit', '-q', '--allow-empty', '-m', 'one');
    git('-C', join(dir, 'w'), 'tag', 'v1');
    git('-C', join(dir, 'w'), 'push', '-q', join(dir, 'up', 'r.git'), 'trunk', 'trunk:gone', 'v1');

    const want = `Basic ${Buffer.from(`x-access-token:${TOKEN}`).toString('base64')}`;
    server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (req, res) => {
      seen.push(req.headers.authorization ?? '');
      if (req.headers.authorization !== want) {
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="t"' }).end();
        return;
      }
      const u = new URL(req.url ?? '/', 'https://x');
      void runHttpBackend(req, res, { projectRoot: join(dir, 'up'), pathInfo: u.pathname, query: u.search.slice(1), env: { PATH: process.env.PATH ?? '', HOME: dir, GIT_CONFIG_NOSYSTEM: '1' } });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;

    mkdirSync(join(dir, 'secrets'));
    writeFileSync(join(dir, 'secrets', 'tok'), `${TOKEN}\n`, { mode: 0o600 });
    cfg = parseGitGateConfig({
      identity: 't',
      mirrorRoot: join(dir, 'gate'),
      secretsDir: join(dir, 'secrets'),
      fetchTimeoutMs: 5000,
      repos: { r: { url: `https://127.0.0.1:${port}/r.git`, transport: 'https', tokenSecret: 'tok' } },
    });
    const hook = await installHook([join(dir, 'gate', 'hooks')], [process.execPath, '-e', 'process.exit(0)']);
    assert.ok(!('dir' in hook), 'a hook that does not answer the self-test is not accepted');
    await ensureMirror(cfg, 'r', join(dir, 'gate', 'hooks'));
  });
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('puts the token in the environment only, scoped to the upstream origin', async () => {
    const env = await upstreamEnv(cfg, 'r', cfg.repos.r);
    assert.equal(env.GIT_CONFIG_KEY_1, `http.${new URL(cfg.repos.r.url).origin}/.extraHeader`);
    assert.match(env.GIT_CONFIG_VALUE_1 ?? '', /^Authorization: Basic /);
    assert.equal(env.GIT_TERMINAL_PROMPT, '0');
  });

  it('refreshes the mirror (heads, tags, default branch), then prunes what upstream dropped', async () => {
    process.env.GIT_SSL_CAINFO = join(dir, 'cert.pem');
    try {
      seen = [];
      const r = await refreshMirror(cfg, 'r', cfg.repos.r);
      assert.deepEqual(r.ok ? 'ok' : r.reason, 'ok');
      assert.ok(seen.length > 0 && seen.every((h) => h.startsWith('Basic ')), 'every request carried the token');
      const m = mirrorPath(cfg, 'r');
      const refs = () => git('-C', m, 'for-each-ref', '--format=%(refname)').split('\n').sort();
      assert.deepEqual(refs(), ['refs/heads/gone', 'refs/heads/trunk', 'refs/tags/v1']);
      assert.equal(git('-C', m, 'symbolic-ref', 'HEAD'), 'refs/heads/trunk', 'HEAD follows upstream');

      git('-C', join(dir, 'up', 'r.git'), 'branch', '-D', 'gone');
      assert.equal((await refreshMirror(cfg, 'r', cfg.repos.r)).ok, true);
      assert.deepEqual(refs(), ['refs/heads/trunk', 'refs/tags/v1']);
    } finally {
      delete process.env.GIT_SSL_CAINFO;
    }
  });

  it('fails closed with the reason on a wrong token, and without the token file', async () => {
    process.env.GIT_SSL_CAINFO = join(dir, 'cert.pem');
    try {
      writeFileSync(join(dir, 'secrets', 'tok'), 'wrong-token');
      const bad = await refreshMirror(cfg, 'r', cfg.repos.r);
      assert.equal(bad.ok, false);
      assert.match(bad.reason ?? '', /Authentication failed|could not read Username|401/);
      rmSync(join(dir, 'secrets', 'tok'));
      const none = await refreshMirror(cfg, 'r', cfg.repos.r);
      assert.equal(none.ok, false);
      assert.match(none.reason ?? '', /credential tok not available \(ENOENT/);
    } finally {
      delete process.env.GIT_SSL_CAINFO;
      writeFileSync(join(dir, 'secrets', 'tok'), TOKEN);
    }
  });
});
