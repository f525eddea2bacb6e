/**
 * The tunnel: `CONNECT host:port` from the agent is refused for IP literals
 * (in every spelling inet_aton accepts), unrouted hosts and ports and public
 * DNS-over-HTTPS resolvers; otherwise the proxy answers 200 and terminates
 * TLS itself with a leaf minted for `host` (ALPN http/1.1 only, so HTTP/2 is
 * refused rather than tunnelled blind), and a TLS server name that differs
 * from the CONNECT host closes the tunnel. The decrypted stream is handed to
 * the inner HTTP server, tagged with its target.
 */
import type * as http from 'node:http';
import { isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { LeafMinter } from './certs.js';
import { validHostName } from './config.js';
import { auditDeny, type ProxyContext, type Target } from './exchange.js';
import { decideConnect } from './policy.js';
import { denyText, rawReply } from './reply.js';

/** Public DNS-over-HTTPS resolvers: refused at CONNECT unless a route names them. */
export const DOH_HOSTS: ReadonlySet<string> = new Set([
  'dns.google',
  'dns.google.com',
  'dns64.dns.google',
  'cloudflare-dns.com',
  'mozilla.cloudflare-dns.com',
  'chrome.cloudflare-dns.com',
  'one.one.one.one',
  '1dot1dot1dot1.cloudflare-dns.com',
  'security.cloudflare-dns.com',
  'family.cloudflare-dns.com',
  'dns.quad9.net',
  'dns9.quad9.net',
  'dns10.quad9.net',
  'dns11.quad9.net',
  'doh.opendns.com',
  'doh.familyshield.opendns.com',
  'dns.adguard.com',
  'dns.adguard-dns.com',
  'doh.cleanbrowsing.org',
  'dns.nextdns.io',
  'doh.mullvad.net',
  'dns.mullvad.net',
  'freedns.controld.com',
  'doh.dns.sb',
  'dns.alidns.com',
  'doh.pub',
  'dns.twnic.tw',
]);

const TARGET = Symbol('egress-target');
type TunnelSocket = TLSSocket & { [TARGET]?: Target };

/** The CONNECT target a decrypted request arrived through (undefined: not one of ours). */
export function tunnelTarget(socket: unknown): Target | undefined {
  return (socket as TunnelSocket)[TARGET];
}

/** Parse the authority of `CONNECT host:port`. */
export function parseAuthority(authority: string): { host: string; port: number; ipLiteral: boolean } | undefined {
  const a = authority.trim();
  let host: string;
  let portText: string;
  if (a.startsWith('[')) {
    const end = a.indexOf(']');
    if (end === -1 || a[end + 1] !== ':') return undefined;
    host = a.slice(1, end);
    portText = a.slice(end + 2);
  } else {
    const colon = a.lastIndexOf(':');
    if (colon === -1) return undefined;
    host = a.slice(0, colon);
    portText = a.slice(colon + 1);
    if (host.includes(':')) return { host, port: Number(portText) || 0, ipLiteral: true };
  }
  if (!/^[0-9]{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port < 1 || port > 65535) return undefined;
  host = host.toLowerCase().replace(/\.$/, '');
  // Also the forms inet_aton accepts (`127.1`, `0x7f.1`, `2130706433`): all-numeric labels.
  const ipLiteral = isIP(host) !== 0 || /^(?:0x[0-9a-f]+|[0-9]+)(?:\.(?:0x[0-9a-f]+|[0-9]+))*$/.test(host);
  return { host, port, ipLiteral };
}

export interface TunnelDeps {
  readonly ctx: ProxyContext;
  readonly minter: LeafMinter;
  /** Serves the decrypted HTTP/1.1 inside each tunnel. */
  readonly inner: http.Server;
  /** Keep the socket for close(). */
  readonly track: (s: Duplex) => void;
}

export function onConnect(d: TunnelDeps, req: http.IncomingMessage, socket: Socket, head: Buffer): void {
  socket.on('error', () => socket.destroy());
  const authority = req.url ?? '';
  const a = parseAuthority(authority);
  const refuse = (reason: string, detail: string, suggestion?: string, host = a?.host ?? authority, port = a?.port ?? 0): void => {
    auditDeny(d.ctx, 'CONNECT', host, port, '', 403, reason);
    rawReply(socket, 403, reason, denyText(`CONNECT ${authority}`, reason, detail, suggestion));
  };
  if (a === undefined) return refuse('bad-connect-target', 'CONNECT needs host:port');
  if (a.ipLiteral) return refuse('ip-literal', 'CONNECT to an IP address is never allowed: route a host name (egress.hosts maps names to addresses)');
  if (!validHostName(a.host)) return refuse('bad-connect-target', `"${a.host}" is not a host name`);
  const decision = decideConnect(d.ctx.table(), a.host, a.port);
  if (!decision.allow) {
    if (DOH_HOSTS.has(a.host)) return refuse('doh-endpoint', `${a.host} is a DNS-over-HTTPS resolver; name resolution is the proxy's job`);
    // An unrouted host on 443 is refused inside the tunnel, as a 403 whose body names the route that
    // would allow it: clients (and so agents' tools) show a response body, while a refused CONNECT
    // reaches them only as "tunnel failed, 403". Nothing goes upstream: every request is decided again.
    if (decision.reason !== 'no-route' || a.port !== 443) return refuse(decision.reason, decision.detail, decision.suggestion);
  }
  const target: Target = { host: a.host, port: a.port };
  const cached = d.minter.cached(a.host);
  if (cached !== undefined) startTls(d, socket, head, target, cached);
  else {
    d.minter.contextFor(a.host).then(
      (c) => startTls(d, socket, head, target, c),
      (err: unknown) => {
        d.ctx.log(`egress: cannot mint a certificate for ${a.host}: ${String(err)}`);
        rawReply(socket, 502, 'mint-failed', 'bot-bottle egress: cannot mint a certificate\n');
      },
    );
  }
}

function startTls(d: TunnelDeps, socket: Socket, head: Buffer, target: Target, ctx: SecureContext): void {
  if (socket.destroyed) return;
  socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
  if (head.length > 0) socket.unshift(head);
  const tls = new TLSSocket(socket, { isServer: true, secureContext: ctx, ALPNProtocols: ['http/1.1'] }) as TunnelSocket;
  tls[TARGET] = target;
  tls.on('error', () => tls.destroy());
  tls.once('secure', () => {
    const sni = tls.servername;
    if (typeof sni !== 'string' || sni.toLowerCase().replace(/\.$/, '') !== target.host) {
      auditDeny(d.ctx, 'CONNECT', target.host, target.port, '', 0, 'sni-mismatch');
      tls.destroy();
    }
  });
  d.track(tls);
  d.inner.emit('connection', tls);
}
