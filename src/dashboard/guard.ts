/**
 * Who may talk to the dashboard: a request whose `Host` (and `Origin`, when
 * sent) is this dashboard's own loopback address, carrying the token, first
 * in the URL the CLI printed and from then on in a `SameSite=Strict` cookie.
 * A page on another site cannot send the cookie; a rebound DNS name cannot
 * pass the Host check; nothing else on the machine knows the token.
 */
import type { MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { hostPort, type ListenAddress } from './listen.js';
import { tokenMatches } from './token.js';

export interface Origins {
  /** `Host` header values accepted. */
  readonly hosts: ReadonlySet<string>;
  /** `Origin` header values accepted. */
  readonly origins: ReadonlySet<string>;
}

/** The names this dashboard answers to: its address, and `localhost` for a loopback address. */
export function originsOf(bound: ListenAddress): Origins {
  const hosts = new Set([hostPort(bound)]);
  if (bound.host === '127.0.0.1' || bound.host === '::1') hosts.add(`localhost:${bound.port}`);
  return { hosts, origins: new Set([...hosts].map((h) => `http://${h}`)) };
}

const UNAUTHORIZED = '401: this dashboard needs its token. Open the URL that `bot-bottle dashboard` printed (it ends in ?token=…).\n';

export function cookieName(port: number): string {
  // Cookies are per host, not per port: two dashboards must not share one.
  return `bb_dashboard_${port}`;
}

/** Refuse a foreign Host or Origin (DNS rebinding, cross-site requests) before anything else. */
export function sameOrigin(get: () => Origins): MiddlewareHandler {
  return async (c, next) => {
    const o = get();
    const host = c.req.header('host')?.toLowerCase();
    if (host === undefined || !o.hosts.has(host)) return c.text(`refused: Host ${JSON.stringify(host ?? '')} is not this dashboard's address\n`, 403);
    const origin = c.req.header('origin');
    if (origin !== undefined && !o.origins.has(origin.toLowerCase())) return c.text(`refused: Origin ${JSON.stringify(origin)} is not this dashboard\n`, 403);
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      // Changes come from the page's own fetch() only: JSON, same origin.
      const site = c.req.header('sec-fetch-site');
      if (site !== undefined && site !== 'same-origin') return c.text('refused: cross-site request\n', 403);
      if (!/^application\/json\b/i.test(c.req.header('content-type') ?? '')) return c.text('refused: expected application/json\n', 415);
    }
    return next();
  };
}

/**
 * The token check. `GET /?token=…` with the right token sets the cookie and
 * redirects to `/`, so the token leaves the address bar and the history.
 */
export function tokenGate(token: string, get: () => { cookie: string }): MiddlewareHandler {
  return async (c, next) => {
    const name = get().cookie;
    const presented = c.req.query('token');
    if (presented !== undefined && c.req.method === 'GET' && c.req.path === '/') {
      if (!tokenMatches(presented, token)) return c.text(UNAUTHORIZED, 401);
      setCookie(c, name, token, { path: '/', httpOnly: true, sameSite: 'Strict' });
      c.header('cache-control', 'no-store');
      return c.redirect('/', 303);
    }
    if (!tokenMatches(getCookie(c, name), token)) {
      return c.req.path.startsWith('/api/')
        ? c.json({ error: 'not signed in: open the URL that `bot-bottle dashboard` printed' }, 401)
        : c.text(UNAUTHORIZED, 401);
    }
    return next();
  };
}
