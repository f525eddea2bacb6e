/**
 * The one place that talks to the Docker Engine API. Engine failures are
 * translated here into BottleErrors with the command that fixes them; no
 * Dockerode type leaves `backends/docker/`.
 */
import { createHash } from 'node:crypto';
import type Docker from 'dockerode';
import type { BackendName } from '../../bottle/spec.js';
import { BottleError, errnoCode } from '../../errors.js';
import { join } from 'node:path';
import { packageRoot } from '../../paths.js';

export const LABEL_IDENTITY = 'bot-bottle.identity';
export const LABEL_KIND = 'bot-bottle.kind';
export const LABEL_MANAGED = 'bot-bottle.managed';
/** Which bot-bottle home a bottle belongs to: list and cleanup never touch another home's bottles. */
export const LABEL_HOME = 'bot-bottle.home';
/** The backend a bottle's resources belong to (a micro-VM bottle's bundle is a container too). Absent: docker. */
export const LABEL_BACKEND = 'bot-bottle.backend';

export function homeId(home: string): string {
  return createHash('sha256').update(home).digest('hex').slice(0, 16);
}

export type ResourceKind = 'agent' | 'bundle' | 'network-internal' | 'network-egress' | 'network-build' | 'build-proxy' | 'volume-workspace' | 'image' | 'probe' | 'fixture';

export function labels(identity: string | undefined, kind: ResourceKind, home?: string, backend?: BackendName): Record<string, string> {
  const l: Record<string, string> = { [LABEL_MANAGED]: 'true', [LABEL_KIND]: kind };
  if (identity) l[LABEL_IDENTITY] = identity;
  if (home) l[LABEL_HOME] = homeId(home);
  if (backend) l[LABEL_BACKEND] = backend;
  return l;
}

export type Engine = Docker;

/** The installer ships in the package, so the fix names it by absolute path: it works from any folder. */
export function ensureEngineCommand(): string {
  return `bash ${join(packageRoot(), 'scripts', 'ensure-engine.sh')}`;
}

const engineFix = (): string => `start the engine (as root: ${ensureEngineCommand()}, or \`dockerd &\`) and check \`docker info\``;

/** Connect and ping; an unreachable engine is a one-line error with the fix. */
export async function connectEngine(): Promise<Engine> {
  // Loaded on first use: the client and its ssh transport cost ~170 ms of start-up
  // that commands which never touch the engine should not pay.
  const { default: DockerClient } = await import('dockerode');
  const docker = new DockerClient();
  try {
    await withTimeout(docker.ping(), 5000, 'ping');
  } catch (e) {
    throw new BottleError('engine-unreachable', `Docker engine unreachable (${describeEngineError(e)})`, { fix: engineFix(), cause: e });
  }
  return docker;
}

export function statusCode(e: unknown): number | undefined {
  if (typeof e === 'object' && e !== null && 'statusCode' in e) {
    const s = (e).statusCode;
    return typeof s === 'number' ? s : undefined;
  }
  return undefined;
}

export function isNotFound(e: unknown): boolean {
  return statusCode(e) === 404;
}

export function isConflict(e: unknown): boolean {
  return statusCode(e) === 409;
}

/** A short reason from an Engine API or socket error, without stack or JSON dump. */
export function describeEngineError(e: unknown): string {
  const code = errnoCode(e);
  if (code === 'ENOENT' || code === 'ECONNREFUSED') return `no engine at ${process.env.DOCKER_HOST ?? '/var/run/docker.sock'}`;
  if (code === 'EACCES') return 'permission denied on the Docker socket';
  if (typeof e === 'object' && e !== null && 'json' in e) {
    const j = (e).json;
    if (typeof j === 'object' && j !== null && 'message' in j) return String((j).message);
  }
  if (e instanceof Error) return e.message.split('\n')[0] ?? e.message;
  return String(e);
}

/** Engine failures after connect: turn into a BottleError unless already one. */
export function engineFailure(what: string, e: unknown): BottleError {
  if (e instanceof BottleError) return e;
  const code = errnoCode(e);
  if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EPIPE') {
    return new BottleError('engine-unreachable', `${what}: Docker engine unreachable (${describeEngineError(e)})`, { fix: engineFix(), cause: e });
  }
  return new BottleError('launch', `${what}: ${describeEngineError(e)}`, { cause: e });
}

export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}
