/**
 * The contract between a backend whose agent is not on the bundle's network
 * (the micro-VM) and the bundle's `vm-relay` service (sidecars/vm-relay/):
 * the service the backend adds to the bundle, and where each port's Unix
 * socket is, inside the bundle's own state folder. Not one of the bottle's
 * sidecars: it has no manifest section and no plan.
 */
import { join } from 'node:path';
import { BUNDLE_HEARTBEAT_PORT, sidecarCommand, inBundle } from './layout.js';
import type { BundleServiceSpec } from './sidecar.js';
import type { BottleState } from './state.js';

export const RELAY_ENV = { dir: 'BOT_BOTTLE_RELAY_DIR', ports: 'BOT_BOTTLE_RELAY_PORTS' } as const;

/** The socket a port is relayed from, inside the relay folder. */
export function relaySocket(dir: string, port: number): string {
  return join(dir, `relay-${port}.sock`);
}

/** The ports a micro-VM agent reaches: every sidecar service's, and the heartbeat. */
export function relayPorts(services: readonly BundleServiceSpec[]): number[] {
  const ports = services.flatMap((s) => (s.readyProbe ? [s.readyProbe.tcpPort] : []));
  return [...new Set([...ports, BUNDLE_HEARTBEAT_PORT])].sort((a, b) => a - b);
}

export function relayService(ports: readonly number[]): BundleServiceSpec {
  return {
    name: 'vm-relay',
    command: sidecarCommand('vm-relay'),
    env: { [RELAY_ENV.dir]: inBundle('bundle', 'relay'), [RELAY_ENV.ports]: ports.join(',') },
    restart: 'always',
  };
}

/** The host path of a port's relay socket (the bundle's own state folder, mounted). */
export function hostRelaySocket(state: BottleState, port: number): string {
  return relaySocket(state.file('bundle', 'relay'), port);
}
