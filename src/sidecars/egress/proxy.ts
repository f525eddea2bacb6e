/**
 * The egress proxy: the agent's HTTP_PROXY and HTTPS_PROXY, and its only way
 * out.
 *
 *  CONNECT host:port ─▶ refuse IP literals, unrouted hosts/ports, DoH hosts
 *        │ 200, then TLS terminated with a leaf minted for `host` (ALPN
 *        │ http/1.1 only, so HTTP/2 is refused rather than tunnelled blind)
 *        ▼
 *  each HTTP/1.1 request inside ─▶ SNI = Host = CONNECT host, no Upgrade,
 *        │ canonical path, not DoH, `decide()` allows it, DLP passes
 *        │ (block / redact / supervise), the route's token is injected
 *        ▼
 *  https.request upstream (keep-alive pool per upstream, verified against the
 *  system roots + caCerts, address from `hosts` first), response streamed.
 *
 * Plain-HTTP proxy requests are refused except the introspection endpoint.
 * Every request (and refused tunnel) is one audit line.
 */
import { EventEmitter } from 'node:events';
import * as http from 'node:http';
import * as https from 'node:https';
import { isIP, type AddressInfo, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { createSecureContext, rootCertificates, TLSSocket, type SecureContext } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { EgressRoute, RouteDlp } from '../../manifest/types.js';
import { fileAudit, nullAudit, type AuditEntry, type AuditSink, type Verdict } from './audit.js';
import { LeafMinter, type CaMaterial } from './certs.js';
import { effectiveRoutes, readStringList, readStringMap, validHostName, type EgressConfig } from './config.js';
import { readBounded } from '../bounded-body.js';
import {
  decodeContent,
  dlpScanOpts,
  inboundWarnings,
  isTextual,
  KnownSecrets,
  matchList,
  NO_KNOWN,
  redactBody,
  redactHeaderValue,
  redactTarget,
  scanBody,
  scanHead,
  type DlpHit,
  type DlpResult,
  type ScanOpts,
} from './dlp.js';
import { compileRoutes, decide, decideConnect, type Decision, type RouteTable } from './policy.js';
import { hold } from './proposals.js';
import { LiveFile } from './stores.js';

/** The well-known name of the in-proxy introspection endpoint (plain HTTP through the proxy). */
export const INTROSPECTION_HOST = 'bot-bottle.proxy';
export const REASON_HEADER = 'x-bot-bottle-reason';
export const RULE_HEADER = 'x-bot-bottle-rule';
export const INBOUND_WARNING_HEADER = 'x-bot-bottle-inbound-warning';

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

/** Request-side headers never forwarded (hop-by-hop, or handled here). */
const DROP_REQUEST = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect', 'http2-settings']);
/** Response-side headers never forwarded. */
const DROP_RESPONSE = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'trailer']);
/** Credentials the agent may send that a route with `auth` replaces. */
const AGENT_CREDENTIALS = ['authorization', 'proxy-authorization', 'x-api-key'];

const TARGET = Symbol('egress-target');

interface Target {
  readonly host: string;
  readonly port: number;
}

type TunnelSocket = TLSSocket & { [TARGET]?: Target };

interface ReqState {
  readonly t0: number;
  readonly method: string;
  readonly host: string;
  readonly port: number;
  /** Audit path: no query, secrets redacted. */
  path: string;
  verdict: Verdict;
  reason: string | undefined;
  rule: string | undefined;
  bytesOut: number;
  bytesIn: number;
  warnings: string[] | undefined;
  done: boolean;
}

export interface ProxyOptions {
  readonly config: EgressConfig;
  readonly ca: CaMaterial;
  /** The config file, re-read (routes only) on reload. */
  readonly configPath?: string;
  /** One-line log sink (default: stderr). */
  readonly log?: (line: string) => void;
}

function hostOf(hostHeader: string): { host: string; port: number | undefined } | undefined {
  let h = hostHeader.trim().toLowerCase();
  let port: number | undefined;
  if (h.startsWith('[')) return undefined; // an IP literal: never ours
  const colon = h.lastIndexOf(':');
  if (colon !== -1) {
    const p = h.slice(colon + 1);
    if (!/^[0-9]{1,5}$/.test(p)) return undefined;
    port = Number(p);
    h = h.slice(0, colon);
  }
  if (h.endsWith('.')) h = h.slice(0, -1);
  return { host: h, port };
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

/** Does the path contain `.`/`..` segments (also percent-encoded) or backslashes? */
export function nonCanonicalPath(path: string): boolean {
  const p = path.indexOf('?') === -1 ? path : path.slice(0, path.indexOf('?'));
  if (p.includes('\\') || /%5c/i.test(p)) return true;
  if (!p.includes('.') && !/%2e/i.test(p)) return false;
  for (const seg of p.split(/\/|%2f/i)) {
    const s = seg.replace(/%2e/gi, '.');
    if (s === '.' || s === '..') return true;
  }
  return false;
}

function isDoh(method: string, path: string, headers: http.IncomingHttpHeaders): boolean {
  const q = path.indexOf('?');
  const p = q === -1 ? path : path.slice(0, q);
  if (p === '/dns-query' || p === '/resolve') return true;
  const ct = headers['content-type'];
  const accept = headers.accept;
  const dnsType = (v: string | undefined): boolean => v !== undefined && /application\/dns-(?:message|json)/i.test(v);
  return dnsType(ct) || dnsType(accept) || (method === 'GET' && q !== -1 && /(?:^|&)dns=/.test(path.slice(q + 1)) && p.endsWith('dns-query'));
}

function auditPath(target: string): string {
  const q = target.indexOf('?');
  const p = q === -1 ? target : target.slice(0, q);
  return p.length > 512 ? `${p.slice(0, 512)}…` : p;
}

function upstreamTlsError(err: NodeJS.ErrnoException): boolean {
  const c = err.code ?? '';
  return (
    c.startsWith('ERR_SSL') ||
    c.startsWith('ERR_TLS') ||
    c.includes('CERT') ||
    c === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' ||
    c === 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' ||
    c === 'DEPTH_ZERO_SELF_SIGNED_CERT' ||
    c === 'SELF_SIGNED_CERT_IN_CHAIN' ||
    /certificate|ssl|tls/i.test(err.message)
  );
}

function denyText(what: string, reason: string, detail: string, suggestion: string | undefined): string {
  let s = `bot-bottle egress denied: ${what}\nreason: ${reason}: ${detail}\n`;
  if (suggestion !== undefined) {
    s += `\nThe route that would allow it (add it to the bottle, or ask for it through supervise):\n\n${suggestion}`;
  }
  return s;
}

/** Raw 403 (or other) on a socket that is not (or no longer) an http response. */
function rawReply(socket: Duplex, status: number, reason: string, body: string): void {
  const text = status === 403 ? 'Forbidden' : status === 400 ? 'Bad Request' : status === 502 ? 'Bad Gateway' : 'Error';
  const buf = Buffer.from(body, 'utf8');
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nContent-Type: text/plain; charset=utf-8\r\n${REASON_HEADER}: ${reason}\r\nContent-Length: ${buf.length}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export class EgressProxy extends EventEmitter {
  readonly config: EgressConfig;
  private table: RouteTable;
  private readonly outer: http.Server;
  private readonly inner: http.Server;
  private readonly minter: LeafMinter;
  private readonly agents = new Map<string, https.Agent>();
  private readonly upstreamContext: SecureContext;
  private readonly tokens: LiveFile<Map<string, string>>;
  private readonly known: LiveFile<KnownSecrets>;
  private readonly routesFile: LiveFile<EgressRoute[]>;
  private readonly audit: AuditSink;
  private readonly log: (line: string) => void;
  private readonly sockets = new Set<Duplex>();
  private closed = false;

  constructor(opts: ProxyOptions) {
    super();
    const config = opts.config;
    this.config = config;
    this.log = opts.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.table = compileRoutes(config.routes);
    this.minter = new LeafMinter(opts.ca);

    const extra = config.caCerts.map((p) => readFileSync(p, 'utf8'));
    this.upstreamContext = createSecureContext({ ca: [...rootCertificates, ...extra] });

    const tokensFile = config.tokensFile;
    this.tokens = new LiveFile(
      tokensFile === undefined ? [] : [tokensFile],
      () => (tokensFile === undefined ? new Map<string, string>() : readStringMap(tokensFile)),
      new Map<string, string>(),
      (err) => this.log(`egress: tokens not reloaded: ${err instanceof Error ? err.message : String(err)}`),
    );
    const knownFile = config.knownSecretsFile;
    this.known = new LiveFile(
      knownFile === undefined ? [] : [knownFile],
      () => (knownFile === undefined ? NO_KNOWN : new KnownSecrets(readStringList(knownFile))),
      NO_KNOWN,
      (err) => this.log(`egress: known secrets not reloaded: ${err instanceof Error ? err.message : String(err)}`),
    );
    const configPath = opts.configPath;
    this.routesFile = new LiveFile(
      configPath === undefined ? [] : [configPath, ...(config.policyFile === undefined ? [] : [config.policyFile])],
      () => (configPath === undefined ? [...this.table.routes] : effectiveRoutes(configPath, config.policyFile)),
      [...config.routes],
      (err) => this.log(`egress: routes not reloaded, keeping the ${this.table.routes.length} in force: ${err instanceof Error ? err.message.replace(/\s+/g, ' ') : String(err)}`),
      (routes) => {
        this.table = compileRoutes(routes);
        this.log(`egress: routes reloaded: ${routes.length} route(s)`);
        this.emit('routes', routes);
      },
    );
    this.tokens.reload();
    this.known.reload();
    if (configPath !== undefined && config.policyFile !== undefined) this.routesFile.reload();

    this.audit = config.auditLog === undefined ? nullAudit() : fileAudit(config.auditLog, config.identity);

    this.outer = http.createServer({ keepAlive: true });
    this.outer.on('connect', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.onConnect(req, socket as Socket, head));
    this.outer.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => this.onPlain(req, res));
    this.outer.on('upgrade', (req: http.IncomingMessage, socket: Duplex) => {
      this.auditDeny(req.method ?? 'GET', INTROSPECTION_HOST, 80, req.url ?? '', 403, 'upgrade-not-inspectable');
      rawReply(socket, 403, 'upgrade-not-inspectable', denyText(`${req.method} ${req.url}`, 'upgrade-not-inspectable', 'protocol upgrades cannot be inspected', undefined));
    });
    this.outer.on('clientError', (_err, socket: Duplex) => {
      if (socket.writable) rawReply(socket, 400, 'bad-request', 'bot-bottle egress: malformed request\n');
      else socket.destroy();
    });
    this.outer.on('connection', (s: Socket) => this.track(s));

    this.inner = http.createServer({ keepAlive: true });
    this.inner.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => this.onInner(req, res));
    this.inner.on('upgrade', (req: http.IncomingMessage, socket: Duplex) => {
      const t = (socket as TunnelSocket)[TARGET];
      this.auditDeny(req.method ?? 'GET', t?.host ?? '?', t?.port ?? 0, req.url ?? '', 403, 'upgrade-not-inspectable');
      rawReply(socket, 403, 'upgrade-not-inspectable', denyText(`${req.method} ${req.url}`, 'upgrade-not-inspectable', 'WebSocket and other protocol upgrades cannot be inspected, so they are refused', undefined));
    });
    this.inner.on('clientError', (_err, socket: Duplex) => {
      if (socket.writable) rawReply(socket, 400, 'bad-request', 'bot-bottle egress: malformed request\n');
      else socket.destroy();
    });
  }

  /** Routes in force. */
  get routes(): readonly EgressRoute[] {
    return this.table.routes;
  }

  /** Replace the routes in force (also what a reload does). */
  setRoutes(routes: readonly EgressRoute[]): void {
    this.table = compileRoutes(routes);
    this.emit('routes', routes);
  }

  /** Re-read routes, tokens and known secrets (SIGHUP). */
  reload(): void {
    this.routesFile.reload();
    this.tokens.reload();
    this.known.reload();
  }

  /** Watch the config, policy, tokens and known-secrets files for changes. */
  watch(): void {
    this.routesFile.watch();
    this.tokens.watch();
    this.known.watch();
  }

  listen(host = this.config.listen.host, port = this.config.listen.port): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.outer.once('error', reject);
      this.outer.listen({ host, port }, () => {
        this.outer.off('error', reject);
        resolve(this.outer.address() as AddressInfo);
      });
    });
  }

  /** Serve a connection accepted elsewhere (a worker handed a socket by the primary). */
  acceptSocket(socket: Socket): void {
    this.outer.emit('connection', socket);
    socket.resume();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.routesFile.close();
    this.tokens.close();
    this.known.close();
    await new Promise<void>((resolve) => {
      if (!this.outer.listening) return resolve();
      this.outer.close(() => resolve());
      this.outer.closeAllConnections();
    });
    for (const s of this.sockets) s.destroy();
    for (const a of this.agents.values()) a.destroy();
    await this.audit.close();
  }

  private track(s: Duplex): void {
    this.sockets.add(s);
    s.once('close', () => this.sockets.delete(s));
  }

  // ---------------------------------------------------------------- audit helpers

  private auditDeny(method: string, host: string, port: number, target: string, status: number, reason: string, rule?: string): void {
    this.audit.write({ method, host, port, path: auditPath(target), status, verdict: 'deny', reason, rule, bytes_out: 0, bytes_in: 0, ms: 0 });
  }

  private finish(st: ReqState, status: number): void {
    if (st.done) return;
    st.done = true;
    const e: AuditEntry = {
      method: st.method,
      host: st.host,
      port: st.port,
      path: st.path,
      status,
      verdict: st.verdict,
      reason: st.reason,
      rule: st.rule,
      bytes_out: st.bytesOut,
      bytes_in: st.bytesIn,
      ms: Date.now() - st.t0,
    };
    if (st.warnings !== undefined) e.warnings = st.warnings;
    this.audit.write(e);
  }

  // ---------------------------------------------------------------- CONNECT

  private onConnect(req: http.IncomingMessage, socket: Socket, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const authority = req.url ?? '';
    const a = parseAuthority(authority);
    const refuse = (reason: string, detail: string, suggestion?: string, host = a?.host ?? authority, port = a?.port ?? 0): void => {
      this.auditDeny('CONNECT', host, port, '', 403, reason);
      rawReply(socket, 403, reason, denyText(`CONNECT ${authority}`, reason, detail, suggestion));
    };
    if (a === undefined) return refuse('bad-connect-target', 'CONNECT needs host:port');
    if (a.ipLiteral) return refuse('ip-literal', 'CONNECT to an IP address is never allowed: route a host name (egress.hosts maps names to addresses)');
    if (!validHostName(a.host)) return refuse('bad-connect-target', `"${a.host}" is not a host name`);
    const d = decideConnect(this.table, a.host, a.port);
    if (!d.allow) {
      if (DOH_HOSTS.has(a.host)) return refuse('doh-endpoint', `${a.host} is a DNS-over-HTTPS resolver; name resolution is the proxy's job`);
      // An unrouted host on 443 is refused inside the tunnel, as a 403 whose body names the route that
      // would allow it: clients (and so agents' tools) show a response body, while a refused CONNECT
      // reaches them only as "tunnel failed, 403". Nothing goes upstream: every request is decided again.
      if (d.reason !== 'no-route' || a.port !== 443) return refuse(d.reason, d.detail, d.suggestion);
    }
    const target: Target = { host: a.host, port: a.port };
    const ctx = this.minter.cached(a.host);
    if (ctx !== undefined) this.startTls(socket, head, target, ctx);
    else {
      this.minter.contextFor(a.host).then(
        (c) => this.startTls(socket, head, target, c),
        (err: unknown) => {
          this.log(`egress: cannot mint a certificate for ${a.host}: ${String(err)}`);
          rawReply(socket, 502, 'mint-failed', 'bot-bottle egress: cannot mint a certificate\n');
        },
      );
    }
  }

  private startTls(socket: Socket, head: Buffer, target: Target, ctx: SecureContext): void {
    if (socket.destroyed) return;
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) socket.unshift(head);
    const tls = new TLSSocket(socket, { isServer: true, secureContext: ctx, ALPNProtocols: ['http/1.1'] }) as TunnelSocket;
    tls[TARGET] = target;
    tls.on('error', () => tls.destroy());
    tls.once('secure', () => {
      const sni = tls.servername;
      if (typeof sni !== 'string' || sni.toLowerCase().replace(/\.$/, '') !== target.host) {
        this.auditDeny('CONNECT', target.host, target.port, '', 0, 'sni-mismatch');
        tls.destroy();
      }
    });
    this.track(tls);
    this.inner.emit('connection', tls);
  }

  // ---------------------------------------------------------------- plain HTTP (outer)

  private onPlain(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = req.url ?? '';
    const method = req.method ?? 'GET';
    let host: string | undefined;
    let path = url;
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
      try {
        const u = new URL(url);
        host = u.hostname.toLowerCase();
        path = u.pathname + u.search;
      } catch {
        return this.plainDeny(res, method, url, 'bad-request', 400, 'malformed URL');
      }
    }
    const introspection = host === INTROSPECTION_HOST || (host === undefined && path.startsWith('/__bot-bottle/'));
    if (introspection) {
      const p = host === INTROSPECTION_HOST ? path.replace(/^\/__bot-bottle\//, '/') : path.slice('/__bot-bottle'.length);
      if (method === 'GET' && (p === '/routes' || p === '/routes/')) return this.sendJson(res, 200, this.introspect());
      if (method === 'GET' && (p === '/healthz' || p === '/health')) return this.sendJson(res, 200, { ok: true, identity: this.config.identity, routes: this.table.routes.length });
      return this.sendJson(res, 404, { error: 'unknown introspection path; try /routes or /healthz' });
    }
    if (host === undefined) return this.plainDeny(res, method, url, 'not-a-proxy-request', 400, 'this is a proxy: use it as HTTPS_PROXY');
    this.plainDeny(res, method, `http://${host}${auditPath(path)}`, 'plain-http', 403, 'plain HTTP cannot be protected; use https:// (the proxy intercepts and checks TLS)', host);
  }

  private plainDeny(res: http.ServerResponse, method: string, what: string, reason: string, status: number, detail: string, host = '-'): void {
    this.auditDeny(method, host, 80, what.replace(/^https?:\/\/[^/]*/, ''), status, reason);
    this.sendDeny(res, status, reason, denyText(`${method} ${what}`, reason, detail, undefined), true);
  }

  /** Active routes for agents and humans: never a token value (routes hold only `token_ref`). */
  introspect(): unknown {
    return {
      identity: this.config.identity,
      routes: this.table.routes.map((r) => ({
        host: r.host,
        port: r.port,
        matches: r.matches,
        auth: r.auth === undefined ? null : { scheme: r.auth.scheme, token_ref: r.auth.token_ref, header: r.auth.header },
        dlp: r.dlp ?? null,
      })),
    };
  }

  private sendJson(res: http.ServerResponse, status: number, body: unknown): void {
    const buf = Buffer.from(JSON.stringify(body, null, 2) + '\n');
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': buf.length, 'cache-control': 'no-store' });
    res.end(buf);
  }

  private sendDeny(res: http.ServerResponse, status: number, reason: string, text: string, close: boolean, rule?: string): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const buf = Buffer.from(text, 'utf8');
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'text/plain; charset=utf-8', 'content-length': buf.length, [REASON_HEADER]: reason, 'cache-control': 'no-store' };
    if (rule !== undefined) headers[RULE_HEADER] = rule;
    if (close) headers.connection = 'close';
    res.writeHead(status, headers);
    res.end(buf);
  }

  // ---------------------------------------------------------------- requests inside a tunnel

  private onInner(req: http.IncomingMessage, res: http.ServerResponse): void {
    const sock = req.socket as TunnelSocket;
    const t = sock[TARGET];
    const method = req.method ?? 'GET';
    if (t === undefined) return this.sendDeny(res, 400, 'bad-request', 'bot-bottle egress: no tunnel\n', true);
    let target = req.url ?? '/';
    const st: ReqState = { t0: Date.now(), method, host: t.host, port: t.port, path: auditPath(target), verdict: 'deny', reason: undefined, rule: undefined, bytesOut: 0, bytesIn: 0, warnings: undefined, done: false };
    const deny = (status: number, reason: string, detail: string, suggestion?: string, rule?: string, verdict: Verdict = 'deny'): void => {
      st.verdict = verdict;
      st.reason = reason;
      st.rule = rule;
      this.sendDeny(res, status, reason, denyText(`${method} https://${t.host}${t.port === 443 ? '' : `:${t.port}`}${st.path}`, reason, detail, suggestion), status >= 413, rule);
      this.finish(st, status);
    };

    const sni = sock.servername;
    if (typeof sni !== 'string' || sni.toLowerCase().replace(/\.$/, '') !== t.host) return deny(421, 'sni-mismatch', 'the TLS server name differs from the CONNECT target');
    // Absolute form inside the tunnel: its authority is the Host.
    let hostHeader = req.headers.host;
    if (!target.startsWith('/')) {
      if (target === '*') return deny(403, 'bad-request', 'asterisk-form targets are not forwarded');
      try {
        const u = new URL(target);
        if (u.protocol !== 'https:') return deny(403, 'plain-http', 'only https requests are forwarded inside a tunnel');
        if (hostHeader !== undefined && hostHeader.toLowerCase() !== u.host.toLowerCase()) return deny(403, 'host-mismatch', 'the request URL and Host header disagree');
        hostHeader = u.host;
        target = u.pathname + u.search;
        st.path = auditPath(target);
      } catch {
        return deny(400, 'bad-request', 'malformed request target');
      }
    }
    const hp = hostHeader === undefined ? undefined : hostOf(hostHeader);
    if (hp === undefined || hp.host !== t.host || (hp.port !== undefined && hp.port !== t.port)) {
      return deny(403, 'host-mismatch', `the Host header (${hostHeader ?? 'none'}) must name the CONNECT target ${t.host}:${t.port}`);
    }
    if (req.headers.upgrade !== undefined) return deny(403, 'upgrade-not-inspectable', 'WebSocket and other protocol upgrades cannot be inspected, so they are refused');
    if (nonCanonicalPath(target)) return deny(403, 'non-canonical-path', 'paths with . or .. segments or backslashes are refused (send the resolved path)');
    if (isDoh(method, target, req.headers)) return deny(403, 'doh', 'DNS-over-HTTPS is refused; name resolution is the proxy\'s job');

    const d: Decision = decide(this.table, { method, host: t.host, port: t.port, path: target, headers: req.headers });
    if (!d.allow) return deny(403, d.reason, d.detail, d.suggestion);
    const route = d.route;

    // Token first: a route with auth never goes out without it.
    let token: string | undefined;
    if (route.auth !== undefined) {
      token = this.tokens.get().get(route.auth.token_ref);
      if (token === undefined) {
        this.tokens.reloadIfStale();
        token = this.tokens.get().get(route.auth.token_ref);
      }
      if (token === undefined) return deny(502, 'token-unavailable', `the host token ${route.auth.token_ref} for this route is not available to the proxy`);
    }

    const dlp = route.dlp;
    const hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
    if (dlp === undefined || !dlp.outbound) {
      st.verdict = 'allow';
      this.forward(req, res, st, t, route, target, token, undefined, undefined);
      return;
    }
    const opts: ScanOpts = dlpScanOpts(dlp, this.known.get());
    const dropped = this.droppedHeaders(route);
    const pairs: [string, string][] = [];
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i];
      const lower = name.toLowerCase();
      if (lower === 'host' || DROP_REQUEST.has(lower) || dropped.has(lower)) continue;
      pairs.push([name, raw[i + 1]]);
    }
    const headScan = scanHead({ method, target, headers: pairs }, opts);
    if (!hasBody) {
      this.actOnDlp(req, res, st, t, route, dlp, target, token, headScan, undefined, deny);
      return;
    }
    // Buffer the body (bounded) to scan it.
    const cap = this.config.bodyCap;
    void readBounded(req, cap).then((r) => {
      if (r.kind === 'error') return res.destroy();
      if (r.kind === 'too-large') return deny(413, 'dlp-body-too-large', `bodies over ${cap} bytes cannot be scanned, so they are refused on routes with DLP`);
      const body = r.body;
      const encoding = req.headers['content-encoding'];
      const decoded = decodeContent(body, encoding, cap);
      if (decoded === 'too-large') return deny(413, 'dlp-body-too-large', `the decoded body exceeds ${cap} bytes`);
      if (decoded === 'unsupported-encoding') return deny(415, 'dlp-unscannable-encoding', `Content-Encoding ${encoding ?? ''} cannot be scanned; send gzip, deflate, br or none`);
      if (decoded === 'corrupt') return deny(400, 'dlp-corrupt-body', `the body does not decode as ${encoding ?? ''}`);
      const bodyScan = scanBody(decoded, req.headers['content-type'], opts);
      const all: DlpResult = { hits: [...headScan.hits, ...bodyScan.hits], warnings: [...headScan.warnings, ...bodyScan.warnings] };
      this.actOnDlp(req, res, st, t, route, dlp, target, token, all, { raw: body, decoded, encoded: decoded !== body }, deny);
    });
  }

  private droppedHeaders(route: EgressRoute): ReadonlySet<string> {
    if (route.auth === undefined) return EMPTY;
    let set = dropCache.get(route);
    if (set === undefined) {
      set = new Set([...AGENT_CREDENTIALS, route.auth.header.toLowerCase()]);
      dropCache.set(route, set);
    }
    return set;
  }

  private actOnDlp(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    st: ReqState,
    t: Target,
    route: EgressRoute,
    dlp: RouteDlp,
    target: string,
    token: string | undefined,
    scan: DlpResult,
    body: { raw: Buffer; decoded: Buffer; encoded: boolean } | undefined,
    deny: (status: number, reason: string, detail: string, suggestion?: string, rule?: string, verdict?: Verdict) => void,
  ): void {
    if (scan.warnings.length > 0) st.warnings = [...new Set(scan.warnings.map((w) => `${w.rule}@${w.where}`))];
    const first: DlpHit | undefined = scan.hits[0];
    if (first === undefined) {
      st.verdict = 'allow';
      this.forward(req, res, st, t, route, target, token, body?.raw, undefined);
      return;
    }
    const matches = matchList(scan);
    const inUrl = scan.hits.some((h) => h.where === 'url');
    if (inUrl) st.path = auditPath(redactTarget(auditPath(target), matches));
    const rules = [...new Set(scan.hits.map((h) => h.rule))].join(',');
    const wheres = [...new Set(scan.hits.map((h) => h.where))].join(', ');
    st.rule = rules;
    const blockDetail = `the request carries something matching ${rules} (in ${wheres}); the secret is not shown. Routes with auth get their token injected by the proxy: send requests without credentials.`;
    switch (dlp.on_match) {
      case 'block':
        return deny(403, 'dlp-blocked', blockDetail, undefined, rules, 'dlp-block');
      case 'redact': {
        const red = this.redacted(req, target, matches, body, route);
        if (red === undefined) return deny(403, 'dlp-blocked', `${blockDetail} (redaction could not remove it)`, undefined, rules, 'dlp-block');
        // The redacted request must scan clean, or it is blocked after all.
        const opts: ScanOpts = dlpScanOpts(dlp, this.known.get());
        const again = scanHead({ method: st.method, target: red.target, headers: red.headers }, opts);
        const againBody = red.body === undefined ? undefined : scanBody(red.body, req.headers['content-type'], opts);
        if (again.hits.length > 0 || (againBody?.hits.length ?? 0) > 0) {
          return deny(403, 'dlp-blocked', `${blockDetail} (redaction could not remove it)`, undefined, rules, 'dlp-block');
        }
        st.verdict = 'dlp-redact';
        st.reason = 'dlp-redacted';
        this.forward(req, res, st, t, route, red.target, token, red.body, red.headers);
        return;
      }
      case 'supervise': {
        const dir = this.config.proposalsDir;
        if (dir === undefined) return deny(403, 'dlp-blocked', `${blockDetail} (no proposal queue to hold it for a human)`, undefined, rules, 'dlp-block');
        st.verdict = 'dlp-hold';
        const ac = new AbortController();
        const onClose = (): void => {
          if (!res.writableFinished) ac.abort();
        };
        res.once('close', onClose);
        hold({
          dir,
          bottle: this.config.identity,
          request: { method: st.method, host: t.host, path: st.path, rule: rules, where: wheres },
          timeoutMs: this.config.holdTimeoutMs,
          signal: ac.signal,
          onRaised: (id) => this.log(`egress: held ${st.method} https://${t.host}${st.path} (${rules}) for a human: proposal ${id}`),
        }).then(
          (outcome) => {
            res.off('close', onClose);
            switch (outcome.state) {
              case 'approved':
                st.verdict = 'dlp-approved';
                st.reason = 'dlp-approved';
                this.forward(req, res, st, t, route, target, token, body?.raw, undefined);
                return;
              case 'rejected':
                return deny(403, 'dlp-rejected', `a human refused to release it: ${outcome.reason.replace(/[\r\n]+/g, ' ')}`, undefined, rules, 'dlp-rejected');
              case 'expired':
                return deny(403, 'dlp-hold-expired', `nobody answered within ${Math.round(this.config.holdTimeoutMs / 1000)} s; ${blockDetail}`, undefined, rules, 'dlp-expired');
              case 'withdrawn':
                st.verdict = 'dlp-hold';
                st.reason = 'client-gone';
                this.finish(st, 499);
                return;
              default: {
                const never: never = outcome;
                throw new Error(`unknown hold outcome ${String(never)}`);
              }
            }
          },
          (err: unknown) => {
            this.log(`egress: hold failed: ${err instanceof Error ? err.message : String(err)}`);
            deny(403, 'dlp-blocked', `${blockDetail} (the hold could not be raised)`, undefined, rules, 'dlp-block');
          },
        );
        return;
      }
      default: {
        const never: never = dlp.on_match;
        throw new Error(`unknown on_match ${String(never)}`);
      }
    }
  }

  private redacted(
    req: http.IncomingMessage,
    target: string,
    matches: readonly string[],
    body: { raw: Buffer; decoded: Buffer; encoded: boolean } | undefined,
    route: EgressRoute,
  ): { target: string; headers: [string, string][]; body: Buffer | undefined } | undefined {
    const dropped = this.droppedHeaders(route);
    const headers: [string, string][] = [];
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i];
      const lower = name.toLowerCase();
      if (DROP_REQUEST.has(lower) || dropped.has(lower)) continue;
      if (body !== undefined && (lower === 'content-length' || (body.encoded && lower === 'content-encoding'))) continue;
      headers.push([name, lower === 'host' ? (raw[i + 1]) : redactHeaderValue(raw[i + 1], matches)]);
    }
    const newBody = body === undefined ? undefined : redactBody(body.decoded, req.headers['content-type'], matches);
    if (newBody !== undefined) headers.push(['Content-Length', String(newBody.length)]);
    return { target: redactTarget(target, matches), headers, body: newBody };
  }

  // ---------------------------------------------------------------- upstream

  private agentFor(t: Target): https.Agent {
    const key = `${t.host}:${t.port}`;
    let a = this.agents.get(key);
    if (a === undefined) {
      a = new https.Agent({ keepAlive: true, keepAliveMsecs: 15_000, maxSockets: 256, maxFreeSockets: 64, scheduling: 'lifo', timeout: 60_000 });
      this.agents.set(key, a);
    }
    return a;
  }

  /**
   * Send the request upstream and stream the answer back. `body` is the
   * buffered body (undefined: stream `req`); `headers` replaces the agent's
   * headers (already filtered, for a redacted request).
   */
  private forward(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    st: ReqState,
    t: Target,
    route: EgressRoute,
    target: string,
    token: string | undefined,
    body: Buffer | undefined,
    headers: [string, string][] | undefined,
    retried = false,
  ): void {
    const out: string[] = [];
    if (headers !== undefined) {
      for (const [k, v] of headers) out.push(k, v);
    } else {
      const dropped = this.droppedHeaders(route);
      const raw = req.rawHeaders;
      const conn = req.headers.connection;
      const named = conn === undefined ? undefined : new Set(conn.toLowerCase().split(',').map((s) => s.trim()));
      for (let i = 0; i < raw.length; i += 2) {
        const name = raw[i];
        const lower = name.toLowerCase();
        if (DROP_REQUEST.has(lower) || dropped.has(lower) || named?.has(lower)) continue;
        out.push(name, raw[i + 1]);
      }
      if (body !== undefined && req.headers['content-length'] === undefined) out.push('Content-Length', String(body.length));
    }
    if (route.auth !== undefined && token !== undefined) {
      out.push(route.auth.header, route.auth.scheme === '' ? token : `${route.auth.scheme} ${token}`);
    }
    const streaming = body === undefined && (req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0'));
    if (streaming && req.headers['transfer-encoding'] !== undefined) out.push('Transfer-Encoding', 'chunked');

    const address = this.config.hosts[t.host] ?? t.host;
    const up = https.request(<https.RequestOptions & { secureContext: SecureContext }>{
      agent: this.agentFor(t),
      host: address,
      port: t.port,
      servername: t.host,
      secureContext: this.upstreamContext,
      rejectUnauthorized: true,
      method: st.method,
      path: target,
      headers: out,
      setHost: false,
    });
    let responded = false;
    up.on('response', (upRes) => {
      responded = true;
      this.respond(res, st, route, upRes);
    });
    up.on('error', (err: NodeJS.ErrnoException) => {
      if (responded) {
        res.destroy();
        return;
      }
      // A pooled connection the server closed meanwhile: one retry when nothing was streamed.
      if (!retried && up.reusedSocket && !streaming && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) {
        this.forward(req, res, st, t, route, target, token, body, headers, true);
        return;
      }
      const tlsErr = upstreamTlsError(err);
      st.verdict = 'error';
      const reason = tlsErr ? 'upstream-tls' : 'upstream-unreachable';
      st.reason = reason;
      if (!res.headersSent) {
        this.sendDeny(res, 502, reason, `bot-bottle egress: ${tlsErr ? 'upstream TLS verification failed' : 'upstream unreachable'} for ${t.host}:${t.port}: ${err.code ?? err.message}\n`, false);
      } else res.destroy();
      this.finish(st, 502);
    });
    res.once('close', () => {
      if (!res.writableFinished) {
        up.destroy();
        if (!st.done) {
          st.reason ??= 'client-gone';
          this.finish(st, 499);
        }
      }
    });
    if (body !== undefined) {
      st.bytesOut = body.length;
      up.end(body);
    } else if (streaming) {
      req.on('data', (c: Buffer) => {
        st.bytesOut += c.length;
      });
      req.pipe(up);
    } else up.end();
  }

  private respond(res: http.ServerResponse, st: ReqState, route: EgressRoute, upRes: http.IncomingMessage): void {
    const status = upRes.statusCode ?? 502;
    const raw = upRes.rawHeaders;
    const out: string[] = [];
    const conn = upRes.headers.connection;
    const named = conn === undefined || conn === 'keep-alive' || conn === 'close' ? undefined : new Set(conn.toLowerCase().split(',').map((s) => s.trim()));
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i];
      const lower = name.toLowerCase();
      if (DROP_RESPONSE.has(lower) || named?.has(lower)) continue;
      out.push(name, raw[i + 1]);
    }
    const inbound = route.dlp?.inbound === true && isTextual(upRes.headers['content-type']);
    const cl = upRes.headers['content-length'];
    if (!inbound && cl !== undefined && Number(cl) <= SMALL_BODY) {
      // Small answers go out as one write (one TLS record, one syscall) with their headers.
      const chunks: Buffer[] = [];
      upRes.on('data', (c: Buffer) => {
        chunks.push(c);
        st.bytesIn += c.length;
      });
      upRes.once('end', () => {
        res.writeHead(status, upRes.statusMessage, out);
        res.end(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, st.bytesIn));
        this.finish(st, status);
      });
      upRes.once('error', () => res.destroy());
      return;
    }
    if (!inbound) {
      res.writeHead(status, upRes.statusMessage, out);
      upRes.on('data', (c: Buffer) => {
        st.bytesIn += c.length;
      });
      upRes.pipe(res);
      upRes.once('end', () => this.finish(st, status));
      upRes.once('error', () => res.destroy());
      return;
    }
    // Inbound heuristics need the text before the headers go out (the warning is a header).
    const cap = this.config.bodyCap;
    const chunks: Buffer[] = [];
    let size = 0;
    let streamed = false;
    upRes.on('data', (c: Buffer) => {
      st.bytesIn += c.length;
      if (streamed) return;
      size += c.length;
      chunks.push(c);
      if (size > cap) {
        // Too big to hold: send what we have and stream the rest, unscanned.
        streamed = true;
        st.warnings = [...(st.warnings ?? []), 'inbound-unscanned'];
        res.writeHead(status, upRes.statusMessage, out);
        for (const b of chunks) res.write(b);
        chunks.length = 0;
        upRes.pipe(res);
      }
    });
    upRes.once('end', () => {
      if (streamed) return this.finish(st, status);
      const body = Buffer.concat(chunks, size);
      const decoded = decodeContent(body, upRes.headers['content-encoding'], cap);
      const warnings = typeof decoded === 'string' ? ['inbound-unscanned'] : inboundWarnings(decoded.toString('utf8'));
      const hdrs = out.filter((_, i) => i % 2 === 0).some((n) => n.toLowerCase() === 'content-length') ? out : [...out, 'Content-Length', String(body.length)];
      if (warnings.length > 0) {
        st.warnings = [...(st.warnings ?? []), ...warnings.map((w) => `inbound:${w}`)];
        hdrs.push(INBOUND_WARNING_HEADER, warnings.join(', '));
      }
      res.writeHead(status, upRes.statusMessage, hdrs);
      res.end(body);
      this.finish(st, status);
    });
    upRes.once('error', () => res.destroy());
  }
}

const EMPTY: ReadonlySet<string> = new Set();
const dropCache = new WeakMap<EgressRoute, ReadonlySet<string>>();
/** Responses up to this size are buffered and sent with their headers in one write. */
const SMALL_BODY = 64 * 1024;
