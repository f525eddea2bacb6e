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
import { createServer, type Server } from 'node:net';

/** A sidecar's listen host meaning "the agent's side and loopback, never the egress side". */
export const INSIDE = 'inside';

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

/**
 * IPv4 addresses on the agent's side: every non-loopback IPv4 address that
 * is not on the default-route interface (all of them when single-homed).
 */
export function insideAddresses(routeTable = '/proc/net/route'): string[] {
  const outside = outsideAddresses(routeTable);
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal && !outside.has(a.address)) out.push(a.address);
  }
  return out;
}

export interface Bound {
  /** The addresses listened on. */
  readonly hosts: readonly string[];
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Listen with `server` on `host:port`. For host `inside` that is every
 * agent-side address plus loopback (each extra address a plain listener that
 * hands its connections to `server`), so a dual-homed bundle's service is
 * not reachable on its egress side at all, while the init's probes and the
 * micro-VM relay still reach it on 127.0.0.1. Any other host is used as is.
 */
export async function listenScoped(server: Server, host: string, port: number): Promise<Bound> {
  const listen = (s: Server, h: string, p: number) =>
    new Promise<number>((resolve, reject) => {
      s.once('error', reject);
      s.listen(p, h, () => {
        s.off('error', reject);
        resolve((s.address() as { port: number }).port);
      });
    });
  if (host !== INSIDE) {
    const p = await listen(server, host, port);
    return { hosts: [host], port: p, close: () => closeAll([server]) };
  }
  const hosts = [...insideAddresses(), '127.0.0.1'];
  const first = await listen(server, hosts[0] ?? '127.0.0.1', port);
  const extra: Server[] = [];
  try {
    for (const h of hosts.slice(1)) {
      const s = createServer((socket) => server.emit('connection', socket));
      await listen(s, h, first);
      extra.push(s);
    }
  } catch (e) {
    await closeAll([server, ...extra]);
    throw e;
  }
  return { hosts, port: first, close: () => closeAll([server, ...extra]) };
}

function closeAll(servers: readonly Server[]): Promise<void> {
  return Promise.all(servers.map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve())))).then(() => undefined);
}
