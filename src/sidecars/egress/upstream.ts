/**
 * Upstream: re-originate the admitted request over TLS with full
 * verification (system roots plus the bottle's extra CAs; the address from
 * `hosts` first), through a keep-alive pool per upstream, with the route's
 * token injected and the agent's credentials and hop-by-hop headers left
 * behind; then stream the answer back (inbound prompt-injection heuristics
 * when the route asks for them: flag the answer, refuse it, or hold it for a
 * human, per `inbound_on_match`). On routes with auth the answer is scrubbed
 * of every injected credential and known secret (response-scrub.ts), so an
 * upstream that echoes the request never hands the token to the agent.
 */
import * as https from 'node:https';
import type * as http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ConnectionOptions, SecureContext } from 'node:tls';
import type { EgressRoute } from '../../manifest/types.js';
import { DECODABLE_CODINGS } from './codings.js';
import { decodeContent, inboundWarnings, isTextual, type KnownSecrets } from './dlp.js';
import type { Exchange, ProxyContext, Target } from './exchange.js';
import { holdForHuman } from './holds.js';
import { releaseBuffer } from '../buffer-release.js';
import { freeParsedReads, relay } from './relay.js';
import { INBOUND_WARNING_HEADER, sendDeny } from './reply.js';
import { decoders, responseCodings, type Scrubber, scrubberOf } from './response-scrub.js';

/** Request-side headers never forwarded (hop-by-hop, or handled here). */
export const DROP_REQUEST: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect', 'http2-settings']);
/** Response-side headers never forwarded. */
const DROP_RESPONSE: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'trailer']);
/** Credentials the agent may send that a route with `auth` replaces. */
const AGENT_CREDENTIALS = ['authorization', 'proxy-authorization', 'x-api-key'];
/** How long a pooled upstream connection may sit idle (less when the upstream announces less). */
const IDLE_MS = 60_000;
/** Responses up to this size are buffered and sent with their headers in one write. */
const SMALL_BODY = 64 * 1024;

const EMPTY: ReadonlySet<string> = new Set();
const dropCache = new WeakMap<EgressRoute, ReadonlySet<string>>();

/** The agent's headers a route with auth never forwards (its credentials, and the header the token goes in). */
export function droppedHeaders(route: EgressRoute): ReadonlySet<string> {
  if (route.auth === undefined) return EMPTY;
  let set = dropCache.get(route);
  if (set === undefined) {
    set = new Set([...AGENT_CREDENTIALS, route.auth.header.toLowerCase()]);
    dropCache.set(route, set);
  }
  return set;
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

/** The agent's Accept-Encoding cut to codings the scrubber decodes (identity when none is left). */
function scrubbableAcceptEncoding(value: string): string {
  const kept = value
    .split(',')
    .map((c) => c.trim())
    .filter((c) => {
      const name = (c.split(';')[0] ?? '').trim().toLowerCase();
      return name === 'identity' || DECODABLE_CODINGS.has(name);
    });
  return kept.length > 0 ? kept.join(', ') : 'identity';
}

/** Where and how a pool connects: the same for every connection of one upstream. */
interface Dial {
  readonly host: string;
  readonly port: number;
  readonly secureContext: SecureContext;
}

/** The request options a pool is handed (it reads none of them: see UpstreamAgent.addRequest). */
const NO_REQUEST_OPTIONS: Readonly<Record<string, never>> = Object.freeze({});

type AddRequest = (this: https.Agent, req: http.ClientRequest, options: object) => void;
const agentAddRequest = (https.Agent.prototype as unknown as { addRequest: AddRequest }).addRequest;

/** Marks a pooled connection as watched by idleGuard (so reuse takes the guard off only where it put it). */
const GUARDED = Symbol('egress.idleGuard');
type Pooled = Socket & { [GUARDED]?: true };

/**
 * An idle pooled connection that receives anything is poisoned: an upstream
 * speaking out of turn would have its bytes read as the answer to the next
 * request sent on it. It is destroyed, so nothing can be reused on it. One
 * module-level listener (no closure per request).
 */
function idleGuard(this: Socket): void {
  this.destroy();
}

/**
 * The pool of one upstream (one CONNECT target, one kind of route: see
 * poolClass). Every request through it goes to the same address with the
 * same server name, trust and TLS context (forward() passes nothing else that
 * names a connection), so all its connections share one pool key. https.Agent
 * would build that key from some twenty options, three times a request: a
 * tenth of the proxy's allocations on small requests.
 *
 * For the same reason the pool is handed no request options: Node's
 * addRequest copies the request's options and the agent's into one
 * dictionary per request (a tenth of the allocations again), only to name
 * the pool and, for a new connection, to dial it. The name is the key, the
 * server name an agent option, and where to dial (address, port, trust) is
 * added when a connection is made (createConnection), so the copy holds only
 * the pool's own options.
 *
 * Poisoned connections. An idle pooled connection carries idleGuard from the
 * moment it is pooled until a request takes it: any byte that arrives
 * meanwhile destroys it (Node 22 puts its own guard of the same kind on the
 * socket's handle; Node 20 has none). A connection with bytes already
 * buffered is never reused. Node 22 also peeks at the kernel socket
 * (`recvfrom(MSG_PEEK)`) on every reuse, for bytes that came after the last
 * poll; that syscall was a twentieth of the proxy's CPU on small requests.
 * This pool skips it: a byte that slipped into that window can reach only a
 * request of the same pool, and pools are split by what is done to the
 * answer (poolClass: token scrubbing, inbound scanning), so a poisoned
 * connection can never hand the answer to a request that carried a token to
 * one that is not scrubbed, or an answer kept from inbound scanning on one
 * route to a route that does not scan. (Such an upstream could equally send
 * those bytes a moment later, as the answer itself: no peek closes that.)
 */
class UpstreamAgent extends https.Agent {
  constructor(
    private readonly key: string,
    private readonly dial: Dial,
    options: https.AgentOptions,
  ) {
    super(options);
  }

  override getName(): string {
    return this.key;
  }

  addRequest(req: http.ClientRequest, _options: object): void {
    const pool = this.freeSockets as Record<string, Pooled[] | undefined>;
    const free = pool[this.key];
    if (free !== undefined) {
      // Newest first (lifo, as the pool is configured); destroyed or poisoned ones are dropped.
      let socket: Pooled | undefined;
      while ((socket = free.pop()) !== undefined) {
        if (!socket.destroyed && socket.readableLength === 0) break;
        socket.destroy();
      }
      if (free.length === 0) delete pool[this.key];
      if (socket !== undefined) {
        if (socket[GUARDED] === true) {
          socket.removeListener('data', idleGuard);
          delete socket[GUARDED];
        }
        // Node's own hand-over: its idle error listener (and guard) off, `reusedSocket`, ref().
        // (Node would also give the handle a new async id: only async_hooks see that, and the
        // egress sidecar uses none.)
        this.reuseSocket(socket, req);
        ((this.sockets as Record<string, Socket[] | undefined>)[this.key] ??= []).push(socket);
        req.onSocket(socket);
        return;
      }
    }
    agentAddRequest.call(this, req, NO_REQUEST_OPTIONS);
  }

  override createConnection(options: http.ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    // Full verification always; the address, port and trust are the pool's, whatever the request said.
    const dial: http.ClientRequestArgs & Pick<ConnectionOptions, 'secureContext' | 'rejectUnauthorized'> = { ...options, host: this.dial.host, port: this.dial.port, secureContext: this.dial.secureContext, rejectUnauthorized: true };
    return super.createConnection(dial, callback);
  }

  /**
   * A pooled connection closes after IDLE_MS idle, or a second before the
   * upstream's `Keep-Alive: timeout=N` (Node applies that hint here, against
   * the agent's `timeout`). The timeout is the agent's only for this call: as a
   * standing option, every request would also listen for the socket's timeout
   * and reset its timer twice (ClientRequest does whenever its agent has one).
   */
  override keepSocketAlive(socket: Duplex): boolean {
    this.options.timeout = IDLE_MS;
    let keep: unknown;
    try {
      keep = super.keepSocketAlive(socket);
    } finally {
      this.options.timeout = undefined;
    }
    if (keep === false) return false;
    // Called last before the connection is pooled (https.Agent's 'free'): watched from now on.
    const pooled = socket as Pooled;
    if (pooled[GUARDED] !== true) {
      pooled[GUARDED] = true;
      pooled.on('data', idleGuard);
    }
    return true;
  }
}

export class Upstream {
  private readonly agents = new Map<string, https.Agent>();
  private scrubberCache: { tokens: readonly string[]; known: KnownSecrets; scrubber: Scrubber } | undefined;

  /** `secureContext`: the upstream trust, asked for by each new pool (made once, on first use: see EgressProxy). */
  constructor(
    private readonly ctx: ProxyContext,
    private readonly secureContext: () => SecureContext,
  ) {}

  close(): void {
    for (const a of this.agents.values()) a.destroy();
  }

  /** The scrubber for the bottle's tokens and known secrets in force (rebuilt when either is reloaded). */
  private scrubber(): Scrubber {
    const tokens = this.ctx.tokenValues();
    const known = this.ctx.known();
    const c = this.scrubberCache;
    if (c !== undefined && c.known === known && c.tokens.length === tokens.length && c.tokens.every((t, i) => t === tokens[i])) return c.scrubber;
    const scrubber = scrubberOf(tokens, known);
    this.scrubberCache = { tokens, known, scrubber };
    return scrubber;
  }

  /**
   * The pool of `t` for answers treated as `cls` says (poolClass). Where and how
   * it connects (the address from `hosts` first, the server name, full
   * verification) are the pool's, not each request's: Node copies a request's
   * options four times over before it reaches the pool.
   */
  private agentFor(t: Target, cls: string): https.Agent {
    const key = `${t.host}:${t.port}${cls}`;
    let a = this.agents.get(key);
    if (a === undefined) {
      a = new UpstreamAgent(key, { host: this.ctx.config.hosts[t.host] ?? t.host, port: t.port, secureContext: this.secureContext() }, {
        servername: t.host,
        keepAlive: true,
        keepAliveMsecs: 15_000,
        maxSockets: 256,
        maxFreeSockets: 64,
        scheduling: 'lifo',
      });
      this.agents.set(key, a);
    }
    return a;
  }

  /**
   * Send the request upstream and stream the answer back. `body` is the
   * buffered body (undefined: stream the agent's); `headers` replaces the
   * agent's headers (already filtered, for a redacted request). `body` is
   * the caller's no more: it is freed once sent.
   */
  forward(ex: Exchange, route: EgressRoute, token: string | undefined, body: Buffer | undefined, headers: [string, string][] | undefined, retried = false): void {
    const { req, res, t } = ex;
    const out: string[] = [];
    if (headers !== undefined) {
      for (const [k, v] of headers) out.push(k, v);
    } else {
      const dropped = droppedHeaders(route);
      const raw = req.rawHeaders;
      const conn = req.headers.connection;
      // `Connection: keep-alive` (what most clients send) names only a header dropped anyway.
      const named = conn === undefined || conn === 'keep-alive' ? undefined : new Set(conn.toLowerCase().split(',').map((s) => s.trim()));
      for (let i = 0; i < raw.length; i += 2) {
        const name = raw[i];
        const lower = name.toLowerCase();
        if (DROP_REQUEST.has(lower) || dropped.has(lower) || named?.has(lower)) continue;
        out.push(name, token !== undefined && lower === 'accept-encoding' ? scrubbableAcceptEncoding(raw[i + 1]) : raw[i + 1]);
      }
      if (body !== undefined && req.headers['content-length'] === undefined) out.push('Content-Length', String(body.length));
    }
    if (route.auth !== undefined && token !== undefined) {
      out.push(route.auth.header, route.auth.scheme === '' ? token : `${route.auth.scheme} ${token}`);
    }
    const streaming = body === undefined && (req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0'));
    if (streaming && req.headers['transfer-encoding'] !== undefined) out.push('Transfer-Encoding', 'chunked');

    const up = https.request({
      agent: this.agentFor(t, poolClass(route, token)),
      method: ex.method,
      path: ex.target,
      headers: out,
      setHost: false,
    });
    let responded = false;
    up.on('response', (upRes) => {
      responded = true;
      // No retry is possible now: once the body is fully written, free it (buffer-release.ts).
      // Not before: bytes missing from a keep-alive connection would desync it for the next request.
      if (body !== undefined) {
        if (up.writableFinished) releaseBuffer(body);
        else up.once('finish', () => releaseBuffer(body));
      }
      // A token went out: nothing that holds it (or a known secret) may come back.
      this.respond(ex, route, up, upRes, token === undefined ? undefined : this.scrubber());
    });
    up.on('error', (err: NodeJS.ErrnoException) => {
      if (responded) {
        res.destroy();
        return;
      }
      // A pooled connection the server closed meanwhile: one retry when nothing was streamed.
      if (!retried && up.reusedSocket && !streaming && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) {
        this.forward(ex, route, token, body, headers, true);
        return;
      }
      const tlsErr = upstreamTlsError(err);
      ex.verdict = 'error';
      const reason = tlsErr ? 'upstream-tls' : 'upstream-unreachable';
      ex.reason = reason;
      if (!res.headersSent) {
        sendDeny(res, 502, reason, `bot-bottle egress: ${tlsErr ? 'upstream TLS verification failed' : 'upstream unreachable'} for ${t.host}:${t.port}: ${err.code ?? err.message}\n`, false);
      } else res.destroy();
      ex.finish(502);
    });
    // 'close' comes once: `on`, not `once` (no wrapper per request).
    res.on('close', () => {
      if (!res.writableFinished) {
        up.destroy();
        if (!ex.done) {
          ex.reason ??= 'client-gone';
          ex.finish(499);
        }
      }
    });
    if (body !== undefined) {
      ex.bytesOut = body.length;
      up.end(body);
    } else if (streaming) {
      req.on('data', (c: Buffer) => {
        ex.bytesOut += c.length;
      });
      req.pipe(up);
    } else up.end();
  }

  private respond(ex: Exchange, route: EgressRoute, up: http.ClientRequest, upRes: http.IncomingMessage, scrub: Scrubber | undefined): void {
    const res = ex.res;
    const status = upRes.statusCode ?? 502;
    const small = isSmall(upRes);
    // A small answer comes in a read or two, which the GC frees soon enough; free a big one's as it streams.
    if (!small) freeParsedReads(upRes.socket, up);
    const raw = upRes.rawHeaders;
    const conn = upRes.headers.connection;
    const named = conn === undefined || conn === 'keep-alive' || conn === 'close' ? undefined : new Set(conn.toLowerCase().split(',').map((s) => s.trim()));
    // Scrubbing a compressed answer means decoding it: it goes out as identity, without its length.
    let codings: string[] = [];
    if (scrub !== undefined && hasBody(ex.method, status)) {
      const c = responseCodings(upRes.headers['content-encoding']);
      if (c === 'unsupported') {
        upRes.resume();
        ex.verdict = 'error';
        ex.reason = 'upstream-unscannable-encoding';
        sendDeny(res, 502, 'upstream-unscannable-encoding', `bot-bottle egress: the answer is encoded as ${upRes.headers['content-encoding'] ?? ''}, which the proxy cannot check for the injected credential\n`, false);
        ex.finish(502);
        return;
      }
      codings = c;
    }
    const decoded = codings.length > 0;
    const out: string[] = [];
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i];
      const lower = name.toLowerCase();
      if (DROP_RESPONSE.has(lower) || named?.has(lower)) continue;
      if (decoded && (lower === 'content-encoding' || lower === 'content-length')) continue;
      out.push(name, scrub === undefined ? raw[i + 1] : scrub.text(raw[i + 1]));
    }
    const statusMessage = scrub === undefined ? upRes.statusMessage : scrub.text(upRes.statusMessage ?? '');
    upRes.on('error', () => res.destroy());
    // What the agent receives: the upstream's bytes, decoded and scrubbed when a token went out.
    const inbound = route.dlp?.inbound === true && isTextual(upRes.headers['content-type']);
    if (!inbound && !decoded && small) {
      // Small answers go out as one write (one TLS record, one syscall) with their headers,
      // scrubbed in place once buffered. One 'data' listener (emit copies its list when there are more).
      const chunks: Buffer[] = [];
      let size = 0;
      upRes.on('data', (c: Buffer) => {
        chunks.push(c);
        size += c.length;
        ex.bytesIn += c.length;
      });
      upRes.on('end', () => {
        const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
        if (scrub !== undefined && body !== undefined) scrub.scrubInPlace(body);
        res.writeHead(status, statusMessage, out);
        res.end(body);
        ex.finish(status);
      });
      return;
    }
    upRes.on('data', (c: Buffer) => {
      ex.bytesIn += c.length;
    });
    let source: NodeJS.ReadableStream = upRes;
    // Everything else is scrubbed on the way.
    if (scrub !== undefined) {
      for (const d of decoders(codings)) {
        d.once('error', () => res.destroy());
        source = source.pipe(d);
      }
      source = source.pipe(scrub.stream());
    }
    if (!inbound) {
      res.writeHead(status, statusMessage, out);
      if (source === upRes) relay(upRes, res);
      else source.pipe(res);
      source.once('end', () => ex.finish(status));
      return;
    }
    // Inbound heuristics need the text before the headers go out (the warning is a header).
    const cap = this.ctx.config.bodyCap;
    const action = route.dlp?.inbound_on_match ?? 'warn';
    const enforce = action !== 'warn';
    const chunks: Buffer[] = [];
    let size = 0;
    let streamed = false;
    source.on('data', (c: Buffer) => {
      if (streamed) return;
      size += c.length;
      chunks.push(c);
      if (size > cap) {
        streamed = true;
        if (enforce) {
          // A route that keeps injections from the agent cannot let an unscanned answer through.
          chunks.length = 0;
          res.once('finish', () => upRes.destroy());
          ex.deny(502, 'dlp-inbound-too-large', `the answer exceeds ${cap} bytes, so it cannot be scanned for prompt injection, and this route keeps unscanned answers from the agent`, undefined, 'inbound', 'dlp-block');
          return;
        }
        // Too big to hold: send what we have and stream the rest, unscanned.

        ex.warnings = [...(ex.warnings ?? []), 'inbound-unscanned'];
        res.writeHead(status, statusMessage, out);
        for (const b of chunks) res.write(b);
        chunks.length = 0;
        source.pipe(res);
      }
    });
    source.once('end', () => {
      if (streamed) return enforce ? undefined : ex.finish(status);
      const body = Buffer.concat(chunks, size);
      const text = decodeContent(body, decoded ? undefined : upRes.headers['content-encoding'], cap);
      if (typeof text === 'string' && enforce) {
        return ex.deny(502, 'dlp-inbound-unscannable', `the answer could not be decoded for the prompt-injection scan (${text}), and this route keeps unscanned answers from the agent`, undefined, 'inbound', 'dlp-block');
      }
      const warnings = typeof text === 'string' ? ['inbound-unscanned'] : inboundWarnings(text.toString('utf8'));
      const hdrs = out.filter((_, i) => i % 2 === 0).some((n) => n.toLowerCase() === 'content-length') ? out : [...out, 'Content-Length', String(body.length)];
      const send = (): void => {
        res.writeHead(status, statusMessage, hdrs);
        res.end(body);
        ex.finish(status);
      };
      if (warnings.length === 0) return send();
      if (!enforce) {
        ex.warnings = [...(ex.warnings ?? []), ...warnings.map((w) => `inbound:${w}`)];
        hdrs.push(INBOUND_WARNING_HEADER, warnings.join(', '));
        return send();
      }
      // Named by heuristic family only: the injected text never reaches the agent, the log or the human's prompt.
      const rules = warnings.map((w) => `inbound:${w}`).join(',');
      ex.rule = rules;
      const detail = `the answer (status ${status}) looks like a prompt injection (${warnings.join(', ')}); it is kept from the agent and not shown`;
      if (action === 'block') return ex.deny(502, 'dlp-inbound-blocked', detail, undefined, rules, 'dlp-block');
      holdForHuman(ex, { rules, wheres: 'response', blockDetail: detail }, () => {
        // Released by a human: the agent gets the answer, still flagged.
        hdrs.push(INBOUND_WARNING_HEADER, warnings.join(', '));
        send();
      });
    });
  }
}

/**
 * What respond() does to an answer on `route`: scrubbed of every token and
 * known secret (a token went out), scanned for prompt injection (and with which
 * consequence), or neither. Connections are pooled per class, so an answer can
 * only ever be read on a connection whose requests are all treated alike (see
 * UpstreamAgent). '' for the common case: no string built per request.
 */
function poolClass(route: EgressRoute, token: string | undefined): string {
  const dlp = route.dlp;
  const inbound = dlp?.inbound === true ? dlp.inbound_on_match : undefined;
  if (token === undefined) return inbound === undefined ? '' : ` inbound:${inbound}`;
  return inbound === undefined ? ' scrubbed' : ` scrubbed inbound:${inbound}`;
}

/** Whether a response to `method` with `status` carries a body at all. */
function hasBody(method: string, status: number): boolean {
  return method !== 'HEAD' && status !== 204 && status !== 304 && (status < 100 || status >= 200);
}

/** Whether the answer declares a length up to SMALL_BODY. */
function isSmall(upRes: http.IncomingMessage): boolean {
  const cl = upRes.headers['content-length'];
  return cl !== undefined && Number(cl) <= SMALL_BODY;
}
