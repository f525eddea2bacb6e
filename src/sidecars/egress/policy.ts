/**
 * The allowlist decision: pure, no I/O. A request passes only when a route
 * for its exact host:port exists and (when the route has `matches`) one match
 * allows it. A denial carries a machine reason, a human sentence and the YAML
 * of the route that would allow the request, so an agent can ask for exactly
 * that.
 *
 * Semantics (in the spirit of the Gateway API HTTPRouteMatch):
 *  - host: exact, lower-case; port 443 unless the route says otherwise;
 *  - a match allows when all of its parts do: any of its `paths` (none = any
 *    path), any of its `methods` (none = any), all of its `headers`;
 *  - `prefix` matches whole path elements (`/a` allows `/a`, `/a/`, `/a/b`,
 *    not `/ab`); `exact` is string equality; `regex` must match the whole path;
 *  - header names are case-insensitive; `exact` values are equal strings,
 *    `regex` values must match the whole value;
 *  - the path is matched without its query string;
 *  - one host:port may hold several routes (the config's, then what a human
 *    approved at run time): the first route that allows a request decides it,
 *    so its auth and DLP apply. An approval never takes over the token of the
 *    route it sits next to, nor widens where that token goes.
 */
import { compileWhole, type LinearRegex } from '../../manifest/linear-regex.js';
import type { EgressRoute, RouteMatch } from '../../manifest/types.js';

export type HeaderBag = Readonly<Record<string, string | readonly string[] | undefined>>;

export interface RequestInfo {
  readonly method: string;
  readonly host: string;
  readonly port: number;
  /** Request target in origin form (`/a/b?q`); the query is ignored. */
  readonly path: string;
  /** Lower-case names, as Node's `IncomingMessage.headers`. */
  readonly headers: HeaderBag;
}

export type DenyReason = 'no-route' | 'unrouted-port' | 'path-not-allowed' | 'method-not-allowed' | 'header-not-matched';

export type Decision =
  | { readonly allow: true; readonly route: EgressRoute }
  | { readonly allow: false; readonly reason: DenyReason; readonly detail: string; readonly suggestion: string };

interface CompiledMatch {
  readonly paths: readonly ((path: string) => boolean)[];
  readonly methods: ReadonlySet<string> | undefined;
  readonly headers: readonly { readonly name: string; readonly test: (value: string) => boolean }[];
}

interface CompiledRoute {
  readonly route: EgressRoute;
  /** undefined: the route allows every request. */
  readonly matches: readonly CompiledMatch[] | undefined;
}

export interface RouteTable {
  readonly routes: readonly EgressRoute[];
  /** host:port -> its routes, in order (first allowing route wins). */
  readonly byKey: ReadonlyMap<string, readonly CompiledRoute[]>;
  readonly portsByHost: ReadonlyMap<string, readonly number[]>;
}

// Linear time (RE2): a crafted path cannot make a route's regex backtrack for seconds.
function anchored(source: string): LinearRegex {
  return compileWhole(source);
}

function compilePath(type: 'prefix' | 'exact' | 'regex', value: string): (path: string) => boolean {
  switch (type) {
    case 'exact':
      return (p) => p === value;
    case 'prefix': {
      if (value === '/') return () => true;
      const dir = value.endsWith('/') ? value : `${value}/`;
      const bare = value.endsWith('/') ? value.slice(0, -1) : value;
      return (p) => p === bare || p.startsWith(dir);
    }
    case 'regex': {
      const re = anchored(value);
      return (p) => re.test(p);
    }
    default: {
      const never: never = type;
      throw new Error(`unknown path match ${String(never)}`);
    }
  }
}

function compileMatch(m: RouteMatch): CompiledMatch {
  return {
    paths: m.paths.map((p) => compilePath(p.type, p.value)),
    methods: m.methods.length === 0 ? undefined : new Set(m.methods.map((x) => x.toUpperCase())),
    headers: m.headers.map((h) => {
      if (h.type === 'regex') {
        const re = anchored(h.value);
        return { name: h.name.toLowerCase(), test: (v: string) => re.test(v) };
      }
      const want = h.value;
      return { name: h.name.toLowerCase(), test: (v: string) => v === want };
    }),
  };
}

export function routeKey(host: string, port: number): string {
  return `${host}:${port}`;
}

export function compileRoutes(routes: readonly EgressRoute[]): RouteTable {
  const byKey = new Map<string, CompiledRoute[]>();
  const portsByHost = new Map<string, number[]>();
  for (const route of routes) {
    const host = route.host.toLowerCase();
    const key = routeKey(host, route.port);
    const list = byKey.get(key) ?? [];
    list.push({ route, matches: route.matches.length === 0 ? undefined : route.matches.map(compileMatch) });
    byKey.set(key, list);
    const ports = portsByHost.get(host) ?? [];
    if (!ports.includes(route.port)) ports.push(route.port);
    portsByHost.set(host, ports);
  }
  return { routes, byKey, portsByHost };
}

function headerValue(headers: HeaderBag, name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : v.join(', ');
}

function pathOnly(target: string): string {
  const q = target.indexOf('?');
  return q === -1 ? target : target.slice(0, q);
}

/** May a CONNECT to host:port proceed to TLS? (The requests inside still go through `decide`.) */
export function decideConnect(table: RouteTable, host: string, port: number): Decision {
  const h = host.toLowerCase();
  const c = table.byKey.get(routeKey(h, port))?.[0];
  if (c !== undefined) return { allow: true, route: c.route };
  const ports = table.portsByHost.get(h);
  const suggestion = suggestRoute(undefined, { method: 'GET', host: h, port, path: '/', headers: {} }, false);
  if (ports !== undefined) {
    return { allow: false, reason: 'unrouted-port', detail: `${h} is routed on port ${ports.join(', ')} only, not ${port}`, suggestion };
  }
  return { allow: false, reason: 'no-route', detail: `no route for ${h}${port === 443 ? '' : `:${port}`}`, suggestion };
}

export function decide(table: RouteTable, req: RequestInfo): Decision {
  const host = req.host.toLowerCase();
  const candidates = table.byKey.get(routeKey(host, req.port));
  const first = candidates?.[0];
  if (candidates === undefined || first === undefined) {
    const connect = decideConnect(table, host, req.port);
    if (!connect.allow) return { ...connect, suggestion: suggestRoute(undefined, req, true) };
    return connect;
  }
  const path = pathOnly(req.path);
  const method = req.method.toUpperCase();
  let pathSeen = false;
  let methodSeen = false;
  for (const c of candidates) {
    if (c.matches === undefined) return { allow: true, route: c.route };
    for (const m of c.matches) {
      if (m.paths.length !== 0 && !m.paths.some((t) => t(path))) continue;
      pathSeen = true;
      if (m.methods !== undefined && !m.methods.has(method)) continue;
      methodSeen = true;
      const headersOk = m.headers.every((h) => {
        const v = headerValue(req.headers, h.name);
        return v !== undefined && h.test(v);
      });
      if (headersOk) return { allow: true, route: c.route };
    }
  }
  const where = `${host}${req.port === 443 ? '' : `:${req.port}`}`;
  const suggestion = suggestRoute(first.route, req, true);
  if (!pathSeen) return { allow: false, reason: 'path-not-allowed', detail: `path ${path} is not allowed by the route for ${where}`, suggestion };
  if (!methodSeen) return { allow: false, reason: 'method-not-allowed', detail: `${method} ${path} is not allowed by the route for ${where}`, suggestion };
  return { allow: false, reason: 'header-not-matched', detail: `${method} ${path} lacks a header the route for ${where} requires`, suggestion };
}

// ------------------------------------------------------------------ suggestion (YAML)

const q = (s: string): string => JSON.stringify(s);

function matchYaml(m: RouteMatch, indent: string): string[] {
  const lines: string[] = [];
  const parts: string[] = [];
  if (m.paths.length > 0) parts.push(`paths: [${m.paths.map((p) => `{type: ${p.type}, value: ${q(p.value)}}`).join(', ')}]`);
  if (m.methods.length > 0) parts.push(`methods: [${m.methods.join(', ')}]`);
  if (m.headers.length > 0) parts.push(`headers: [${m.headers.map((h) => `{name: ${q(h.name)}, type: ${h.type}, value: ${q(h.value)}}`).join(', ')}]`);
  if (parts.length === 0) return [`${indent}- {}`];
  lines.push(`${indent}- ${parts[0]}`);
  for (const p of parts.slice(1)) lines.push(`${indent}  ${p}`);
  return lines;
}

/**
 * The YAML of a route that would allow `req`: the existing route (if any)
 * with one more match for exactly this method and path; a new route for a
 * host that has none (`withPath` false: the host alone, for a CONNECT).
 */
export function suggestRoute(existing: EgressRoute | undefined, req: RequestInfo, withPath: boolean): string {
  const host = req.host.toLowerCase();
  const lines = ['egress:', '  routes:', `    - host: ${q(req.port === 443 ? host : `${host}:${req.port}`)}`];
  const matches: RouteMatch[] = [...(existing?.matches ?? [])];
  if (withPath && (existing === undefined || existing.matches.length > 0)) {
    matches.push({ paths: [{ type: 'exact', value: pathOnly(req.path) }], methods: [req.method.toUpperCase()], headers: [] });
  }
  if (matches.length > 0) {
    lines.push('      matches:');
    for (const m of matches) lines.push(...matchYaml(m, '        '));
  }
  const auth = existing?.auth;
  if (auth !== undefined) lines.push(`      auth: {scheme: ${q(auth.scheme)}, token_ref: ${q(auth.token_ref)}, header: ${q(auth.header)}}`);
  const dlp = existing?.dlp;
  if (dlp !== undefined) lines.push(`      dlp: {outbound: ${dlp.outbound}, inbound: ${dlp.inbound}, on_match: ${dlp.on_match}, entropy: ${dlp.entropy}}`);
  return lines.join('\n') + '\n';
}
