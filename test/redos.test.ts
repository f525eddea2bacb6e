/**
 * A route regex that a backtracking engine takes exponential time on
 * (`/(a+)+`) is served in linear time: the real proxy (`egress serve`, real
 * TLS interception, a real HTTPS upstream) answers a 10 KB crafted path while
 * an ordinary request through the same proxy is answered too. With V8's
 * RegExp the crafted request would never be answered (2^10000 paths) and
 * would hold the proxy's only thread. Timings are printed, not asserted
 * (bench/redos.ts measures them).
 */
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:https';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createCa, LeafMinter } from '../src/sidecars/egress/certs.js';
import { CLI, makeHome, type TestHome } from './helpers.js';

const execFileP = promisify(execFile);

describe('a catastrophic route regex', () => {
  let h: TestHome;
  let upstream: Server;
  let proxy: ChildProcessWithoutNullStreams;
  let proxyPort = 0;
  let port = 0;
  const caOut = () => join(h.home, 'proxy-ca.pem');

  before(async () => {
    const ca = await createCa('redos-upstream');
    const minter = new LeafMinter(ca);
    upstream = createServer({ SNICallback: (name, cb) => void minter.contextFor(name).then((ctx) => cb(null, ctx), (e: Error) => cb(e)) }, (req, res) => res.end(`upstream saw ${req.url?.length ?? 0} bytes of path\n`));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    port = (upstream.address() as { port: number }).port;
    h = makeHome();
    const caFile = join(h.home, 'upstream-ca.pem');
    writeFileSync(caFile, ca.certPem);
    h.writeBottle(
      'redos',
      `---
agent_provider: {template: shell}
egress:
  hosts: {api.test: 127.0.0.1}
  ca_certs: [${caFile}]
  routes:
    - host: api.test:${port}
      matches:
        - paths: [{type: regex, value: "/(a+)+"}, {type: prefix, value: /ok}]
---
`,
    );
    proxy = spawn(process.execPath, [CLI, 'egress', 'serve', '--bottle', 'redos', '--listen', '127.0.0.1:0', '--ca-out', caOut()], { env: h.env });
    proxy.stdin.end();
    proxyPort = await new Promise<number>((resolve, reject) => {
      let out = '';
      proxy.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening on 127\.0\.0\.1:([0-9]+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      proxy.on('exit', (code) => reject(new Error(`egress serve exited ${code}: ${out}`)));
    });
  });
  after(async () => {
    proxy?.kill('SIGTERM');
    upstream?.close();
    await h?.cleanup();
  });

  /** One request through the proxy: "<status> <seconds>". --max-time is only a liveness bound. */
  const curl = async (path: string): Promise<{ status: string; seconds: number }> => {
    const { stdout } = await execFileP('curl', ['-s', '-o', '/dev/null', '--max-time', '120', '-w', '%{http_code} %{time_total}', '--proxy', `http://127.0.0.1:${proxyPort}`, '--cacert', caOut(), `https://api.test:${port}${path}`]).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? '000 120' }));
    const [status = '', seconds = '0'] = stdout.trim().split(' ');
    return { status, seconds: Number(seconds) };
  };

  it('is accepted and matched in linear time: a 10 KB crafted path is answered, and so is a request beside it', async () => {
    const crafted = `/${'a'.repeat(10 * 1024)}!`;
    const [attack, beside] = await Promise.all([curl(crafted), (async () => {
      await new Promise((r) => setTimeout(r, 50));
      return curl('/ok/health');
    })()]);
    process.stdout.write(`# crafted 10 KB path: ${attack.status} in ${attack.seconds} s; request beside it: ${beside.status} in ${beside.seconds} s\n`);
    assert.equal(attack.status, '403', 'the crafted path does not match the route and is refused');
    assert.equal(beside.status, '200', 'the other request is served');
    assert.equal((await curl(`/${'a'.repeat(10 * 1024)}`)).status, '200', 'the pattern still matches what it should');
  });
});
