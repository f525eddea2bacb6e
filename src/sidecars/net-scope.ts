/**
 * Which side of the bundle a connection came in on. The bundle sits on two
 * networks: the agent's internal one, and the egress one that has the default
 * route (and through which the host machine can reach it). Control endpoints
 * (the MCP server) must answer only the agent's side and loopback: a
 * connection that arrived on an address of the default-route interface is
 * from the outside and is refused. (An internal network keeps a default route
 * too, to a gateway that drops, so only a dual-homed bundle has an outside.)
 */
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import type { Server } from 'node:net';

/** IPv4 addresses of the interface(s) that carry the default route. */
export function outsideAddresses(routeTable = '/proc/net/route'): Set<string> {
  const out = new Set<string>();
  let table: string;
  try {
    table = readFileSync(routeTable, 'utf8');
  } catch {
    return out;
  }
  const ifaces = networkInterfaces();
  // Single-homed (one network, as in some tests): there is no egress side to refuse.
  const homed = Object.values(ifaces).filter((list) => (list ?? []).some((a) => a.family === 'IPv4' && !a.internal)).length;
  if (homed < 2) return out;
  for (const line of table.split('\n').slice(1)) {
    const [iface, destination] = line.trim().split(/\s+/);
    if (!iface || destination !== '00000000') continue;
    for (const a of ifaces[iface] ?? []) if (a.family === 'IPv4') out.add(a.address);
  }
  return out;
}

function normalize(addr: string | undefined): string {
  return (addr ?? '').replace(/^::ffff:/, '');
}

/** Drop connections that arrived on the outside interface. Returns the set used. */
export function refuseOutside(server: Server, outside: Set<string> = outsideAddresses(), onRefuse?: (remote: string) => void): Set<string> {
  server.on('connection', (socket) => {
    if (outside.has(normalize(socket.localAddress))) {
      onRefuse?.(normalize(socket.remoteAddress));
      socket.destroy();
    }
  });
  return outside;
}
