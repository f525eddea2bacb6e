/**
 * Bundle entry of the micro-VM relay (see relay.ts). Env:
 * BOT_BOTTLE_RELAY_DIR (a folder the host can open), BOT_BOTTLE_RELAY_PORTS
 * (comma-separated ports of the bundle's services).
 */
import { parsePorts, startRelays } from './relay.js';

const dir = process.env.BOT_BOTTLE_RELAY_DIR;
if (!dir) {
  process.stderr.write('vm-relay: BOT_BOTTLE_RELAY_DIR is not set\n');
  process.exit(2);
}
const servers = await startRelays(dir, parsePorts(process.env.BOT_BOTTLE_RELAY_PORTS));
process.stdout.write(`vm-relay: ${servers.length} sockets in ${dir}\n`);
const stop = () => {
  for (const s of servers) s.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
