/**
 * Admission of one request inside a tunnel: a pure function of the request
 * head, the tunnel's target and the routes in force. The TLS server name,
 * the Host header and the absolute-form authority must all name the CONNECT
 * target, and there is exactly one Host (a second one would travel unscanned
 * and may pick another virtual host upstream); upgrades, dot segments,
 * backslashes and DNS-over-HTTPS are refused; a route must allow the method,
 * path and headers, and also every method the request asks the upstream to
 * run instead (X-HTTP-Method-Override and kin, `_method=`); a route with auth
 * needs its host token. The answer is the route (and token) or a refusal.
 */
import type * as http from 'node:http';
import type { EgressRoute } from '../../manifest/types.js';
import type { ProxyContext, Target } from './exchange.js';
import { decide } from './policy.js';

export interface Admitted {
  readonly ok: true;
  readonly route: EgressRoute;
  /** The request target in origin form (an absolute-form target is reduced to its path). */
  readonly target: string;
  readonly token: string | undefined;
}

export interface Refused {
  readonly ok: false;
  readonly status: number;
  readonly reason: string;
  readonly detail: string;
  readonly suggestion?: string | undefined;
  /** The target as far as it was understood, for the audit line. */
  readonly target: string;
}

export type Admission = Admitted | Refused;

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

/** Headers and the query parameter that frameworks read as "run this method instead". */
export const METHOD_OVERRIDE_HEADERS = ['x-http-method-override', 'x-http-method', 'x-method-override'] as const;
const OVERRIDE_PARAM = /(?:^|&)_method=([^&]*)/gi;

/** The methods a request asks the upstream to run instead of its own (upper case), with where it asks. */
export function methodOverrides(headers: http.IncomingHttpHeaders, target: string): { method: string; via: string }[] {
  const out: { method: string; via: string }[] = [];
  for (const h of METHOD_OVERRIDE_HEADERS) {
    const v = headers[h];
    if (v === undefined) continue;
    for (const m of (Array.isArray(v) ? v : [v]).flatMap((x) => x.split(','))) out.push({ method: m.trim().toUpperCase(), via: h });
  }
  const q = target.indexOf('?');
  if (q !== -1 && /_method=/i.test(target)) {
    for (const m of target.slice(q + 1).matchAll(OVERRIDE_PARAM)) {
      let value = m[1] ?? '';
      try {
        value = decodeURIComponent(value.replace(/\+/g, ' '));
      } catch {
        // left as sent: it is compared, never used
      }
      out.push({ method: value.trim().toUpperCase(), via: '_method' });
    }
  }
  return out;
}

/**
 * Header names that, spelled with `_` for `-`, CGI/WSGI-style servers read as
 * the real thing (both become HTTP_TRANSFER_ENCODING): a `Transfer_Encoding:
 * chunked` the proxy forwards as an ordinary header would frame the body
 * differently upstream and smuggle a request past the checks here.
 */
const UNDERSCORE_TWINS = new Set(['transfer-encoding', 'content-length', 'content-encoding', 'host', 'connection', 'upgrade', 'te', 'trailer', 'expect', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'authorization', 'x-api-key']);

/** Count the Host headers; the first header name that is an underscore twin of a framing or credential header. */
function scanNames(raw: readonly string[]): { hosts: number; twin: string | undefined } {
  let hosts = 0;
  let twin: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] ?? '';
    if (name.length === 4 && name.toLowerCase() === 'host') hosts++;
    else if (twin === undefined && name.includes('_') && UNDERSCORE_TWINS.has(name.toLowerCase().replace(/_/g, '-'))) twin = name;
  }
  return { hosts, twin };
}

const refused = (status: number, reason: string, detail: string, target: string, suggestion?: string): Refused => ({ ok: false, status, reason, detail, suggestion, target });

/**
 * Decide whether `req`, which arrived through the tunnel to `t` with TLS
 * server name `sni`, may go upstream.
 */
export function admit(ctx: ProxyContext, req: http.IncomingMessage, t: Target, sni: string | false | null | undefined): Admission {
  const method = req.method ?? 'GET';
  let target = req.url ?? '/';
  if (typeof sni !== 'string' || sni.toLowerCase().replace(/\.$/, '') !== t.host) return refused(421, 'sni-mismatch', 'the TLS server name differs from the CONNECT target', target);
  // Node keeps the first of several Host headers; the upstream may read the last. One only.
  const names = scanNames(req.rawHeaders);
  if (names.hosts > 1) return refused(400, 'duplicate-host', 'a request carries exactly one Host header', target);
  if (names.twin !== undefined) return refused(400, 'ambiguous-header', `${names.twin} is read as ${names.twin.replace(/_/g, '-')} by some servers; send the real header or none`, target);
  // Absolute form inside the tunnel: its authority is the Host.
  let hostHeader = req.headers.host;
  if (!target.startsWith('/')) {
    if (target === '*') return refused(403, 'bad-request', 'asterisk-form targets are not forwarded', target);
    try {
      const u = new URL(target);
      if (u.protocol !== 'https:') return refused(403, 'plain-http', 'only https requests are forwarded inside a tunnel', target);
      if (hostHeader !== undefined && hostHeader.toLowerCase() !== u.host.toLowerCase()) return refused(400, 'host-mismatch', 'the request URL and Host header disagree', target);
      hostHeader = u.host;
      target = u.pathname + u.search;
    } catch {
      return refused(400, 'bad-request', 'malformed request target', target);
    }
  }
  const hp = hostHeader === undefined ? undefined : hostOf(hostHeader);
  if (hp === undefined || hp.host !== t.host || (hp.port !== undefined && hp.port !== t.port)) {
    return refused(403, 'host-mismatch', `the Host header (${hostHeader ?? 'none'}) must name the CONNECT target ${t.host}:${t.port}`, target);
  }
  if (req.headers.upgrade !== undefined) return refused(403, 'upgrade-not-inspectable', 'WebSocket and other protocol upgrades cannot be inspected, so they are refused', target);
  if (nonCanonicalPath(target)) return refused(403, 'non-canonical-path', 'paths with . or .. segments or backslashes are refused (send the resolved path)', target);
  if (isDoh(method, target, req.headers)) return refused(403, 'doh', 'DNS-over-HTTPS is refused; name resolution is the proxy\'s job', target);

  const d = decide(ctx.table(), { method, host: t.host, port: t.port, path: target, headers: req.headers });
  if (!d.allow) return refused(403, d.reason, d.detail, target, d.suggestion);
  const route = d.route;
  if (req.headers['x-http-method-override'] !== undefined || req.headers['x-http-method'] !== undefined || req.headers['x-method-override'] !== undefined || /_method=/i.test(target)) {
    for (const o of methodOverrides(req.headers, target)) {
      const od = decide(ctx.table(), { method: o.method, host: t.host, port: t.port, path: target, headers: req.headers });
      if (!od.allow || od.route !== route) {
        return refused(403, 'method-override-not-allowed', `${o.via} asks the upstream to run ${o.method || '(empty)'}, which the route does not allow`, target, od.allow ? undefined : od.suggestion);
      }
    }
  }

  // Token first: a route with auth never goes out without it.
  let token: string | undefined;
  if (route.auth !== undefined) {
    token = ctx.token(route.auth.token_ref);
    if (token === undefined) return refused(502, 'token-unavailable', `the host token ${route.auth.token_ref} for this route is not available to the proxy`, target);
  }
  return { ok: true, route, target, token };
}
