/**
 * Bundle entry of the micro-VM relay (see relay.ts). Env:
 * BOT_BOTTLE_RELAY_DIR (a folder the host can open), BOT_BOTTLE_RELAY_PORTS
 * (comma-separated ports of the bundle's services).
 */
import { mkdirSync } from 'node:fs';
import { RELAY_ENV } from '../../bottle/vm-relay.js';
import { parsePorts, startRelays } from './relay.js';

const dir = process.env[RELAY_ENV.dir];
if (!dir) {
  process.stderr.write(`vm-relay: ${RELAY_ENV.dir} is not set\n`);
  process.exit(2);
}
mkdirSync(dir, { recursive: true, mode: 0o700 });
const servers = await startRelays(dir, parsePorts(process.env[RELAY_ENV.ports]));
process.stdout.write(`vm-relay: ${servers.length} sockets in ${dir}\n`);
const stop = () => {
  for (const s of servers) s.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
