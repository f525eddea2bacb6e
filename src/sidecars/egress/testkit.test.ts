/**
 * Test helpers (no tests here): a TLS upstream with its own CA, a proxy on
 * loopback, and a client that CONNECTs through it trusting only the proxy's CA.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { connect as netConnect, type AddressInfo } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, LeafMinter, type CaMaterial } from './certs.js';
import { parseEgressConfig, type EgressConfig } from './config.js';
import { EgressProxy } from './proxy.js';

export interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface Upstream {
  port: number;
  ca: CaMaterial;
  caFile: string;
  seen: Seen[];
  close(): Promise<void>;
}

/** An HTTPS origin on 127.0.0.1 whose certificates come from its own CA (any SNI name). */
export async function startUpstream(dir: string, handler?: (req: http.IncomingMessage, body: Buffer, res: http.ServerResponse) => boolean): Promise<Upstream> {
  const ca = await createCa('upstream-test');
  const minter = new LeafMinter(ca);
  const seen: Seen[] = [];
  const server = https.createServer(
    {
      SNICallback: (name, cb) => {
        minter.contextFor(name).then(
          (c) => cb(null, c),
          (e: Error) => cb(e),
        );
      },
    },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        if (handler?.(req, body, res)) return;
        const out = Buffer.from(JSON.stringify({ method: req.method, url: req.url, bytes: body.length }));
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': out.length });
        res.end(out);
      });
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const caFile = join(dir, `upstream-ca-${Math.random().toString(36).slice(2)}.pem`);
  writeFileSync(caFile, ca.certPem);
  return {
    port: (server.address() as AddressInfo).port,
    ca,
    caFile,
    seen,
    close: () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

const madeDirs: string[] = [];

/** A temp folder, removed when the test file's process exits (callers keep using it until their last check). */
export function tempDir(): string {
  if (madeDirs.length === 0) {
    process.once('exit', () => {
      for (const d of madeDirs) rmSync(d, { recursive: true, force: true });
    });
  }
  const dir = mkdtempSync(join(tmpdir(), 'egress-test-'));
  madeDirs.push(dir);
  return dir;
}

export interface TestProxy {
  proxy: EgressProxy;
  port: number;
  ca: CaMaterial;
  config: EgressConfig;
  configPath: string;
  dir: string;
}

/** A proxy on 127.0.0.1 from a raw config object (paths default into `dir`). */
export async function startProxy(dir: string, raw: Record<string, unknown>): Promise<TestProxy> {
  const full = { identity: 'test-bottle', listen: { host: '127.0.0.1', port: 0 }, caDir: join(dir, 'ca'), ...raw };
  const configPath = join(dir, 'egress.json');
  writeFileSync(configPath, JSON.stringify(full, null, 2));
  const config = parseEgressConfig(full);
  const ca = await createCa('test-bottle');
  const proxy = new EgressProxy({ config, ca, configPath, log: () => undefined });
  const addr = await proxy.listen();
  return { proxy, port: addr.port, ca, config, configPath, dir };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function parseRawReply(text: string): Reply {
  const [head = '', ...rest] = text.split('\r\n\r\n');
  const lines = head.split('\r\n');
  const status = Number((lines[0] ?? '').split(' ')[1]);
  const headers: http.IncomingHttpHeaders = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status, headers, body: rest.join('\r\n\r\n') };
}

export interface TunnelOptions {
  proxyPort: number;
  proxyCa: string;
  /** CONNECT authority, e.g. `upstream.test:443`. */
  authority: string;
  /** SNI (default: the authority's host). `null`: none. */
  servername?: string | null;
  alpn?: string[];
}

/** CONNECT and TLS; resolves to the TLS socket, or to the proxy's refusal. */
export function tunnel(o: TunnelOptions): Promise<TLSSocket | Reply> {
  return new Promise((resolve, reject) => {
    const sock = netConnect(o.proxyPort, '127.0.0.1');
    let buf = '';
    sock.once('error', reject);
    sock.write(`CONNECT ${o.authority} HTTP/1.1\r\nHost: ${o.authority}\r\n\r\n`);
    const onData = (c: Buffer): void => {
      buf += c.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      const status = Number(buf.split(' ')[1]);
      if (status !== 200) {
        // Read the whole refusal.
        sock.on('data', (d: Buffer) => (buf += d.toString('latin1')));
        sock.on('close', () => resolve(parseRawReply(buf)));
        sock.off('data', onData);
        return;
      }
      sock.off('data', onData);
      const host = o.authority.slice(0, o.authority.lastIndexOf(':'));
      const sni = o.servername === undefined ? host : o.servername;
      const tls = tlsConnect({
        socket: sock,
        ...(sni === null ? {} : { servername: sni }),
        ca: [o.proxyCa],
        ALPNProtocols: o.alpn ?? ['http/1.1'],
        checkServerIdentity: () => undefined,
      });
      tls.once('secureConnect', () => resolve(tls));
      tls.once('error', reject);
    };
    sock.on('data', onData);
  });
}

export interface ReqOptions extends Partial<TunnelOptions> {
  proxyPort: number;
  proxyCa: string;
  authority?: string;
  method?: string;
  path?: string;
  headers?: Record<string, string | string[]>;
  body?: Buffer | string;
  /** Send the body chunked (no Content-Length). */
  chunked?: boolean;
  /** As curl does for a large body: `Expect: 100-continue`, the body only once the server says continue. */
  expectContinue?: boolean;
}

/** One request through the proxy: CONNECT, TLS, HTTP/1.1. */
export async function request(o: ReqOptions): Promise<Reply> {
  const authority = o.authority ?? 'upstream.test:443';
  const t = await tunnel({ ...o, authority });
  if (!('encrypted' in t)) return t;
  const host = authority.endsWith(':443') ? authority.slice(0, -4) : authority;
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        createConnection: () => t,
        method: o.method ?? 'GET',
        path: o.path ?? '/',
        headers: { host, ...(o.expectContinue ? { expect: '100-continue' } : {}), ...(o.headers ?? {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
          t.destroy();
        });
      },
    );
    req.on('error', reject);
    if (o.body !== undefined && o.expectContinue) {
      const body = o.body;
      req.once('continue', () => req.end(body));
      return;
    }
    if (o.body !== undefined) {
      if (o.chunked) {
        const b = Buffer.from(o.body);
        const mid = Math.floor(b.length / 2);
        req.write(b.subarray(0, mid));
        setTimeout(() => req.end(b.subarray(mid)), 5);
        return;
      }
      req.end(o.body);
    } else req.end();
  });
}

/** A plain-HTTP request straight to the proxy port (absolute or origin form). */
export function plain(port: number, target: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: target, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}
