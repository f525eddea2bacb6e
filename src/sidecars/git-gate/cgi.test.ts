// The CGI bridge against the host's real `git http-backend`: plain and gzipped
// request bodies, protocol v2, CGI status lines, and a real clone through it.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { parseCgiHeaders, runHttpBackend } from './cgi.js';

const execFileP = promisify(execFile);
const pkt = (s: string) => (s.length + 4).toString(16).padStart(4, '0') + s;

describe('git-gate CGI bridge', () => {
  let dir: string;
  let server: Server;
  let port = 0;
  let head = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bb-gg-cgi-'));
    const env = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: dir };
    const git = (...a: string[]) => execFileSync('git', a, { env, encoding: 'utf8' }).trim();
    git('init', '-q', '--bare', '--initial-branch=main', join(dir, 'repos', 'r.git'));
    git('init', '-q', '--initial-branch=main', join(dir, 'w'));
    git('-C', join(dir, 'w'), '-c', 'user.name=t', '-c', 'user.email=t@x', 'commit', '-q', '--allow-empty', '-m', 'one');
    git('-C', join(dir, 'w'), 'push', '-q', join(dir, 'repos', 'r.git'), 'main');
    head = git('-C', join(dir, 'w'), 'rev-parse', 'HEAD');
    server = createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      void runHttpBackend(req, res, { projectRoot: join(dir, 'repos'), pathInfo: u.pathname, query: u.search.slice(1), env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, GIT_CONFIG_NOSYSTEM: '1' } });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (body: Buffer, headers: Record<string, string>) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ port, path: '/r.git/git-upload-pack', method: 'POST', headers }, (res) => {
        let b = '';
        res.on('data', (d: Buffer) => (b += d.toString('latin1')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
      });
      req.on('error', reject);
      req.end(body);
    });

  for (const gz of [false, true]) {
    it(`protocol v2 ls-refs with a ${gz ? 'gzipped' : 'plain'} body`, async () => {
      const raw = Buffer.from(pkt('command=ls-refs\n') + pkt('object-format=sha1\n') + '0001' + pkt('peel\n') + '0000');
      const r = await post(gz ? gzipSync(raw) : raw, {
        'Content-Type': 'application/x-git-upload-pack-request',
        'Git-Protocol': 'version=2',
        ...(gz ? { 'Content-Encoding': 'gzip' } : { 'Content-Length': String(raw.length) }),
      });
      assert.equal(r.status, 200);
      assert.ok(r.body.includes(`${head} refs/heads/main`), r.body);
    });
  }

  it('passes CGI status lines through and refuses an unknown encoding', async () => {
    const bad = await post(Buffer.from('x'), { 'Content-Type': 'application/x-git-upload-pack-request', 'Content-Encoding': 'br' });
    assert.equal(bad.status, 415);
    const missing = await new Promise<number>((resolve) => {
      request({ port, path: '/nope.git/info/refs?service=git-upload-pack' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).end();
    });
    assert.equal(missing, 404);
    assert.deepEqual(parseCgiHeaders('Status: 403 Forbidden\r\nContent-Type: text/plain\r\nX-A: b: c'), {
      status: 403,
      headers: [
        ['Content-Type', 'text/plain'],
        ['X-A', 'b: c'],
      ],
    });
  });

  it('serves a real clone, protocol v0 and v2', async () => {
    for (const v of ['0', '2']) {
      const out = join(dir, `clone-v${v}`);
      // Async: the server runs in this process.
      await execFileP('git', ['-c', `protocol.version=${v}`, 'clone', '-q', `http://127.0.0.1:${port}/r.git`, out], { env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: dir } });
      assert.equal(execFileSync('git', ['-C', out, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim(), head);
    }
  });
});
