/**
 * The root-disk cache (`<home>/cache/microvm/disks/`): one read-only ext4
 * disk per agent image id, each with a small record of the image it came
 * from. Every rebuild of an agent image makes a new disk (gigabytes of
 * blocks), so the cache is pruned when a bottle builds: a disk goes once its
 * image is gone from the engine, or a newer image of the same repository
 * replaced it, but never while anything may still boot from it (see
 * `pruneRootDisks`).
 */
import { open, readdir, readFile, readlink, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../../errors.js';
import { writeSecretFile } from '../../bottle/state.js';

export const DISK_SUFFIX = '.ext4';
/**
 * A disk used this recently is kept whatever else holds: between a start's
 * build and its QEMU opening the disk (or a concurrent start on a shared
 * cache) nothing on the host shows the disk is needed yet.
 */
export const PRUNE_GRACE_MS = 30 * 60_000;

/** What a cached disk was made from. */
export interface DiskRecord {
  /** The engine's image id (sha256:…). */
  readonly image_id: string;
  /** The image's repository (its reference without tag or digest). */
  readonly repository: string;
}

export function diskRecordFile(disk: string): string {
  return `${disk.slice(0, -DISK_SUFFIX.length)}.json`;
}

/** `bot-bottle/agent-x:tag` → `bot-bottle/agent-x` (a registry port stays). */
export function repositoryOf(reference: string): string {
  const noDigest = reference.split('@')[0] ?? reference;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(0, colon) : noDigest;
}

/** Record what a disk is, and mark it used now (the prune's grace counts from here). */
export async function recordDiskUse(disk: string, record: DiskRecord, now = new Date()): Promise<void> {
  await writeSecretFile(diskRecordFile(disk), JSON.stringify(record, null, 2) + '\n');
  await utimes(disk, now, now).catch(() => undefined);
}

async function readDiskRecord(disk: string): Promise<DiskRecord | undefined> {
  try {
    const r = JSON.parse(await readFile(diskRecordFile(disk), 'utf8')) as Partial<DiskRecord>;
    return typeof r.image_id === 'string' && typeof r.repository === 'string' ? { image_id: r.image_id, repository: r.repository } : undefined;
  } catch {
    return undefined;
  }
}

/** The backing file a qcow2 overlay names (its header, read directly), or undefined. */
export async function qcow2BackingFile(overlay: string): Promise<string | undefined> {
  let f;
  try {
    f = await open(overlay, 'r');
  } catch {
    return undefined;
  }
  try {
    const head = Buffer.alloc(20);
    await f.read(head, 0, 20, 0);
    if (head.toString('latin1', 0, 4) !== 'QFI\xfb') return undefined;
    const offset = Number(head.readBigUInt64BE(8));
    const size = head.readUInt32BE(16);
    if (offset === 0 || size === 0 || size > 4096) return undefined;
    const name = Buffer.alloc(size);
    await f.read(name, 0, size, offset);
    return name.toString('utf8');
  } finally {
    await f.close();
  }
}

/** Files some process on the host holds open (those of our own user: enough for our QEMUs). */
async function openFiles(): Promise<Set<string>> {
  const held = new Set<string>();
  let pids: string[];
  try {
    pids = (await readdir('/proc')).filter((p) => /^\d+$/.test(p));
  } catch {
    return held;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = await readdir(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => undefined);
      if (target?.startsWith('/')) held.add(target);
    }
  }
  return held;
}

export interface PruneInput {
  readonly dir: string;
  /** The disk the starting bottle uses (kept) and its record. */
  readonly current: { readonly path: string; readonly record: DiskRecord };
  /** Every overlay of a bottle of this home (running or kept for `resume`): their backing disks stay. */
  readonly overlays: readonly string[];
  /** Does the engine still have this image? (A short id is enough.) */
  imageExists(id: string): Promise<boolean>;
  readonly now?: number;
}

/**
 * Remove the cached disks no bottle can boot from again: those whose image
 * is gone from the engine, or (same repository as the current one) that a
 * newer build replaced. Kept whatever else holds: the current disk, any disk
 * an overlay of this home backs onto (a preserved bottle resumes on it), any
 * disk a process holds open (a running guest, also of another home sharing
 * the cache), and any used within the grace period. Resolves to the removed paths.
 */
export async function pruneRootDisks(input: PruneInput): Promise<string[]> {
  let names: string[];
  try {
    names = (await readdir(input.dir)).filter((n) => n.endsWith(DISK_SUFFIX));
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return [];
    throw e;
  }
  const now = input.now ?? Date.now();
  const backing = new Set((await Promise.all(input.overlays.map(qcow2BackingFile))).filter((b): b is string => b !== undefined));
  const held = await openFiles();
  const removed: string[] = [];
  for (const name of names) {
    const disk = join(input.dir, name);
    if (disk === input.current.path || backing.has(disk) || held.has(disk)) continue;
    const info = await stat(disk).catch(() => undefined);
    if (!info || now - info.mtimeMs < PRUNE_GRACE_MS) continue;
    const record = await readDiskRecord(disk);
    const superseded = record !== undefined && record.repository === input.current.record.repository && record.image_id !== input.current.record.image_id;
    if (!superseded && (await input.imageExists(record?.image_id ?? name.slice(0, -DISK_SUFFIX.length)))) continue;
    await rm(disk, { force: true });
    await rm(diskRecordFile(disk), { force: true });
    removed.push(disk);
  }
  return removed;
}
