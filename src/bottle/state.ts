/**
 * Bottle state under `<home>/state/<identity>/`, shared by every backend.
 * Files that may hold secrets are written mode 600 in folders mode 700.
 */
import { chmod, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BottleError, errnoCode } from '../errors.js';
import type { BackendName } from './spec.js';
import { checkIdentity } from './identity.js';

export type ServiceName = 'agent' | 'egress' | 'git-gate' | 'supervise' | 'bundle';

export interface BottleMetadata {
  readonly identity: string;
  readonly agent: string;
  readonly bottles: readonly string[];
  readonly backend: BackendName;
  readonly cwd: string | undefined;
  readonly label: string | undefined;
  readonly color: string | undefined;
  readonly started_at: string;
  /** The CLI process that owns an attached session; if it died, the bottle is an orphan. */
  readonly owner_pid: number | undefined;
  /** Detached bottles live until `stop`; no owner process. */
  readonly detached: boolean;
}

export function stateRoot(home: string): string {
  return join(home, 'state');
}

export function stateDir(home: string, identity: string): string {
  return join(stateRoot(home), checkIdentity(identity));
}

export function serviceDir(home: string, identity: string, service: ServiceName): string {
  return join(stateDir(home, identity), service);
}

export function auditLogPath(home: string, identity: string): string {
  return join(stateDir(home, identity), 'audit.jsonl');
}

export function perBottleDockerfilePath(home: string, identity: string): string {
  return join(stateDir(home, identity), 'Dockerfile');
}

export function perBottleImageTag(identity: string): string {
  return `bot-bottle/bottle-${checkIdentity(identity)}:latest`;
}

const PRESERVE = '.preserve';

export async function ensureStateDirs(home: string, identity: string, services: readonly ServiceName[]): Promise<string> {
  const dir = stateDir(home, identity);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  for (const s of services) await mkdir(join(dir, s), { recursive: true, mode: 0o700 });
  return dir;
}

/** Atomic write with a mode: a reader never sees half a file, nor a moment at 644. */
export async function writeSecretFile(path: string, content: string | Buffer, mode = 0o600): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, content, { mode });
  await chmod(tmp, mode);
  await rename(tmp, path);
}

export async function writeMetadata(home: string, meta: BottleMetadata): Promise<void> {
  await writeSecretFile(join(stateDir(home, meta.identity), 'metadata.json'), JSON.stringify(meta, null, 2) + '\n');
}

export async function readMetadata(home: string, identity: string): Promise<BottleMetadata> {
  const path = join(stateDir(home, identity), 'metadata.json');
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') {
      throw new BottleError('not-found', `no bottle state for ${identity}`, { fix: 'see `bot-bottle list` for known bottles' });
    }
    throw e;
  }
  try {
    return JSON.parse(raw) as BottleMetadata;
  } catch {
    throw new BottleError('state', `${path}: not valid JSON`, { fix: `remove it with \`bot-bottle cleanup\`` });
  }
}

export async function listStateIdentities(home: string): Promise<string[]> {
  try {
    return (await readdir(stateRoot(home), { withFileTypes: true }))
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return [];
    throw e;
  }
}

export async function markPreserved(home: string, identity: string, reason: string): Promise<void> {
  await writeFile(join(stateDir(home, identity), PRESERVE), reason + '\n', { mode: 0o600 });
}

export async function clearPreserved(home: string, identity: string): Promise<void> {
  await rm(join(stateDir(home, identity), PRESERVE), { force: true });
}

export async function isPreserved(home: string, identity: string): Promise<boolean> {
  return exists(join(stateDir(home, identity), PRESERVE));
}

export async function removeState(home: string, identity: string): Promise<void> {
  await rm(stateDir(home, identity), { recursive: true, force: true });
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Is the owning CLI process still alive? (Signal 0 probes without killing.) */
export function pidAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoCode(e) === 'EPERM';
  }
}
