/**
 * The escape suite's outside world, on this machine: an HTTPS server that
 * answers every name with a certificate from its own CA (the bottle trusts
 * it through `egress.ca_certs`) and behaves like the services an attacker
 * would aim at: httpbin-style echoes of the request (headers, body,
 * compressed), a debug error page, a response header that reflects the
 * credential, an open redirect. It records everything it receives, so a case
 * can ask whether its marker ever arrived anywhere outside the bottle.
 * A plain TCP listener stands for "any service on the host".
 */
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { createCa, LeafMinter } from '../../src/sidecars/egress/certs.js';

export interface Received {
  /** The TLS server name the client asked for. */
  readonly sni: string;
  readonly method: string;
  readonly url: string;
  readonly httpVersion: string;
  /** Header pairs exactly as they arrived. */
  readonly headers: readonly (readonly [string, string])[];
  readonly body: string;
}

export interface Upstream {
  readonly port: number;
  readonly caPem: string;
  /** Every request received, in order. */
  readonly received: Received[];
  /** Connections accepted on the plain TCP listener. */
  readonly tcpPort: number;
  tcpHits(): number;
  /** Did any request (any part of it) carry this text? */
  saw(marker: string): boolean;
  close(): Promise<void>;
}

function flat(req: IncomingMessage): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) out.push([req.rawHeaders[i] ?? '', req.rawHeaders[i + 1] ?? '']);
  return out;
}

function echo(r: Received): Record<string, unknown> {
  return { method: r.method, url: r.url, headers: Object.fromEntries(r.headers.map(([k, v]) => [k, v])), body: r.body };
}

function respond(r: Received, res: ServerResponse): void {
  const path = r.url.split('?')[0] ?? '/';
  const auth = r.headers.find(([k]) => k.toLowerCase() === 'authorization')?.[1];
  if (path.endsWith('/anything') || path.includes('/anything/') || path.endsWith('/headers')) {
    res.setHeader('content-type', 'application/json');
    return void res.end(JSON.stringify(echo(r), null, 2));
  }
  if (path.endsWith('/gzip')) {
    res.setHeader('content-type', 'application/json');
    res.setHeader('content-encoding', 'gzip');
    return void res.end(gzipSync(JSON.stringify(echo(r))));
  }
  if (path.endsWith('/reflect-header')) {
    // A service that hands the credential back in a header (debug headers, CORS-echo bugs).
    res.setHeader('x-echo-authorization', auth ?? '');
    return void res.end('reflected\n');
  }
  if (path.endsWith('/error')) {
    res.statusCode = 500;
    res.setHeader('content-type', 'text/html');
    const rows = r.headers.map(([k, v]) => `<tr><td>${k}</td><td>${v}</td></tr>`).join('');
    return void res.end(`<html><body><h1>Internal Server Error</h1><table>${rows}</table></body></html>`);
  }
  if (path.endsWith('/redirect')) {
    const to = new URL(r.url, 'https://x').searchParams.get('to') ?? '/';
    res.statusCode = 302;
    res.setHeader('location', to);
    return void res.end();
  }
  res.setHeader('content-type', 'text/plain');
  res.end(`ok ${r.method} ${r.url}\n`);
}

export async function startUpstream(): Promise<Upstream> {
  const ca = await createCa('escape-upstream');
  const minter = new LeafMinter(ca);
  const received: Received[] = [];
  const server: Server = createServer(
    { SNICallback: (name, cb) => void minter.contextFor(name).then((ctx) => cb(null, ctx), (e: Error) => cb(e)) },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const sni = (req.socket as { servername?: string | false }).servername;
        const r: Received = {
          sni: typeof sni === 'string' ? sni : '',
          method: req.method ?? '',
          url: req.url ?? '',
          httpVersion: req.httpVersion,
          headers: flat(req),
          body: Buffer.concat(chunks).toString('latin1'),
        };
        received.push(r);
        respond(r, res);
      });
    },
  );
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
  let hits = 0;
  const tcp: TcpServer = createTcpServer((s) => {
    hits++;
    s.on('error', () => undefined);
    s.end('you reached the host\n');
  });
  await new Promise<void>((resolve) => tcp.listen(0, '0.0.0.0', resolve));
  return {
    port: (server.address() as { port: number }).port,
    caPem: ca.certPem,
    received,
    tcpPort: (tcp.address() as { port: number }).port,
    tcpHits: () => hits,
    saw: (marker) => received.some((r) => `${r.sni} ${r.method} ${r.url} ${r.headers.map(([k, v]) => `${k}: ${v}`).join('\n')} ${r.body}`.includes(marker)),
    close: async () => {
      server.closeAllConnections();
      await Promise.all([new Promise((r) => server.close(r)), new Promise((r) => tcp.close(r))]);
    },
  };
}
