/**
 * The bundle's heartbeat: proves from inside the bottle that the bundle is
 * reachable (/healthz) and exposes the init's health file (/status). The init
 * serves it in-process (one Node process fewer in every bundle); the
 * heartbeat.ts entry runs it standalone.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(body);
}

async function status(res: ServerResponse, healthFile: string | undefined): Promise<void> {
  if (!healthFile) return send(res, 503, '{"ok":false,"error":"BOT_BOTTLE_HEALTH_FILE not set"}');
  try {
    // Served as-is: the init writes it atomically, so it is whole JSON.
    send(res, 200, await readFile(healthFile, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'read error';
    send(res, 503, JSON.stringify({ ok: false, error: `health file: ${code}` }));
  }
}

export function startHeartbeat(port: number, host: string, healthFile: string | undefined, onListening?: () => void): Server {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, '{"ok":false}');
    if (path === '/healthz') return send(res, 200, '{"ok":true,"service":"bundle"}');
    if (path === '/status') return void status(res, healthFile);
    send(res, 404, '{"ok":false,"error":"not found"}');
  });
  server.listen(port, host, onListening);
  return server;
}

/** Close promptly: open keep-alive sockets must not hold a stop up. */
export function stopHeartbeat(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
