/**
 * The egress proxy in a real bottle: real TLS interception with the bottle's
 * CA, an HTTPS upstream the test runs on this machine (mapped with
 * egress.hosts, trusted with egress.ca_certs), token injection, DLP, and a
 * proxy crash that must fail closed.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { hostAddresses } from '../src/demo/run.js';
import { createCa, LeafMinter } from '../src/sidecars/egress/certs.js';
import { zstdStored } from './zstd-frame.js';
import { agentSh, docker, makeHome, run, startDetached, type TestHome, waitUntil } from './helpers.js';

const TOKEN = 'host-only-token-7c1d9e2f4a';
const KNOWN = 'my-bottle-known-secret-5b8e1c';

interface Seen {
  method: string;
  url: string;
  auth: string | undefined;
  body: string;
}

describe('egress proxy in a bottle', () => {
  let h: TestHome;
  let id: string;
  let server: Server;
  let port: number;
  const seen: Seen[] = [];
  const url = (path: string) => `https://api.test:${port}${path}`;
  /** curl through the proxy; prints "<status> <reason-header>". */
  const curl = (args: string) => agentSh(h, id, `curl -sS -o /dev/null -D /tmp/h -w '%{http_code}' ${args}; echo " $(grep -i '^x-bot-bottle-reason' /tmp/h | tr -d '\\r' | cut -d' ' -f2)"`);

  before(async () => {
    const ca = await createCa('test-upstream');
    const minter = new LeafMinter(ca);
    server = createServer({ SNICallback: (name, cb) => void minter.contextFor(name).then((ctx) => cb(null, ctx), (e: Error) => cb(e)) }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', auth: req.headers.authorization, body: Buffer.concat(chunks).toString('latin1') });
        res.end('upstream says hi\n');
      });
    });
    await new Promise<void>((r) => server.listen(0, '0.0.0.0', r));
    port = (server.address() as { port: number }).port;
    h = makeHome({ TEST_TOKEN: TOKEN, TEST_KNOWN: KNOWN });
    const caFile = join(h.home, 'upstream-ca.pem');
    writeFileSync(caFile, ca.certPem);
    const hostIp = hostAddresses()[0];
    assert.ok(hostIp);
    h.writeBottle(
      'web',
      `---
agent_provider: {template: shell}
supervise: true
env:
  KNOWN: "\${TEST_KNOWN}"
egress:
  hosts: {api.test: ${hostIp}, held.test: ${hostIp}, scrub.test: ${hostIp}}
  ca_certs: [${caFile}]
  routes:
    - host: api.test:${port}
      matches:
        - paths: [{type: prefix, value: /v1/}]
          methods: [GET, POST]
      auth: {scheme: Bearer, token_ref: TEST_TOKEN}
      dlp: {on_match: block}
    - host: held.test:${port}
      dlp: {on_match: supervise}
    - host: scrub.test:${port}
      dlp: {on_match: redact}
---
`,
    );
    h.writeAgent('web', '---\nbottle: web\n---\n');
    id = await startDetached(h, 'web');
  });

  after(async () => {
    server.close();
    await h.cleanup();
  });

  it('allows the route through the bumped TLS path and injects the host token', async () => {
    const r = await agentSh(h, id, `curl -sS -H 'Authorization: Bearer agent-made-this-up' ${url('/v1/items')}`);
    assert.equal(r.stdout, 'upstream says hi\n', r.stderr);
    const last = seen.at(-1);
    assert.equal(last?.url, '/v1/items');
    assert.equal(last?.auth, `Bearer ${TOKEN}`, 'the agent\'s Authorization is replaced by the host token');
  });

  it('denies other paths, methods and hosts with a reason', async () => {
    assert.equal((await curl(url('/admin'))).stdout.trim(), '403 path-not-allowed');
    assert.match((await curl(`-X DELETE ${url('/v1/items')}`)).stdout.trim(), /^403 /);
    const other = await agentSh(h, id, `curl -s -o /dev/null -w '%{http_connect}' https://other.test:${port}/`);
    assert.equal(other.stdout, '403');
  });

  it('refuses IP-literal CONNECT, unrouted ports, Host mismatch and DoH', async () => {
    const hostIp = hostAddresses()[0];
    assert.equal((await agentSh(h, id, `curl -s -o /dev/null -w '%{http_connect}' https://${hostIp}:${port}/`)).stdout, '403');
    assert.equal((await agentSh(h, id, `curl -s -o /dev/null -w '%{http_connect}' https://api.test:${port + 1}/`)).stdout, '403');
    assert.match((await curl(`-H 'Host: other.test' ${url('/v1/x')}`)).stdout.trim(), /^403 host-mismatch/);
    assert.match((await curl(`-H 'accept: application/dns-json' '${url('/v1/dns-query?name=example.com')}'`)).stdout.trim(), /^403 /);
  });

  it('blocks credentials and known secrets however they are encoded', async () => {
    const aws = `AKIA${'QZ7X2M4K9P3R6T5W'}`;
    const known64 = Buffer.from(KNOWN).toString('base64');
    const knownHex = Buffer.from(KNOWN).toString('hex');
    const gz = gzipSync(`{"key":"${aws}"}`).toString('base64');
    assert.equal((await agentSh(h, id, `echo ${gz} | base64 -d > /tmp/body.gz`)).code, 0);
    // The bundle's Node 22 decodes zstd (Codex sends it): it is scanned, not refused as unreadable.
    const zst = zstdStored(`{"key":"${aws}"}`).toString('base64');
    assert.equal((await agentSh(h, id, `echo ${zst} | base64 -d > /tmp/body.zst`)).code, 0);
    const cases: [string, string][] = [
      ['query', `'${url(`/v1/q?k=${aws}`)}'`],
      ['path', `'${url(`/v1/keys/${aws}`)}'`],
      ['multipart', `-F 'file=@-;filename=creds.txt' ${url('/v1/m')} <<< 'aws=${aws}'`],
      ['gzip body', `-X POST -H 'content-type: application/json' -H 'content-encoding: gzip' --data-binary @/tmp/body.gz ${url('/v1/gz')}`],
      ['zstd body', `-X POST -H 'content-type: application/json' -H 'content-encoding: zstd' --data-binary @/tmp/body.zst ${url('/v1/zst')}`],
      ['header', `-H 'X-Debug: ${aws}' ${url('/v1/h')}`],
      ['cookie', `-b 'session=${aws}' ${url('/v1/c')}`],
      ['json escaped', `-X POST -H 'content-type: application/json' --data-binary '{"k":"\\u0041KIA${aws.slice(4)}"}' ${url('/v1/j')}`],
      ['form', `-X POST --data-urlencode 'k=${aws}' ${url('/v1/f')}`],
      ['chunked', `-X POST -H 'Transfer-Encoding: chunked' --data-binary 'k=${aws}' ${url('/v1/ch')}`],
      ['known base64', `-X POST --data-binary 'x=${known64}' ${url('/v1/b64')}`],
      ['known hex', `-X POST --data-binary 'x=${knownHex}' ${url('/v1/hex')}`],
      ['known url-encoded', `'${url(`/v1/u?x=${encodeURIComponent(KNOWN)}`)}'`],
    ];
    const before = seen.length;
    for (const [what, args] of cases) {
      const r = await curl(args);
      assert.match(r.stdout.trim(), /^403 dlp-blocked/, `${what}: ${r.stdout} ${r.stderr}`);
    }
    assert.equal(seen.length, before, 'no blocked request reached the upstream');
  });

  it('redacts credentials on a redact route and forwards the rest', async () => {
    const aws = 'AKIAQZ7X2M4K9P3R6T5W';
    const r = await agentSh(h, id, `curl -sS -o /dev/null -w '%{http_code}' -X POST --data-binary 'note=deploy with ${aws} today' https://scrub.test:${port}/notes`);
    assert.equal(r.stdout, '200', r.stderr);
    const got = seen.at(-1);
    assert.equal(got?.url, '/notes');
    assert.ok(got && !got.body.includes(aws), 'the key never reached the upstream');
    assert.match(got?.body ?? '', /^note=deploy with .*REDACTED.* today$/);
  });

  it('holds a supervised request until a human approves it, or refuses it on rejection', async () => {
    const aws = 'AKIAHELDQZ7X2M4K9P3R';
    const pending = agentSh(h, id, `curl -sS -o /dev/null -w '%{http_code}' --max-time 60 -X POST --data-binary 'k=${aws}' https://held.test:${port}/up`);
    const proposal = await waitForProposal(h, id);
    const approved = await run(['approve', proposal, '--note', 'test fixture, not a real key'], { env: h.env });
    assert.equal(approved.code, 0, approved.stderr);
    assert.equal((await pending).stdout, '200');

    const refused = agentSh(h, id, `curl -sS -o /dev/null -w '%{http_code}' --max-time 60 -X POST --data-binary 'k=${aws}' https://held.test:${port}/again`);
    const second = await waitForProposal(h, id, proposal);
    assert.equal((await run(['reject', second, '--reason', 'no keys to that host'], { env: h.env })).code, 0);
    assert.equal((await refused).stdout, '403');
  });

  it('never shows the token to the agent: env, files, docker inspect, state', async () => {
    const env = await agentSh(h, id, 'printenv; cat /run/bot-bottle/env 2>/dev/null; grep -rl "' + TOKEN + '" / --exclude-dir=proc --exclude-dir=sys 2>/dev/null | head -3');
    assert.ok(!env.stdout.includes(TOKEN), 'agent sees no token');
    assert.match(env.stdout, /HTTPS_PROXY=http:\/\/bundle:3128/);
    for (const ctr of [`bot-bottle-${id}-agent`, `bot-bottle-${id}-bundle`]) assert.ok(!(await docker(['inspect', ctr])).includes(TOKEN));
    for (const f of walk(join(h.home, 'state', id))) assert.ok(!readFileSync(f, 'utf8').includes(TOKEN), f);
    const logs = await run(['logs', id, '--json'], { env: h.env });
    assert.ok(logs.stdout.includes('"verdict"'), 'audit log has entries');
    assert.ok(!logs.stdout.includes(TOKEN) && !logs.stdout.includes(KNOWN), 'audit log holds no secret');
  });

  it('fails closed when the proxy crashes, and works again once the init restarts it', async () => {
    const healthOf = async () => JSON.parse(await docker(['exec', `bot-bottle-${id}-bundle`, 'cat', '/run/bot-bottle/health.json'])) as { services: { egress: { pid: number; restarts: number } } };
    const { pid, restarts } = (await healthOf()).services.egress;
    // The agent polls without pause while the proxy is killed: each answer is a
    // status code, 000 when nothing answered. Nothing may get through another way.
    // Every step waits for an event (the first answer, the proxy back), never a guessed time.
    const poll = `curl -s -o /dev/null -w '%{http_code}\\n' --max-time 1 ${url('/v1/poll')} >> /tmp/codes`;
    const polling = agentSh(h, id, `rm -f /tmp/codes /tmp/stop; until [ -e /tmp/stop ]; do ${poll}; done; cat /tmp/codes`);
    const codesSoFar = async (): Promise<string[]> => (await docker(['exec', `bot-bottle-${id}-agent`, 'cat', '/tmp/codes']).catch(() => '')).split('\n').filter(Boolean);
    await waitUntil('the agent got its first answer', async () => (await codesSoFar()).includes('200'));
    await docker(['exec', `bot-bottle-${id}-bundle`, 'sh', '-c', `kill -KILL ${pid}`]);
    await waitUntil('the proxy came back after failing', async () => {
      const c = await codesSoFar();
      const down = c.indexOf('000', c.indexOf('200'));
      return down > 0 && c.indexOf('200', down) > down;
    });
    await docker(['exec', `bot-bottle-${id}-agent`, 'touch', '/tmp/stop']);
    const codes = (await polling).stdout.trim().split('\n');
    assert.equal(codes.find((c) => c !== '000'), '200', `answers before the crash: ${codes.slice(0, 3).join(',')}`);
    assert.deepEqual([...new Set(codes)].sort(), ['000', '200'], 'every request either went through the proxy or failed');
    assert.equal(codes.at(-1), '200', 'the proxy came back');
    assert.ok((await healthOf()).services.egress.restarts > restarts, 'the init restarted it');
  });
});

async function waitForProposal(h: TestHome, id: string, not?: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const r = await run(['proposals', '--json'], { env: h.env });
    const list = JSON.parse(r.stdout || '[]') as { id: string; bottle: string; state: string }[];
    const p = list.find((x) => x.bottle === id && x.state === 'pending' && x.id !== not);
    if (p) return p.id;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('no pending proposal appeared');
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    return d.isDirectory() ? walk(p) : statSync(p).size < 4_000_000 ? [p] : [];
  });
}
