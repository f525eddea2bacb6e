/**
 * The dashboard server: one Hono app on a loopback address. Static page from
 * the package, a server-sent event stream of the home's state (and the
 * selected bottle's audit log), and three actions: decide a proposal (the
 * same call as `bot-bottle approve` / `reject`), stop/preserve/resume a
 * bottle. It is a client of the library like the CLI: it imports only
 * `src/index.ts`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { getRequestListener } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import * as z from 'zod';
import {
  BottleError,
  decideProposal,
  findProposal,
  followAudit,
  isBottleError,
  auditOrigin,
  parseEditedText,
  readRecord,
  rebuildAndResume,
  resume,
  destroy,
  type AuditEntry,
  type Settings,
} from '../index.js';
import { cookieName, originsOf, sameOrigin, tokenGate, type Origins } from './guard.js';
import { Hub, errorText } from './hub.js';
import { hostPort, type ListenAddress } from './listen.js';
import { packageRoot } from '../paths.js';
import { dashboardToken } from './token.js';
import { wireProposal } from './views.js';
import { API, LOG_KEEP, type ServerEvent, type WireLogEntry } from './wire.js';

export interface DashboardOptions {
  readonly listen: ListenAddress;
  /** Mint a new token (logs out every page opened before). */
  readonly newToken?: boolean;
  /** One line per decision or action taken from the page (the CLI prints them). */
  readonly log?: (line: string) => void;
}

export interface Dashboard {
  /** The URL with the token: what the user opens. */
  readonly url: string;
  /** The address actually bound (the port is chosen when 0 was asked). */
  readonly address: ListenAddress;
  close(): Promise<void>;
}

const IDENTITY = /^[a-z][a-z0-9-]{0,62}$/;
const KEEPALIVE_MS = 20_000;
const LOG_BATCH_MS = 25;

/** Content-Security-Policy: only the page's own script and style, no inline anything, no framing. */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const DecideSchema = z.strictObject({
  approve: z.boolean(),
  note: z.string().max(4000).optional(),
  edited: z.string().max(256 * 1024).optional(),
});
const ActionSchema = z.strictObject({ action: z.enum(['stop', 'preserve', 'resume']) });

export async function startDashboard(settings: Settings, opts: DashboardOptions): Promise<Dashboard> {
  const assets = loadAssets();
  const token = await dashboardToken(settings.home, { fresh: opts.newToken === true });
  const log = opts.log ?? (() => undefined);
  const hub = new Hub(settings);
  const streams = new Set<AbortController>();
  let origins: Origins = originsOf(opts.listen);
  let cookie = cookieName(opts.listen.port);

  const app = new Hono();
  app.use(async (c, next) => {
    await next();
    c.header('content-security-policy', CSP);
    c.header('x-content-type-options', 'nosniff');
    c.header('referrer-policy', 'no-referrer');
    c.header('x-frame-options', 'DENY');
    c.header('cross-origin-opener-policy', 'same-origin');
    c.header('cross-origin-resource-policy', 'same-origin');
  });
  app.use(sameOrigin(() => origins));
  app.use(tokenGate(token, () => ({ cookie })));

  app.get('/', (c) => asset(c, 'index.html'));
  app.get('/static/:name', (c) => asset(c, c.req.param('name')));
  function asset(c: Context, name: string): Response {
    const a = assets.get(name);
    if (!a) return c.text('not found\n', 404);
    const headers = { 'content-type': a.type, 'cache-control': 'no-cache', vary: 'accept-encoding' };
    if (/\bgzip\b/.test(c.req.header('accept-encoding') ?? '')) return c.body(new Uint8Array(a.gzip), 200, { ...headers, 'content-encoding': 'gzip' });
    return c.body(a.body, 200, headers);
  }

  app.get(API.session, (c) => c.json({ ok: true }));
  app.get(API.events, (c) => {
    const bottle = c.req.query('bottle') || null;
    if (bottle !== null && !IDENTITY.test(bottle)) return c.json({ error: `not a bottle identity: ${JSON.stringify(bottle)}` }, 400);
    return streamSSE(c, (stream) => serveEvents(stream, bottle));
  });

  async function serveEvents(stream: SSEStreamingApi, bottle: string | null): Promise<void> {
    const stop = new AbortController();
    streams.add(stop);
    stream.onAbort(() => stop.abort());
    // One writer at a time, in order: events from the hub and the log interleave.
    let chain: Promise<void> = Promise.resolve();
    const write = (text: () => Promise<unknown>) => {
      chain = chain.then(async () => {
        if (!stop.signal.aborted) await text();
      }).catch(() => stop.abort());
    };
    const send = (e: ServerEvent) => write(() => stream.writeSSE({ event: e.type, data: JSON.stringify(e) }));
    const hello: ServerEvent = { type: 'hello', home: settings.home, bottle };
    write(() => stream.writeSSE({ event: hello.type, data: JSON.stringify(hello), retry: 1000 }));
    const unsubscribe = hub.subscribe(send);
    const keepalive = setInterval(() => write(() => stream.write(': keepalive\n\n')), KEEPALIVE_MS);
    try {
      if (bottle !== null && (await auditOrigin(settings.home, bottle)) === 'archive') {
        // A torn-down bottle: its record, once; nothing more will be appended.
        const rec = await readRecord(settings, bottle);
        send({ type: 'log', identity: bottle, entries: rec.audit.slice(-LOG_KEEP) });
        send({ type: 'record', identity: bottle, proposals: rec.proposals.map((proposal) => wireProposal({ identity: bottle, proposal })) });
        await aborted(stop.signal);
      } else if (bottle !== null) await followLog(bottle, (entries) => send({ type: 'log', identity: bottle, entries }), stop.signal);
      else await aborted(stop.signal);
    } finally {
      clearInterval(keepalive);
      unsubscribe();
      streams.delete(stop);
    }
  }

  /** The whole log first (its last LOG_KEEP lines), then each line as it is appended, in small batches. */
  async function followLog(identity: string, emit: (entries: WireLogEntry[]) => void, signal: AbortSignal): Promise<void> {
    let batch: AuditEntry[] = [];
    let timer: NodeJS.Timeout | undefined;
    const flush = () => {
      timer = undefined;
      const out = batch.sort((a, b) => a.time.localeCompare(b.time)).slice(-LOG_KEEP);
      batch = [];
      if (out.length) emit(out);
    };
    await followAudit(
      settings.home,
      identity,
      (e) => {
        batch.push(e);
        timer ??= setTimeout(flush, LOG_BATCH_MS);
      },
      signal,
      true,
    );
    if (timer) clearTimeout(timer);
  }

  app.post('/api/proposals/:id/decide', async (c) => {
    const id = c.req.param('id');
    const body = DecideSchema.parse(await c.req.json());
    let edited: Record<string, unknown> | undefined;
    if (body.edited !== undefined) {
      if (!body.approve) throw new BottleError('usage', 'only an approval carries an edit');
      edited = parseEditedText((await findProposal(settings.home, id)).proposal, body.edited);
    }
    const r = await decideProposal(settings, id, {
      approve: body.approve,
      ...(body.note === undefined ? {} : { note: body.note }),
      ...(edited === undefined ? {} : { edited_request: edited }),
    });
    log(`${r.proposal.state} ${r.proposal.id} (${r.identity}) from the page`);
    void hub.refreshProposals();
    const p = r.proposal;
    if (p.kind === 'capability' && (p.state === 'approved' || p.state === 'approved-with-edits')) {
      // As `bot-bottle approve` does: the approved Dockerfile takes effect now.
      hub.startJob(r.identity, 'rebuild', (progress) => rebuildAndResume(settings, r.identity, { progress, why: p.summary }));
    }
    return c.json({ proposal: wireProposal({ identity: r.identity, proposal: p }), effects: r.effects });
  });

  app.post('/api/bottles/:identity/action', async (c) => {
    const identity = c.req.param('identity');
    if (!IDENTITY.test(identity)) throw new BottleError('usage', `not a bottle identity: ${JSON.stringify(identity)}`);
    const { action } = ActionSchema.parse(await c.req.json());
    log(`${action} ${identity} from the page`);
    const job = hub.startJob(identity, action, (progress) => {
      switch (action) {
        case 'stop':
          return destroy(settings, identity);
        case 'preserve':
          return destroy(settings, identity, { preserve: true });
        case 'resume':
          return resume(settings, identity, { progress, detach: true, headless: true });
      }
    });
    return c.json({ job }, 202);
  });

  app.notFound((c) => (c.req.path.startsWith('/api/') ? c.json({ error: 'no such endpoint' }, 404) : c.text('not found\n', 404)));
  app.onError((e, c) => {
    if (e instanceof z.ZodError) return c.json({ error: `bad request: ${e.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}` }, 400);
    if (e instanceof SyntaxError) return c.json({ error: 'bad request: the body is not JSON' }, 400);
    if (isBottleError(e)) return c.json({ error: e.message, ...(e.fix ? { fix: e.fix } : {}) }, statusOf(e));
    log(`internal error: ${e.stack ?? e.message}`);
    return c.json({ error: `internal error: ${errorText(e)}` }, 500);
  });

  await hub.refresh();
  const handle = getRequestListener(app.fetch);
  const server = createServer((req, res) => void handle(req, res));
  const bound = await listen(server, opts.listen);
  origins = originsOf(bound);
  cookie = cookieName(bound.port);
  const url = `http://${hostPort(bound)}/?token=${token}`;
  return {
    url,
    address: bound,
    async close() {
      hub.close();
      for (const s of streams) s.abort();
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
    },
  };
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((r) => (signal.aborted ? r() : signal.addEventListener('abort', () => r(), { once: true })));
}

function statusOf(e: BottleError): 400 | 404 | 409 | 500 | 503 {
  switch (e.kind) {
    case 'usage':
    case 'prompt-needed':
    case 'manifest':
      return 400;
    case 'not-found':
      return 404;
    case 'name-in-use':
      return 409;
    case 'engine-unreachable':
      return 503;
    case 'image-build':
    case 'launch':
    case 'interrupted':
    case 'state':
      return 500;
  }
}

function listen(server: Server, at: ListenAddress): Promise<ListenAddress> {
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') {
        reject(new BottleError('usage', `${hostPort(at)} is already in use (another dashboard?)`, { fix: `bot-bottle dashboard --listen ${at.host.includes(':') ? `[${at.host}]` : at.host}:0 (any free port)` }));
      } else if (e.code === 'EADDRNOTAVAIL') {
        reject(new BottleError('usage', `cannot listen on ${hostPort(at)}: no such address on this machine`, { fix: 'bot-bottle dashboard --listen 127.0.0.1:0' }));
      } else reject(e);
    });
    server.listen(at.port, at.host, () => {
      const a = server.address();
      resolve({ host: at.host, port: typeof a === 'object' && a !== null ? a.port : at.port });
    });
  });
}

interface Asset {
  readonly body: string;
  /** Compressed once at start: the page is fetched far more often than it changes. */
  readonly gzip: Buffer;
  readonly type: string;
}

const TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
};

/**
 * The page as built into the package (dist/dashboard/static), read once:
 * it is a few small files, and serving from memory means no request path
 * ever reaches the file system.
 */
function loadAssets(): Map<string, Asset> {
  // Beside this module in dist/; from src/ (tests) or the bundled CLI's chunks, the package's.
  const here = dirname(fileURLToPath(import.meta.url));
  const dir = [join(here, 'static'), join(packageRoot(), 'dist', 'dashboard', 'static')].find((d) => existsSync(join(d, 'index.html')));
  if (dir === undefined) throw new BottleError('state', 'the dashboard page is missing from this installation', { fix: 'npm run build' });
  const out = new Map<string, Asset>();
  for (const name of ['index.html', 'app.js', 'app.css', 'icon.svg']) {
    const ext = name.slice(name.lastIndexOf('.') + 1);
    const body = readFileSync(join(dir, name), 'utf8');
    out.set(name, { body, gzip: gzipSync(body, { level: 9 }), type: TYPES[ext] ?? 'application/octet-stream' });
  }
  return out;
}
