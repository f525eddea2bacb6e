/**
 * The egress proxy: the agent's HTTP_PROXY and HTTPS_PROXY, and its only way
 * out. One module per job, composed here:
 *
 *  CONNECT host:port ─▶ tunnel.ts: refuse IP literals, unrouted hosts/ports,
 *        │ DoH hosts; 200, then TLS terminated with a leaf minted for `host`
 *        ▼
 *  each HTTP/1.1 request inside ─▶ admission.ts: SNI = Host = CONNECT host,
 *        │ no Upgrade, canonical path, not DoH, a route allows it, its token
 *        ▼
 *  dlp-action.ts: scan URL, headers, body; block / redact / hold (holds.ts)
 *        ▼
 *  upstream.ts: https.request upstream (keep-alive pool, verified TLS, the
 *  token injected), response streamed back.
 *
 * Plain-HTTP proxy requests are refused except the introspection endpoint.
 * Every request (and refused tunnel) is one audit line (exchange.ts).
 */
import { EventEmitter } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { createSecureContext, rootCertificates, type SecureContext, type TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { EgressRoute } from '../../manifest/types.js';
import { admit } from './admission.js';
import { fileAudit, nullAudit, type AuditSink } from './audit.js';
import { LeafMinter, type CaMaterial } from './certs.js';
import { effectiveRoutes, readStringList, readStringMap, type EgressConfig } from './config.js';
import { KnownSecrets, NO_KNOWN } from './dlp.js';
import { inspectAndForward } from './dlp-action.js';
import { auditDeny, Exchange, type ProxyContext } from './exchange.js';
import { compileRoutes, type RouteTable } from './policy.js';
import { auditPath, denyText, rawReply, sendDeny, sendJson } from './reply.js';
import { LiveFile } from './stores.js';
import { type Bound, listenScoped } from '../net-scope.js';
import { onConnect, tunnelTarget } from './tunnel.js';
import { Upstream } from './upstream.js';

export { INBOUND_WARNING_HEADER, REASON_HEADER, RULE_HEADER } from './reply.js';
export { DOH_HOSTS, parseAuthority } from './tunnel.js';
export { nonCanonicalPath } from './admission.js';

/** The well-known name of the in-proxy introspection endpoint (plain HTTP through the proxy). */
export const INTROSPECTION_HOST = 'bot-bottle.proxy';

export interface ProxyOptions {
  readonly config: EgressConfig;
  readonly ca: CaMaterial;
  /** The config file, re-read (routes only) on reload. */
  readonly configPath?: string;
  /** One-line log sink (default: stderr). */
  readonly log?: (line: string) => void;
}

export class EgressProxy extends EventEmitter {
  readonly config: EgressConfig;
  private table: RouteTable;
  private readonly outer: http.Server;
  private readonly inner: http.Server;
  private readonly minter: LeafMinter;
  private readonly upstream: Upstream;
  private readonly tokens: LiveFile<Map<string, string>>;
  private readonly known: LiveFile<KnownSecrets>;
  private readonly routesFile: LiveFile<EgressRoute[]>;
  private readonly audit: AuditSink;
  private readonly log: (line: string) => void;
  private readonly ctx: ProxyContext;
  private readonly sockets = new Set<Duplex>();
  private closed = false;
  private bound: Bound | undefined;

  constructor(opts: ProxyOptions) {
    super();
    const config = opts.config;
    this.config = config;
    this.log = opts.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.table = compileRoutes(config.routes);
    this.minter = new LeafMinter(opts.ca);

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
    this.ctx = {
      config,
      audit: this.audit,
      log: this.log,
      table: () => this.table,
      token: (ref) => {
        let token = this.tokens.get().get(ref);
        if (token === undefined) {
          this.tokens.reloadIfStale();
          token = this.tokens.get().get(ref);
        }
        return token;
      },
      tokenValues: () => [...this.tokens.get().values()],
      known: () => this.known.get(),
    };
    // The upstream trust (Node's ~140 roots parsed into a context, 6-16 ms of the
    // proxy's boot on the bottle's start path) is made for the first upstream
    // connection. With ca_certs of the bottle's own it is made here, so a bad
    // certificate still fails the start rather than the first request.
    const extra = config.caCerts.map((p) => readFileSync(p, 'utf8'));
    let trust: SecureContext | undefined;
    const upstreamTrust = (): SecureContext => (trust ??= createSecureContext({ ca: [...rootCertificates, ...extra] }));
    if (extra.length > 0) upstreamTrust();
    this.upstream = new Upstream(this.ctx, upstreamTrust);

    this.inner = http.createServer({ keepAlive: true });
    this.inner.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => this.onInner(req, res));
    this.inner.on('upgrade', (req: http.IncomingMessage, socket: Duplex) => {
      const t = tunnelTarget(socket);
      auditDeny(this.ctx, req.method ?? 'GET', t?.host ?? '?', t?.port ?? 0, req.url ?? '', 403, 'upgrade-not-inspectable');
      rawReply(socket, 403, 'upgrade-not-inspectable', denyText(`${req.method} ${req.url}`, 'upgrade-not-inspectable', 'WebSocket and other protocol upgrades cannot be inspected, so they are refused', undefined));
    });
    this.inner.on('clientError', (_err, socket: Duplex) => {
      if (socket.writable) rawReply(socket, 400, 'bad-request', 'bot-bottle egress: malformed request\n');
      else socket.destroy();
    });

    const tunnels = { ctx: this.ctx, minter: this.minter, inner: this.inner, track: (s: Duplex) => this.track(s) };
    this.outer = http.createServer({ keepAlive: true });
    this.outer.on('connect', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => onConnect(tunnels, req, socket as Socket, head));
    this.outer.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => this.onPlain(req, res));
    this.outer.on('upgrade', (req: http.IncomingMessage, socket: Duplex) => {
      auditDeny(this.ctx, req.method ?? 'GET', INTROSPECTION_HOST, 80, req.url ?? '', 403, 'upgrade-not-inspectable');
      rawReply(socket, 403, 'upgrade-not-inspectable', denyText(`${req.method} ${req.url}`, 'upgrade-not-inspectable', 'protocol upgrades cannot be inspected', undefined));
    });
    this.outer.on('clientError', (_err, socket: Duplex) => {
      if (socket.writable) rawReply(socket, 400, 'bad-request', 'bot-bottle egress: malformed request\n');
      else socket.destroy();
    });
    this.outer.on('connection', (s: Socket) => this.track(s));
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

  /** Listen; host `inside` is the agent's side and loopback only, never the egress side (net-scope.ts). */
  async listen(host = this.config.listen.host, port = this.config.listen.port): Promise<AddressInfo> {
    this.bound = await listenScoped(this.outer, host, port);
    return this.outer.address() as AddressInfo;
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
    this.outer.closeAllConnections();
    await (this.bound?.close() ?? Promise.resolve());
    for (const s of this.sockets) s.destroy();
    this.upstream.close();
    await this.audit.close();
  }

  private track(s: Duplex): void {
    this.sockets.add(s);
    s.once('close', () => this.sockets.delete(s));
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
      if (method === 'GET' && (p === '/routes' || p === '/routes/')) return sendJson(res, 200, this.introspect());
      if (method === 'GET' && (p === '/healthz' || p === '/health')) return sendJson(res, 200, { ok: true, identity: this.config.identity, routes: this.table.routes.length });
      return sendJson(res, 404, { error: 'unknown introspection path; try /routes or /healthz' });
    }
    if (host === undefined) return this.plainDeny(res, method, url, 'not-a-proxy-request', 400, 'this is a proxy: use it as HTTPS_PROXY');
    this.plainDeny(res, method, `http://${host}${auditPath(path)}`, 'plain-http', 403, 'plain HTTP cannot be protected; use https:// (the proxy intercepts and checks TLS)', host);
  }

  private plainDeny(res: http.ServerResponse, method: string, what: string, reason: string, status: number, detail: string, host = '-'): void {
    auditDeny(this.ctx, method, host, 80, what.replace(/^https?:\/\/[^/]*/, ''), status, reason);
    sendDeny(res, status, reason, denyText(`${method} ${what}`, reason, detail, undefined), true);
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

  // ---------------------------------------------------------------- requests inside a tunnel

  private onInner(req: http.IncomingMessage, res: http.ServerResponse): void {
    const t = tunnelTarget(req.socket);
    if (t === undefined) return sendDeny(res, 400, 'bad-request', 'bot-bottle egress: no tunnel\n', true);
    const a = admit(this.ctx, req, t, (req.socket as TLSSocket).servername);
    const ex = new Exchange(this.ctx, req, res, t, req.method ?? 'GET', a.target);
    if (!a.ok) return ex.deny(a.status, a.reason, a.detail, a.suggestion);
    inspectAndForward(this.upstream, ex, a.route, a.token);
  }
}
