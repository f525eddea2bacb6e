/**
 * The Debian base image every bot-bottle Dockerfile starts `FROM`.
 *
 * Hosts with a registry simply pull `debian:bookworm-slim`. Hosts without one
 * (air-gapped machines, this project's CI) make it locally: `debootstrap`
 * a minimal bookworm rootfs from the Debian mirror named in the host's own
 * apt sources, import it through the Engine API and tag it with the name the
 * Dockerfiles use, so unmodified Dockerfiles build offline.
 *
 * Also home of two helpers shared with images.ts: a cross-process lock (five
 * bottles starting at once must not all debootstrap or build the same image)
 * and a reader for the Engine's JSON-lines progress streams.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { BottleError } from '../../errors.js';
import type { Progress } from '../../progress.js';
import type { Settings } from '../../settings.js';
import { type Engine, engineFailure, isNotFound, withTimeout } from './engine.js';
import { findDebianMirror } from '../../bottle/debian-mirror.js';
import { withLock } from '../../bottle/lock.js';
import { findExecutable } from '../../bottle/executable.js';

// Shared with the other backends; re-exported for existing callers.
export { DEFAULT_DEBIAN_MIRROR, findDebianMirror } from '../../bottle/debian-mirror.js';
export { withLock } from '../../bottle/lock.js';

export const BASE_IMAGE = 'debian:bookworm-slim';
/**
 * Labels on the locally made base image. Deliberately NOT the
 * `bot-bottle.managed`/`bot-bottle.kind` labels: image labels are inherited by
 * every image built FROM it (including the user's own images), and a cleanup
 * that removes "managed" resources must never sweep those up.
 */
export const LABEL_BASE_SOURCE = 'bot-bottle.base-image';
export const LABEL_BASE_MIRROR = 'bot-bottle.base-mirror';

/** How long a pull may sit without any progress before we give up on the registry. */
const PULL_IDLE_MS = 15_000;
const BASE_LOCK_WAIT_MS = 15 * 60_000;

/**
 * Make sure `debian:bookworm-slim` exists locally. Present: one inspect call.
 * Missing: try a pull (registries may be reachable elsewhere), else debootstrap
 * it from the Debian mirror. Concurrent callers (other processes too) wait for
 * the one doing the work and then re-check.
 */
export async function ensureBaseImage(
  engine: Engine,
  settings: Pick<Settings, 'debianMirror'>,
  progress: Progress,
): Promise<void> {
  if (await imageExists(engine, BASE_IMAGE)) return;
  await withLock(
    'base-image',
    async () => {
      if (await imageExists(engine, BASE_IMAGE)) return;
      if (await tryPull(engine, BASE_IMAGE, progress)) return;
      const mirror = settings.debianMirror ?? (await findDebianMirror());
      await buildBaseImage(engine, { mirror, tag: BASE_IMAGE }, progress);
    },
    { progress, what: `base image ${BASE_IMAGE}`, maxWaitMs: BASE_LOCK_WAIT_MS },
  );
}

export async function imageExists(engine: Engine, ref: string): Promise<boolean> {
  try {
    await engine.getImage(ref).inspect();
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw engineFailure(`inspecting image ${ref}`, e);
  }
}

/**
 * Pull `ref`; false (and a detail line) when the registry is unreachable or the
 * pull stalls. Never throws for registry problems: the caller has a fallback.
 */
export async function tryPull(engine: Engine, ref: string, progress: Progress): Promise<boolean> {
  let stream: NodeJS.ReadableStream;
  try {
    stream = await withTimeout(engine.pull(ref), PULL_IDLE_MS, `pulling ${ref}`);
  } catch (e) {
    progress.detail(`pull ${ref}: ${firstLine(e)}`);
    return false;
  }
  try {
    await readJsonStream(
      stream,
      (msg) => {
        if (typeof msg.error === 'string') throw new Error(msg.error);
        if (typeof msg.status === 'string') progress.detail(`pull ${ref}: ${msg.status}${typeof msg.progress === 'string' ? ' ' + msg.progress : ''}`);
      },
      { idleMs: PULL_IDLE_MS },
    );
  } catch (e) {
    progress.detail(`pull ${ref}: ${firstLine(e)}`);
    return false;
  }
  return imageExists(engine, ref);
}

/**
 * debootstrap a minimal bookworm into a temp dir and import it as `tag`.
 * Exported for tests (they build a `bot-bottle-test/` tag); use
 * ensureBaseImage otherwise.
 */
export async function buildBaseImage(engine: Engine, opts: { mirror: string; tag: string }, progress: Progress): Promise<void> {
  const { mirror, tag } = opts;
  const fix = `as root: apt-get install debootstrap, or load the image yourself (docker load / docker pull ${BASE_IMAGE})`;
  const debootstrap = await findExecutable('debootstrap');
  if (!debootstrap) {
    throw new BottleError('image-build', `cannot make base image ${tag}: no registry answered and debootstrap is not installed`, {
      fix: 'apt-get install debootstrap',
    });
  }
  if (process.getuid?.() !== 0) {
    throw new BottleError('image-build', `cannot make base image ${tag}: no registry answered and debootstrap needs root`, {
      fix: `run once as root (sudo bot-bottle ...) to build ${tag}, or load it yourself (docker load / docker pull ${BASE_IMAGE})`,
    });
  }
  progress.step(`building base image ${tag} from ${mirror} (about 30 s)`);
  const dir = await mkdtemp(join(tmpdir(), 'bot-bottle-rootfs-'));
  const rootfs = join(dir, 'rootfs');
  try {
    const tail: string[] = [];
    const code = await runLogged(debootstrap, ['--variant=minbase', 'bookworm', rootfs, mirror], (line) => {
      progress.detail(line);
      tail.push(line);
      if (tail.length > 20) tail.shift();
    });
    if (code !== 0) {
      const last = [...tail].reverse().find((l) => /^E:|error|fail/i.test(l)) ?? tail[tail.length - 1] ?? '';
      throw new BottleError('image-build', `debootstrap of bookworm from ${mirror} failed (exit ${code}): ${last}`, {
        fix: `check that ${mirror} is reachable, or set BOT_BOTTLE_DEBIAN_MIRROR to a Debian mirror; ${fix}`,
      });
    }
    await slimRootfs(rootfs, mirror);
    await importRootfs(engine, rootfs, tag, mirror, progress);
  } finally {
    await removeTree(dir);
  }
}

/** Make the debootstrapped tree look like Docker's debian:*-slim. */
async function slimRootfs(rootfs: string, mirror: string): Promise<void> {
  const w = (p: string, content: string, mode = 0o644) => writeFile(join(rootfs, p), content, { mode });
  await mkdir(join(rootfs, 'etc/dpkg/dpkg.cfg.d'), { recursive: true });
  await w(
    'etc/dpkg/dpkg.cfg.d/docker',
    [
      'path-exclude /usr/share/doc/*',
      'path-include /usr/share/doc/*/copyright',
      'path-exclude /usr/share/man/*',
      'path-exclude /usr/share/groff/*',
      'path-exclude /usr/share/info/*',
      'path-exclude /usr/share/lintian/*',
      'path-exclude /usr/share/linda/*',
      'path-exclude /usr/share/locale/*',
      'path-include /usr/share/locale/locale.alias',
      '',
    ].join('\n'),
  );
  await w(
    'etc/apt/apt.conf.d/docker-clean',
    [
      'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };',
      'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };',
      'Dir::Cache::pkgcache "";',
      'Dir::Cache::srcpkgcache "";',
      '',
    ].join('\n'),
  );
  await w('etc/apt/apt.conf.d/docker-no-languages', 'Acquire::Languages "none";\n');
  await w('etc/apt/apt.conf.d/docker-autoremove-suggests', 'Apt::AutoRemove::SuggestsImportant "false";\n');
  // Services must not start during `apt-get install` in a build.
  await w('usr/sbin/policy-rc.d', '#!/bin/sh\nexit 101\n', 0o755);
  await w('etc/apt/sources.list', `deb ${mirror} bookworm main\n`);
  // The engine provides these per container; the host's copies must not leak in.
  for (const f of ['etc/resolv.conf', 'etc/hostname']) await rm(join(rootfs, f), { force: true });
  await w('etc/hostname', 'localhost\n');
  for (const d of ['var/lib/apt/lists', 'var/cache/apt/archives', 'usr/share/man', 'usr/share/info', 'usr/share/groff', 'usr/share/lintian', 'var/log']) {
    await emptyDir(join(rootfs, d), (name) => name === 'partial' || name === 'lock');
  }
  for (const f of ['var/cache/apt/pkgcache.bin', 'var/cache/apt/srcpkgcache.bin']) await rm(join(rootfs, f), { force: true });
  // Docs: keep only the copyright files, as Debian's slim images do.
  const docs = join(rootfs, 'usr/share/doc');
  for (const pkg of await readdir(docs).catch(() => [] as string[])) {
    const pdir = join(docs, pkg);
    const st = await stat(pdir).catch(() => undefined);
    if (st?.isDirectory()) await emptyDir(pdir, (name) => name === 'copyright');
  }
  const locale = join(rootfs, 'usr/share/locale');
  await emptyDir(locale, (name) => name === 'locale.alias');
}

async function emptyDir(dir: string, keep: (name: string) => boolean): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const n of names) if (!keep(n)) await rm(join(dir, n), { recursive: true, force: true });
}

async function importRootfs(engine: Engine, rootfs: string, tag: string, mirror: string, progress: Progress): Promise<void> {
  const colon = tag.lastIndexOf(':');
  const [repo, version] = colon > tag.lastIndexOf('/') ? [tag.slice(0, colon), tag.slice(colon + 1)] : [tag, 'latest'];
  const tar = spawn('tar', ['-C', rootfs, '--numeric-owner', '-c', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let tarErr = '';
  tar.stderr.on('data', (d: Buffer) => (tarErr += d.toString()));
  const tarDone = new Promise<number>((resolve) => {
    tar.on('error', () => resolve(-1));
    tar.on('close', (code) => resolve(code ?? -1));
  });
  const changes = [
    `LABEL ${LABEL_BASE_SOURCE}="debootstrap minbase bookworm" ${LABEL_BASE_MIRROR}="${mirror}"`,
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'CMD ["bash"]',
  ];
  try {
    const stream = await engine.importImage(tar.stdout, { repo, tag: version, changes, message: `bot-bottle: debootstrap bookworm from ${mirror}` });
    await readJsonStream(stream, (msg) => {
      if (typeof msg.error === 'string') throw new Error(msg.error);
      if (typeof msg.status === 'string') progress.detail(`import: ${msg.status}`);
    });
  } catch (e) {
    tar.kill();
    throw new BottleError('image-build', `importing the base image ${tag} failed: ${firstLine(engineFailure('import', e))}`, { cause: e });
  }
  const code = await tarDone;
  if (code !== 0) throw new BottleError('image-build', `packing the base image rootfs failed (tar exit ${code}): ${firstLine(tarErr)}`);
  if (!(await imageExists(engine, tag))) throw new BottleError('image-build', `importing the base image ${tag} produced no image`);
}

/** Unmount anything debootstrap left mounted below `dir` (a failed run can leave /proc, /sys), then delete it. */
async function removeTree(dir: string): Promise<void> {
  try {
    const mounts = (await readFile('/proc/self/mounts', 'utf8'))
      .split('\n')
      .map((l) => (l.split(' ')[1] ?? '').replace(/\\040/g, ' '))
      .filter((m) => m.startsWith(dir + '/'))
      .sort((a, b) => b.length - a.length);
    for (const m of mounts) await runLogged('umount', ['-l', m], () => {});
  } catch {
    /* not Linux, or nothing mounted */
  }
  await rm(dir, { recursive: true, force: true }).catch(() => undefined);
}

/** Run a command, feeding each stdout/stderr line to `onLine`; resolves to the exit code (-1 if it could not start). */
function runLogged(cmd: string, args: string[], onLine: (line: string) => void): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const feed = (s: Readable) => {
      let buf = '';
      s.on('data', (d: Buffer) => {
        buf += d.toString();
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i).trimEnd();
          buf = buf.slice(i + 1);
          if (line) onLine(line);
        }
      });
      s.on('end', () => {
        if (buf.trim()) onLine(buf.trim());
      });
    };
    feed(child.stdout);
    feed(child.stderr);
    child.on('error', (e) => {
      onLine(`${cmd}: ${e.message}`);
      resolve(-1);
    });
    child.on('close', (code) => resolve(code ?? -1));
  });
}

// ---------------------------------------------------------------------------
// Shared helpers

export type JsonMessage = Record<string, unknown>;

/**
 * Read an Engine JSON-lines stream (build, pull, import), calling `onMessage`
 * per object. A throw from `onMessage` rejects (and destroys the stream).
 * `idleMs`: reject when no data arrives for that long.
 */
export function readJsonStream(stream: NodeJS.ReadableStream, onMessage: (msg: JsonMessage) => void, opts: { idleMs?: number } = {}): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let buf = '';
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const destroy = () => {
      const d = (stream as Partial<Readable>).destroy;
      if (typeof d === 'function') d.call(stream);
    };
    const finish = (err?: unknown) => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      if (err === undefined) resolve();
      else {
        destroy();
        reject(err instanceof Error ? err : new Error(typeof err === 'string' ? err : 'stream failed'));
      }
    };
    const arm = () => {
      if (!opts.idleMs) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => finish(new Error(`no progress for ${Math.round(opts.idleMs! / 1000)} s`)), opts.idleMs);
    };
    const handle = (line: string) => {
      const t = line.trim();
      if (!t) return;
      let msg: unknown;
      try {
        msg = JSON.parse(t);
      } catch {
        msg = { stream: t + '\n' };
      }
      if (typeof msg === 'object' && msg !== null) onMessage(msg as JsonMessage);
    };
    arm();
    stream.on('data', (d: Buffer | string) => {
      if (done) return;
      arm();
      buf += d.toString();
      let i: number;
      try {
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          handle(line);
        }
      } catch (e) {
        finish(e);
      }
    });
    stream.on('end', () => {
      try {
        handle(buf);
        finish();
      } catch (e) {
        finish(e);
      }
    });
    stream.on('error', (e) => finish(e));
    stream.on('close', () => {
      if (!done) {
        try {
          handle(buf);
          buf = '';
          finish();
        } catch (e) {
          finish(e);
        }
      }
    });
  });
}

function firstLine(e: unknown): string {
  const s = e instanceof Error ? e.message : String(e);
  return (s.split('\n').find((l) => l.trim()) ?? s).trim();
}
