/**
 * The bundle's heartbeat: proves from inside the bottle that the bundle is
 * reachable (/healthz) and exposes the init's health file (/status). The init
 * serves it in-process (one Node process fewer in every bundle); the
 * heartbeat.ts entry runs it standalone.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
// node:fs, not node:fs/promises: the bundle hoists a builtin's ESM import to
// the init's top, so fs/promises (~4 ms) would load on every boot even though
// this module loads after the services start (serve.ts); node:fs comes in
// through require (scripts/bundle-sidecars.mjs), which waits for it.
import { readFile } from 'node:fs';
import { type Bound, listenScoped } from '../net-scope.js';

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(body);
}

async function status(res: ServerResponse, healthFile: string | undefined): Promise<void> {
  if (!healthFile) return send(res, 503, '{"ok":false,"error":"BOT_BOTTLE_HEALTH_FILE not set"}');
  try {
    // Served as-is: the init writes it atomically, so it is whole JSON.
    send(res, 200, await new Promise<string>((resolve, reject) => readFile(healthFile, 'utf8', (err, text) => (err ? reject(err) : resolve(text)))));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'read error';
    send(res, 503, JSON.stringify({ ok: false, error: `health file: ${code}` }));
  }
}

const scoped = new WeakMap<Server, Bound>();

/** `host` may be `inside` (net-scope.ts): the agent's side and loopback only. */
export function startHeartbeat(port: number, host: string, healthFile: string | undefined, onListening?: () => void): Server {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, '{"ok":false}');
    if (path === '/healthz') return send(res, 200, '{"ok":true,"service":"bundle"}');
    if (path === '/status') return void status(res, healthFile);
    send(res, 404, '{"ok":false,"error":"not found"}');
  });
  listenScoped(server, host, port).then(
    (bound) => {
      scoped.set(server, bound);
      onListening?.();
    },
    (err: unknown) => server.emit('error', err),
  );
  return server;
}

/** Close promptly: open keep-alive sockets must not hold a stop up. */
export function stopHeartbeat(server: Server): Promise<void> {
  server.closeAllConnections();
  const bound = scoped.get(server);
  return bound !== undefined ? bound.close() : new Promise((resolve) => server.close(() => resolve()));
}
