/**
 * Upstream: re-originate the admitted request over TLS with full
 * verification (system roots plus the bottle's extra CAs; the address from
 * `hosts` first), through a keep-alive pool per upstream, with the route's
 * token injected and the agent's credentials and hop-by-hop headers left
 * behind; then stream the answer back (inbound prompt-injection heuristics
 * when the route asks for them).
 */
import * as https from 'node:https';
import type * as http from 'node:http';
import type { SecureContext } from 'node:tls';
import type { EgressRoute } from '../../manifest/types.js';
import { decodeContent, inboundWarnings, isTextual } from './dlp.js';
import type { Exchange, ProxyContext, Target } from './exchange.js';
import { INBOUND_WARNING_HEADER, sendDeny } from './reply.js';

/** Request-side headers never forwarded (hop-by-hop, or handled here). */
export const DROP_REQUEST: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect', 'http2-settings']);
/** Response-side headers never forwarded. */
const DROP_RESPONSE: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'trailer']);
/** Credentials the agent may send that a route with `auth` replaces. */
const AGENT_CREDENTIALS = ['authorization', 'proxy-authorization', 'x-api-key'];
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

export class Upstream {
  private readonly agents = new Map<string, https.Agent>();

  constructor(
    private readonly ctx: ProxyContext,
    private readonly secureContext: SecureContext,
  ) {}

  close(): void {
    for (const a of this.agents.values()) a.destroy();
  }

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
   * buffered body (undefined: stream the agent's); `headers` replaces the
   * agent's headers (already filtered, for a redacted request).
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

    const address = this.ctx.config.hosts[t.host] ?? t.host;
    const up = https.request(<https.RequestOptions & { secureContext: SecureContext }>{
      agent: this.agentFor(t),
      host: address,
      port: t.port,
      servername: t.host,
      secureContext: this.secureContext,
      rejectUnauthorized: true,
      method: ex.method,
      path: ex.target,
      headers: out,
      setHost: false,
    });
    let responded = false;
    up.on('response', (upRes) => {
      responded = true;
      this.respond(ex, route, upRes);
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
    res.once('close', () => {
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

  private respond(ex: Exchange, route: EgressRoute, upRes: http.IncomingMessage): void {
    const res = ex.res;
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
        ex.bytesIn += c.length;
      });
      upRes.once('end', () => {
        res.writeHead(status, upRes.statusMessage, out);
        res.end(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, ex.bytesIn));
        ex.finish(status);
      });
      upRes.once('error', () => res.destroy());
      return;
    }
    if (!inbound) {
      res.writeHead(status, upRes.statusMessage, out);
      upRes.on('data', (c: Buffer) => {
        ex.bytesIn += c.length;
      });
      upRes.pipe(res);
      upRes.once('end', () => ex.finish(status));
      upRes.once('error', () => res.destroy());
      return;
    }
    // Inbound heuristics need the text before the headers go out (the warning is a header).
    const cap = this.ctx.config.bodyCap;
    const chunks: Buffer[] = [];
    let size = 0;
    let streamed = false;
    upRes.on('data', (c: Buffer) => {
      ex.bytesIn += c.length;
      if (streamed) return;
      size += c.length;
      chunks.push(c);
      if (size > cap) {
        // Too big to hold: send what we have and stream the rest, unscanned.
        streamed = true;
        ex.warnings = [...(ex.warnings ?? []), 'inbound-unscanned'];
        res.writeHead(status, upRes.statusMessage, out);
        for (const b of chunks) res.write(b);
        chunks.length = 0;
        upRes.pipe(res);
      }
    });
    upRes.once('end', () => {
      if (streamed) return ex.finish(status);
      const body = Buffer.concat(chunks, size);
      const decoded = decodeContent(body, upRes.headers['content-encoding'], cap);
      const warnings = typeof decoded === 'string' ? ['inbound-unscanned'] : inboundWarnings(decoded.toString('utf8'));
      const hdrs = out.filter((_, i) => i % 2 === 0).some((n) => n.toLowerCase() === 'content-length') ? out : [...out, 'Content-Length', String(body.length)];
      if (warnings.length > 0) {
        ex.warnings = [...(ex.warnings ?? []), ...warnings.map((w) => `inbound:${w}`)];
        hdrs.push(INBOUND_WARNING_HEADER, warnings.join(', '));
      }
      res.writeHead(status, upRes.statusMessage, hdrs);
      res.end(body);
      ex.finish(status);
    });
    upRes.once('error', () => res.destroy());
  }
}
