/**
 * The bundle's built-in service: proves from inside the bottle that the
 * bundle is reachable (/healthz) and exposes the init's health file (/status).
 * Standalone entry (the init normally serves it in-process, see
 * BOT_BOTTLE_HEARTBEAT_PORT). Usage: node heartbeat.js [--port 7070] [--host 0.0.0.0]
 */
import { startHeartbeat, stopHeartbeat } from './heartbeat-server.js';

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

const server = startHeartbeat(port, host, process.env.BOT_BOTTLE_HEALTH_FILE, () => {
  process.stdout.write(`listening on ${host}:${port}\n`);
});

const stop = (): void => void stopHeartbeat(server).then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
