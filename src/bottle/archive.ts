/**
 * The record of a bottle outlives it. Before its state folder is removed, its
 * audit logs, proposals (with their decisions) and metadata are copied to
 * `BottleState.archiveDir`, laid out as in the state folder so one reader
 * serves both. Archives older than the retention setting are pruned when a
 * new one is written. Nothing secret is copied: no tokens, keys or configs,
 * only what `logs` and the proposal readers show.
 */
import { cp, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { errnoCode } from '../errors.js';
import { AUDIT_SOURCES, type AuditSource } from './layout.js';
import { type BottleMetadata, BottleState, exists, homeDirs, writeSecretFile } from './state.js';

/** The archived twin of a state file: same path below the archive folder. */
function archived(state: BottleState, stateFile: string): string {
  return join(state.archiveDir, relative(state.dir, stateFile));
}

const stampFile = (state: BottleState): string => join(state.archiveDir, 'archived.json');

export function archivedAuditLog(state: BottleState, source: AuditSource): string {
  return archived(state, state.auditLog(source));
}

export function archivedProposalsDir(state: BottleState): string {
  return archived(state, state.proposalsDir);
}

export interface ArchiveStamp {
  readonly archived_at: string;
  /** Why the state went: `stop`, `session end`, `cleanup`. */
  readonly reason: string;
}

/**
 * Copy the bottle's record out of its state folder, replacing an older
 * archive of the same identity (a resumed bottle's log only grows). Written
 * beside and renamed into place, so a reader never sees half an archive.
 */
export async function archiveState(state: BottleState, reason: string, now = new Date()): Promise<boolean> {
  if (!(await exists(state.metadataFile))) return false;
  const root = homeDirs(state.home).archive;
  await mkdir(root, { recursive: true, mode: 0o700 });
  const tmp = join(root, `.${state.identity}.${process.pid}.tmp`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { mode: 0o700 });
  const into = (stateFile: string): string => join(tmp, relative(state.dir, stateFile));
  for (const file of [state.metadataFile, ...AUDIT_SOURCES.map((s) => state.auditLog(s))]) {
    if (!(await exists(file))) continue;
    await mkdir(dirname(into(file)), { recursive: true, mode: 0o700 });
    await cp(file, into(file));
  }
  if (await exists(state.proposalsDir)) await cp(state.proposalsDir, into(state.proposalsDir), { recursive: true });
  const stamp: ArchiveStamp = { archived_at: now.toISOString(), reason };
  await writeSecretFile(join(tmp, 'archived.json'), JSON.stringify(stamp, null, 2) + '\n');
  await rm(state.archiveDir, { recursive: true, force: true });
  await rename(tmp, state.archiveDir);
  return true;
}

/**
 * The end of a bottle's state: its record archived (unless retention is 0),
 * archives past retention pruned, then the state folder removed.
 */
export async function retireState(state: BottleState, reason: string, retentionDays: number): Promise<void> {
  if (retentionDays > 0) await archiveState(state, reason);
  await pruneArchive(state.home, retentionDays);
  await state.remove();
}

export async function listArchivedIdentities(home: string): Promise<string[]> {
  try {
    return (await readdir(homeDirs(home).archive, { withFileTypes: true }))
      .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
      .map((d) => d.name)
      .sort();
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return [];
    throw e;
  }
}

export async function isArchived(home: string, identity: string): Promise<boolean> {
  return exists(stampFile(new BottleState(home, identity)));
}

export interface ArchivedBottle {
  readonly identity: string;
  readonly metadata: BottleMetadata | undefined;
  readonly archived_at: string | undefined;
  readonly reason: string | undefined;
}

export async function readArchived(home: string, identity: string): Promise<ArchivedBottle> {
  const state = new BottleState(home, identity);
  const stamp = await readJson<ArchiveStamp>(stampFile(state));
  return {
    identity: state.identity,
    metadata: await readJson<BottleMetadata>(archived(state, state.metadataFile)),
    archived_at: stamp?.archived_at,
    reason: stamp?.reason,
  };
}

/** Remove archives older than `days` (0 removes every archive). Returns the identities removed. */
export async function pruneArchive(home: string, days: number, now = Date.now()): Promise<string[]> {
  const removed: string[] = [];
  for (const identity of await listArchivedIdentities(home)) {
    const { archived_at } = await readArchived(home, identity);
    const at = archived_at === undefined ? NaN : Date.parse(archived_at);
    // An archive without a readable stamp is kept: never delete a record we cannot date.
    if (Number.isNaN(at) || now - at < days * 86_400_000) continue;
    await rm(new BottleState(home, identity).archiveDir, { recursive: true, force: true });
    removed.push(identity);
  }
  return removed;
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}
