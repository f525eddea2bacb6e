import assert from 'node:assert/strict';
import * as http from 'node:http';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { parseBuildProxyConfig, startBuildProxy } from './build-proxy.js';

/** Send raw bytes to the proxy; everything it answers until it closes (or 2 s pass). */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => s.write(text));
    let out = '';
    s.on('data', (d: Buffer) => {
      out += d.toString('latin1');
      if (out.includes('tunnel-ok')) s.end();
    });
    s.setTimeout(2000, () => s.destroy());
    s.on('close', () => resolve(out));
    s.on('error', () => resolve(out));
  });
}

describe('build proxy', () => {
  let tcp: Server;
  let mirror: http.Server;
  let proxy: http.Server;
  let port = 0;
  const seen: string[] = [];

  before(async () => {
    tcp = createServer((s) => s.end('tunnel-ok\n'));
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    mirror = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.end('deb\n');
    });
    await new Promise<void>((r) => mirror.listen(0, '127.0.0.1', r));
    const config = parseBuildProxyConfig(
      JSON.stringify({
        port: 0,
        routes: [{ host: 'routed.test', port: (tcp.address() as AddressInfo).port }],
        mirrors: [{ host: 'mirror.test', port: (mirror.address() as AddressInfo).port }],
        hosts: { 'routed.test': '127.0.0.1', 'mirror.test': '127.0.0.1', 'other.test': '127.0.0.1' },
      }),
    );
    proxy = await startBuildProxy(config, () => undefined, '127.0.0.1');
    port = (proxy.address() as AddressInfo).port;
  });

  after(() => {
    proxy.close();
    tcp.close();
    mirror.close();
  });

  it("tunnels CONNECT to the bottle's routes only", async () => {
    const tcpPort = (tcp.address() as AddressInfo).port;
    assert.match(await raw(port, `CONNECT routed.test:${tcpPort} HTTP/1.1\r\n\r\n`), /200 Connection Established[\s\S]*tunnel-ok/);
    for (const authority of [`other.test:${tcpPort}`, `127.0.0.1:${tcpPort}`, `routed.test:${tcpPort + 1}`, `2130706433:${tcpPort}`]) {
      assert.match(await raw(port, `CONNECT ${authority} HTTP/1.1\r\n\r\n`), /^HTTP\/1\.1 403 /, authority);
    }
  });

  it('lets plain GET and HEAD through to package mirrors only', async () => {
    const mirrorPort = (mirror.address() as AddressInfo).port;
    assert.match(await raw(port, `GET http://mirror.test:${mirrorPort}/debian/dists/bookworm/InRelease HTTP/1.1\r\nHost: mirror.test\r\nConnection: close\r\n\r\n`), /^HTTP\/1\.1 200 [\s\S]*deb/);
    assert.deepEqual(seen, ['GET /debian/dists/bookworm/InRelease']);
    assert.match(await raw(port, `POST http://mirror.test:${mirrorPort}/x HTTP/1.1\r\nHost: mirror.test\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`), /^HTTP\/1\.1 403 /);
    assert.match(await raw(port, `GET http://other.test:${mirrorPort}/x HTTP/1.1\r\nHost: other.test\r\nConnection: close\r\n\r\n`), /^HTTP\/1\.1 403 /);
    assert.match(await raw(port, `GET /x HTTP/1.1\r\nHost: mirror.test\r\nConnection: close\r\n\r\n`), /^HTTP\/1\.1 400 /);
    assert.equal(seen.length, 1);
  });

  it('refuses a configuration that is not what it should be', () => {
    assert.throws(() => parseBuildProxyConfig('{"routes":[{"host":"10.0.0.1","port":443}]}'), /host name/);
    assert.throws(() => parseBuildProxyConfig('{"mirrors":[{"host":"x.test","port":0}]}'), /port/);
  });
});
