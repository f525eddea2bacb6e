/**
 * One micro-VM guest for a bottle: its disks, its QEMU, its readiness.
 *
 * Disks: the agent image as a shared, read-only ext4 base (cached by image
 * id), a per-bottle copy-on-write overlay on it (the agent's changes to its
 * system, like a container's writable layer), and a per-bottle workspace
 * disk (with `--cwd`, made from that folder). The overlay and workspace live
 * in the bottle's state folder, so a preserved bottle resumes with them.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GuestImages } from '../../bottle/guest-images.js';
import { withLock } from '../../bottle/lock.js';
import { BottleError } from '../../errors.js';
import type { Progress } from '../../progress.js';
import { guestPing, LANES } from './channel.js';
import { runTool } from './debian.js';
import { DISK_SUFFIX, type DiskRecord, recordDiskUse, repositoryOf } from './disks.js';
import { ensureInitramfs, ensureKernel, microvmCacheDir } from './kit.js';
import { type Accel, consoleLog, type GuestForward, runningPid, startQemu, stopQemu } from './qemu.js';

/** Root file system size as the guest sees it (sparse: only used blocks take host space). */
const ROOT_DISK_MIB = 8 * 1024;
const WORKSPACE_DISK_MIB = 32 * 1024;
/**
 * Bounds only a guest that neither answers nor powers off (a hung boot): under
 * software emulation on a loaded machine (several guests booting on two busy
 * cores) a healthy boot has taken over three minutes, and a start must not
 * fail for being slow. Long waits are reported.
 */
const READY_TIMEOUT_MS = 600_000;
const REPORT_EVERY_MS = 30_000;
/** Unix socket paths are limited to 108 bytes. */
const MAX_SOCKET_PATH = 100;

export const GUESTD_PATH = '/bot-bottle-guestd';

/** The agent image as a cached read-only disk, made once per image id. */
export async function ensureRootDisk(home: string, images: GuestImages, image: string, progress: Progress): Promise<{ path: string; imageId: string; record: DiskRecord }> {
  const config = await images.imageConfig(image);
  const dir = rootDiskDir(home);
  const path = join(dir, `${config.id.replace(/^sha256:/, '').slice(0, 32)}${DISK_SUFFIX}`);
  const record: DiskRecord = { image_id: config.id, repository: repositoryOf(image) };
  if (!existsSync(path)) {
    await mkdir(dir, { recursive: true });
    await withLock(`microvm-disk-${createHash('sha256').update(path).digest('hex').slice(0, 16)}`, async () => {
      if (!existsSync(path)) await images.exportDisk(image, path, ROOT_DISK_MIB, progress);
    }, { progress, what: `the micro-VM disk of ${image}` });
  }
  await recordDiskUse(path, record);
  return { path, imageId: config.id, record };
}

export function rootDiskDir(home: string): string {
  return join(microvmCacheDir(home), 'disks');
}

/** guestd, compiled in an image build (cached by content) and cached here by that image. */
export async function ensureGuestd(home: string, images: GuestImages, progress: Progress): Promise<Buffer> {
  const { image, content } = await images.readBuiltFile('microvm-guest', 'bot-bottle/microvm-guestd', GUESTD_PATH, progress);
  if (content.subarray(0, 4).toString('latin1') !== '\x7fELF') throw new BottleError('image-build', `guestd from ${image} is not an executable`);
  const cached = join(microvmCacheDir(home), `guestd-${image.split(':').pop() ?? 'x'}`);
  if (!existsSync(cached)) {
    await mkdir(microvmCacheDir(home), { recursive: true });
    await writeFile(`${cached}.tmp`, content, { mode: 0o755 });
    await rename(`${cached}.tmp`, cached);
  }
  return content;
}

export interface GuestFiles {
  readonly runDir: string;
  readonly overlay: string;
  readonly workspace: string;
}

export function guestFiles(vmDir: string): GuestFiles {
  return { runDir: join(vmDir, 'run'), overlay: join(vmDir, 'root.qcow2'), workspace: join(vmDir, 'workspace.ext4') };
}

/** The per-bottle disks: made fresh, or (`keep`) the workspace of a preserved bottle kept. */
export async function prepareDisks(files: GuestFiles, rootDisk: string, opts: { keep: boolean; owner: string }): Promise<void> {
  await mkdir(files.runDir, { recursive: true, mode: 0o700 });
  await chmod(files.runDir, 0o700);
  if (!opts.keep || !existsSync(files.overlay)) {
    await rm(files.overlay, { force: true });
    await runTool('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', rootDisk, '-F', 'raw', files.overlay]);
  }
  if (!opts.keep || !existsSync(files.workspace)) {
    await rm(files.workspace, { force: true });
    // The workspace belongs to the agent user, as the image's /workspace does on Docker;
    // `--cwd` fills it once the guest runs (the tree the secret scan passed, never a mount).
    await runTool('mke2fs', ['-q', '-F', '-t', 'ext4', '-L', 'bb-workspace', '-E', `root_owner=${opts.owner}`, files.workspace, `${WORKSPACE_DISK_MIB}M`]);
  }
}

export interface BootOptions {
  readonly home: string;
  /** Unique per bottle: QEMU's -name, checked before any signal. */
  readonly name: string;
  readonly hostname: string;
  readonly accel: Accel;
  readonly memoryMiB: number;
  readonly cpus: number;
  readonly guestd: Buffer;
  readonly files: GuestFiles;
  /** `uid:gid` that owns the agent's tmpfs. */
  readonly owner: string;
  /** The agent's cgroup limits inside the guest (its commands' pids, memory and CPU). */
  readonly limits: { readonly pids: number; readonly memoryBytes: number | undefined; readonly nanoCpus: number | undefined };
  readonly forwards: readonly GuestForward[];
  readonly mirror?: string | undefined;
  readonly progress: Progress;
}

/** Boot the guest in the background and wait until guestd answers. On failure nothing is left running. */
export async function bootGuest(o: BootOptions): Promise<{ kernelRelease: string; readyMs: number }> {
  for (const p of [join(o.files.runDir, 'exec0.sock')]) {
    if (Buffer.byteLength(p) > MAX_SOCKET_PATH) {
      throw new BottleError('launch', `the bottle's state path is too long for a Unix socket (${p})`, { fix: 'use a shorter BOT_BOTTLE_HOME' });
    }
  }
  const kernel = await ensureKernel(o.home, { mirror: o.mirror, progress: o.progress });
  const initramfs = await ensureInitramfs(o.home, kernel, o.guestd);
  await rm(consoleLog(o.files.runDir), { force: true });
  const started = Date.now();
  const spec = {
    name: o.name,
    accel: o.accel,
    memoryMiB: o.memoryMiB,
    cpus: o.cpus,
    kernel: kernel.vmlinuz,
    initramfs,
    append: [
      'bb.mode=bottle',
      `bb.lanes=${LANES}`,
      `bb.hostname=${o.hostname}`,
      `bb.owner=${o.owner}`,
      `bb.pids=${o.limits.pids}`,
      ...(o.limits.memoryBytes === undefined ? [] : [`bb.mem=${o.limits.memoryBytes}`]),
      // cpu.max quota per 100 ms period.
      ...(o.limits.nanoCpus === undefined ? [] : [`bb.cpu=${Math.max(1000, Math.round(o.limits.nanoCpus / 1e4))}`]),
    ],
    runDir: o.files.runDir,
    disks: [
      { path: o.files.overlay, format: 'qcow2' as const },
      { path: o.files.workspace, format: 'raw' as const },
    ],
    lanes: LANES,
    forwards: o.forwards,
    daemonize: true,
  };
  const r = await startQemu(spec);
  if (r.code !== 0) throw new BottleError('launch', `QEMU did not start: ${r.stderr.split('\n')[0] ?? `exit ${r.code}`}`, { fix: 'bot-bottle doctor' });
  // A guest whose init gave up powers off: stop waiting as soon as QEMU is gone.
  const ac = new AbortController();
  const watch = (async () => {
    let reportAt = started + REPORT_EVERY_MS;
    while (!ac.signal.aborted) {
      await new Promise((r) => setTimeout(r, 500));
      if (!ac.signal.aborted && Date.now() >= reportAt) {
        o.progress.step(`still waiting for the micro-VM ${o.name} to boot (${Math.round((Date.now() - started) / 1000)} s)`);
        reportAt += REPORT_EVERY_MS;
      }
      if (!ac.signal.aborted && (await runningPid(o.files.runDir, o.name)) === undefined) return 'exited' as const;
    }
    return 'ready' as const;
  })();
  try {
    const result = await Promise.race([guestPing(o.files.runDir, READY_TIMEOUT_MS, ac.signal), watch]);
    if (result === 'exited' || result === 'ready') throw new BottleError('launch', 'the micro-VM powered off during boot');
    return { kernelRelease: result, readyMs: Date.now() - started };
  } catch (e) {
    await stopQemu(o.files.runDir, o.name);
    // The bottle's state (and the run folder with it) goes once the start fails: the log goes to the cache.
    const kept = await keepBootLog(o.home, o.name, consoleLog(o.files.runDir)).catch(() => undefined);
    const log = (kept ? await readFile(kept, 'utf8').catch(() => '') : '').trim().split('\n');
    const why = log.find((l) => l.includes('bot-bottle-init:')) ?? log.slice(-1)[0] ?? '';
    if (e instanceof BottleError) {
      throw new BottleError('launch', `${e.message}${why ? `; guest console: ${why.trim()}` : ''}`, {
        fix: kept ? `read the guest's console log: ${kept}` : 'the guest wrote no console log; check `bot-bottle doctor`',
      });
    }
    throw e;
  } finally {
    ac.abort();
  }
}

/** Failed boots whose console logs are kept (the newest; older ones are removed). */
export const KEPT_BOOT_LOGS = 20;

export function bootLogDir(home: string): string {
  return join(microvmCacheDir(home), 'boot-logs');
}

/**
 * Copy a failed boot's console log out of the bottle's run folder (removed
 * with the bottle) into the cache, and drop all but the newest few.
 * Resolves to the kept file, or undefined when the guest wrote nothing.
 */
export async function keepBootLog(home: string, name: string, log: string, now = new Date()): Promise<string | undefined> {
  if (!existsSync(log)) return undefined;
  const dir = bootLogDir(home);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const kept = join(dir, `${now.toISOString().replace(/[:.]/g, '-')}-${name}.log`);
  await copyFile(log, kept);
  await chmod(kept, 0o600);
  const logs = (await readdir(dir)).filter((f) => f.endsWith('.log')).sort();
  await Promise.all(logs.slice(0, Math.max(0, logs.length - KEPT_BOOT_LOGS)).map((f) => rm(join(dir, f), { force: true })));
  return kept;
}

export { runningPid, stopQemu };
