/**
 * The sidecar bundle's door for a micro-VM agent. The agent's connections
 * leave its guest through QEMU's restricted user-mode network, which hands
 * each one to a host command; that command connects to a Unix socket served
 * here, in the bundle's own state folder, and the relay carries the bytes to
 * the service on the bundle's loopback. So the bundle gains no network
 * listener, its networks stay as on Docker (internal one with no host
 * address, egress one whose control connections are refused), and only a
 * process that can open the bottle's state folder (the user who started it)
 * can reach these sockets.
 */
import { chmodSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { RELAY_ENV, relaySocket } from '../../bottle/vm-relay.js';

export { relaySocket };

function pipeBoth(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  const close = () => {
    a.destroy();
    b.destroy();
  };
  a.on('error', close);
  b.on('error', close);
  a.on('close', close);
  b.on('close', close);
}

/** Serve one Unix socket per port, each relaying to 127.0.0.1:<port>. */
export function startRelays(dir: string, ports: readonly number[], target = '127.0.0.1'): Promise<Server[]> {
  return Promise.all(
    ports.map(
      (port) =>
        new Promise<Server>((resolve, reject) => {
          const path = relaySocket(dir, port);
          rmSync(path, { force: true });
          const server = createServer({ allowHalfOpen: true }, (inbound) => {
            const outbound = connect({ host: target, port, allowHalfOpen: true });
            pipeBoth(inbound, outbound);
          });
          server.once('error', reject);
          server.listen(path, () => {
            chmodSync(path, 0o600);
            resolve(server);
          });
        }),
    ),
  );
}

export function parsePorts(text: string | undefined): number[] {
  const ports = (text ?? '')
    .split(',')
    .filter(Boolean)
    .map((p) => Number(p));
  if (ports.length === 0 || ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) {
    throw new Error(`vm-relay: ${RELAY_ENV.ports} must list ports 1-65535, got "${text ?? ''}"`);
  }
  return ports;
}
