/**
 * The supervise server's settings, from its environment (set by `prepare`).
 * Read inside the bundle by the bundle's Node; every value has a default that matches
 * the bundle layout, so the server also runs bare for tests.
 */
import { join } from 'node:path';
import { bundleServiceDir, inBundle, SERVICE_FILES } from '../../bottle/layout.js';
import { INSIDE } from '../net-scope.js';

export const SUPERVISE_PORT = 8765;
export const MCP_PATH = '/mcp';
export const DEFAULT_TIMEOUT_MS = 15 * 60 * 1000;
export const MAX_BODY_BYTES = 1024 * 1024;
export const DEFAULT_SUPERVISE_DIR = bundleServiceDir('supervise');
export const DEFAULT_EGRESS_ROUTES_DIR = inBundle('egress', 'routes');
export const DEFAULT_EGRESS_ADMIN_URL = 'http://127.0.0.1:3128/__bot-bottle/routes';

export const ENV = {
  identity: 'BOT_BOTTLE_IDENTITY',
  dir: 'BOT_BOTTLE_SUPERVISE_DIR',
  listen: 'BOT_BOTTLE_SUPERVISE_LISTEN',
  port: 'BOT_BOTTLE_SUPERVISE_PORT',
  hosts: 'BOT_BOTTLE_SUPERVISE_HOSTS',
  timeoutMs: 'BOT_BOTTLE_SUPERVISE_TIMEOUT_MS',
  progressMs: 'BOT_BOTTLE_SUPERVISE_PROGRESS_MS',
  egressRoutesDir: 'BOT_BOTTLE_EGRESS_ROUTES_DIR',
  egressAdminUrl: 'BOT_BOTTLE_EGRESS_ADMIN_URL',
  egressConfigFile: 'BOT_BOTTLE_SUPERVISE_EGRESS_CONFIG',
  egressPolicyFile: 'BOT_BOTTLE_SUPERVISE_EGRESS_POLICY',
} as const;

export interface SuperviseConfig {
  /** Bottle identity, written into proposals and audit lines. */
  readonly identity: string;
  readonly listen: { readonly host: string; readonly port: number };
  /** Host names (without port) accepted in `Host` and `Origin`: DNS-rebinding guard. */
  readonly allowedHosts: readonly string[];
  /** The bottle's proposal queue (shared with the host, the egress proxy, the git-gate). */
  readonly queueDir: string;
  readonly auditLog: string;
  /** Current agent Dockerfile, written by the host; the base of a capability proposal. */
  readonly dockerfileCurrent: string;
  /** Where an approved egress route is written, one JSON EgressRoute per file. */
  readonly egressRoutesDir: string;
  /** The egress proxy's config and live policy overlay, for merging approved routes; unset: record only. */
  readonly egressConfigFile: string | undefined;
  readonly egressPolicyFile: string | undefined;
  /** The egress proxy's introspection endpoint (routes, never token values). */
  readonly egressAdminUrl: string;
  /** How long a tool call waits for a human before the proposal expires. */
  readonly timeoutMs: number;
  /** Interval of MCP progress notifications (and SSE keep-alives) while waiting. */
  readonly progressMs: number;
  readonly maxBodyBytes: number;
  readonly maxSessions: number;
}

export class SuperviseConfigError extends Error {
  override name = 'SuperviseConfigError';
}

function int(env: NodeJS.ProcessEnv, key: string, dflt: number, min: number, max: number): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new SuperviseConfigError(`${key}=${raw}: must be an integer ${min}-${max}`);
  return n;
}

export function superviseConfigFromEnv(env: NodeJS.ProcessEnv = process.env): SuperviseConfig {
  const dir = env[ENV.dir] || DEFAULT_SUPERVISE_DIR;
  const hosts = (env[ENV.hosts] || 'bundle')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  return {
    identity: env[ENV.identity] || 'unknown',
    listen: { host: env[ENV.listen] || INSIDE, port: int(env, ENV.port, SUPERVISE_PORT, 0, 65535) },
    allowedHosts: [...new Set([...hosts, 'localhost', '127.0.0.1', '[::1]'])],
    queueDir: join(dir, SERVICE_FILES.supervise.queue),
    auditLog: join(dir, SERVICE_FILES.supervise.audit),
    dockerfileCurrent: join(dir, SERVICE_FILES.supervise.currentDockerfile),
    egressRoutesDir: env[ENV.egressRoutesDir] || DEFAULT_EGRESS_ROUTES_DIR,
    egressAdminUrl: env[ENV.egressAdminUrl] || DEFAULT_EGRESS_ADMIN_URL,
    egressConfigFile: env[ENV.egressConfigFile] || undefined,
    egressPolicyFile: env[ENV.egressPolicyFile] || undefined,
    timeoutMs: int(env, ENV.timeoutMs, DEFAULT_TIMEOUT_MS, 1000, 24 * 3600 * 1000),
    progressMs: int(env, ENV.progressMs, 10_000, 100, 600_000),
    maxBodyBytes: MAX_BODY_BYTES,
    maxSessions: 64,
  };
}
