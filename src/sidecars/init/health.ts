/**
 * The health file is the bundle's only report to the host: the host reads it
 * (never the agent's word) to decide whether egress is up. It is replaced
 * atomically so a reader never sees half a document.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { connect } from 'node:net';

export type ServiceState = 'starting' | 'running' | 'ready' | 'backoff' | 'stopped' | 'failed';

export interface ExitInfo {
  code: number | null;
  signal: string | null;
  /** ISO-8601 time of the exit. */
  at: string;
  /** What the bundle's limits say about it (killed for memory, no process left). */
  reason?: string;
}

export interface ServiceHealth {
  state: ServiceState;
  pid: number | null;
  restarts: number;
  lastExit: ExitInfo | null;
  ready: boolean;
}

export interface BundleHealth {
  identity: string;
  /** The init's own pid (1 inside the container). */
  pid: number;
  updatedAt: string;
  /** True only when every service is ready. */
  ready: boolean;
  services: Record<string, ServiceHealth>;
}

/** Write tmp + rename in the same directory, so the swap is atomic. */
export function writeHealthAtomic(path: string, health: BundleHealth): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(health, null, 2)}\n`, { mode: 0o644 });
  renameSync(tmp, path);
}

/** Resolves true if something accepts a TCP connection on 127.0.0.1:port. Never rejects. */
export function tcpProbe(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}
