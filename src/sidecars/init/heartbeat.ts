/**
 * The bundle's built-in service: proves from inside the bottle that the
 * bundle is reachable (/healthz) and exposes the init's health file (/status).
 * Usage: node dist/sidecars/init/heartbeat.js [--port 7070] [--host 0.0.0.0]
 */
import { createServer, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : undefined;
  return v ?? fallback;
}

const port = Number(arg('port', '7070'));
const host = arg('host', '0.0.0.0');
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  process.stderr.write(`heartbeat: bad --port ${arg('port', '')}\n`);
  process.exit(2);
}

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(body);
}

async function status(res: ServerResponse): Promise<void> {
  const file = process.env.BOT_BOTTLE_HEALTH_FILE;
  if (!file) return send(res, 503, '{"ok":false,"error":"BOT_BOTTLE_HEALTH_FILE not set"}');
  try {
    // Served as-is: the init writes it atomically, so it is whole JSON.
    send(res, 200, await readFile(file, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'read error';
    send(res, 503, JSON.stringify({ ok: false, error: `health file: ${code}` }));
  }
}

const server = createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, '{"ok":false}');
  if (path === '/healthz') return send(res, 200, '{"ok":true,"service":"bundle"}');
  if (path === '/status') return void status(res);
  send(res, 404, '{"ok":false,"error":"not found"}');
});

server.listen(port, host, () => {
  process.stdout.write(`listening on ${host}:${port}\n`);
});

// Exit promptly on stop; open keep-alive sockets must not hold us up.
const stop = (): void => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
