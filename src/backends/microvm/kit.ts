/**
 * The guest kit: a Debian kernel and the initramfs our init runs from, cached
 * under `<home>/cache/microvm/`. The kernel (`linux-image-cloud-amd64`: the
 * smallest Debian kernel, which boots fastest; it has the virtio drivers as
 * modules) and `busybox-static` come from the host's Debian mirror on first
 * use, verified like apt verifies them (see debian.ts). The initramfs holds
 * busybox, the modules the guest needs (dependencies read from the modules
 * themselves), our init, and, for bottles, guestd.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findDebianMirror } from '../../bottle/debian-mirror.js';
import { withLock } from '../../bottle/lock.js';
import { BottleError } from '../../errors.js';
import { packageRoot } from '../../paths.js';
import type { Progress } from '../../progress.js';
import { cpioArchive, type CpioEntry } from './cpio.js';
import { DEBIAN_KEYRING, DebianIndex, extractDeb } from './debian.js';

export const KERNEL_PACKAGE = 'linux-image-cloud-amd64';
export const BUSYBOX_PACKAGE = 'busybox-static';
/** What the guest needs: the virtio transport, disks, network, the exec channel, entropy. */
export const GUEST_MODULES = ['virtio_mmio', 'virtio_blk', 'virtio_net', 'virtio_console', 'virtio-rng'] as const;

export interface GuestKernel {
  /** Debian's kernel release, e.g. 6.1.0-57-cloud-amd64. */
  readonly release: string;
  readonly vmlinuz: string;
  /** Folder of the wanted modules (flat) plus modules.order. */
  readonly modulesDir: string;
  readonly busybox: string;
}

export function microvmCacheDir(home: string): string {
  return join(home, 'cache', 'microvm');
}

/** The kernel and busybox, fetched once and then read from the cache. */
export async function ensureKernel(home: string, opts: { mirror?: string | undefined; progress: Progress }): Promise<GuestKernel> {
  const dir = join(microvmCacheDir(home), 'kernel');
  const manifest = join(dir, 'kernel.json');
  const cached = await readKernel(manifest);
  if (cached) return cached;
  return withLock(
    `microvm-kernel-${createHash('sha256').update(dir).digest('hex').slice(0, 12)}`,
    async () => {
      const again = await readKernel(manifest);
      if (again) return again;
      const mirror = (opts.mirror ?? (await findDebianMirror())).replace(/\/+$/, '');
      opts.progress.step(`fetching the guest kernel (${KERNEL_PACKAGE}, ${BUSYBOX_PACKAGE}) from ${mirror}`);
      const index = await DebianIndex.open({ mirror, suite: 'bookworm', arch: 'amd64', keyring: DEBIAN_KEYRING });
      const meta = index.lookup(KERNEL_PACKAGE);
      const imageName = /^(linux-image-[^\s,(]+)/.exec(meta.depends)?.[1];
      if (!imageName) throw new BottleError('launch', `${KERNEL_PACKAGE} names no kernel package (Depends: ${meta.depends})`);
      const image = index.lookup(imageName);
      const busybox = index.lookup(BUSYBOX_PACKAGE);
      await mkdir(microvmCacheDir(home), { recursive: true });
      const tmp = await mkdtemp(join(microvmCacheDir(home), 'kernel.tmp-'));
      try {
        const [kdeb, bdeb] = await Promise.all([index.download(image), index.download(busybox)]);
        const raw = join(tmp, 'raw');
        await mkdir(raw);
        await extractDeb(kdeb, raw, ['./boot', './lib/modules']);
        await extractDeb(bdeb, raw, ['./bin/busybox']);
        const release = imageName.replace(/^linux-image-/, '');
        const out = join(tmp, 'out');
        await mkdir(join(out, 'modules'), { recursive: true });
        await rename(join(raw, 'boot', `vmlinuz-${release}`), join(out, 'vmlinuz'));
        await rename(join(raw, 'bin', 'busybox'), join(out, 'busybox'));
        const order = await collectModules(join(raw, 'lib', 'modules', release, 'kernel'), join(out, 'modules'));
        await writeFile(join(out, 'modules', 'modules.order'), order.join('\n') + '\n');
        const k: GuestKernel = { release, vmlinuz: join(dir, 'vmlinuz'), modulesDir: join(dir, 'modules'), busybox: join(dir, 'busybox') };
        await writeFile(join(out, 'kernel.json'), JSON.stringify({ release, kernelPackage: `${image.name} ${image.version}`, busybox: busybox.version, mirror }, null, 2) + '\n');
        await rm(dir, { recursive: true, force: true });
        await rename(out, dir);
        return k;
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    },
    { progress: opts.progress, what: 'the guest kernel' },
  );
}

async function readKernel(manifest: string): Promise<GuestKernel | undefined> {
  try {
    const m = JSON.parse(await readFile(manifest, 'utf8')) as { release?: unknown };
    if (typeof m.release !== 'string') return undefined;
    const dir = join(manifest, '..');
    return { release: m.release, vmlinuz: join(dir, 'vmlinuz'), modulesDir: join(dir, 'modules'), busybox: join(dir, 'busybox') };
  } catch {
    return undefined;
  }
}

/** Copy the wanted modules and everything they depend on; returns the load order. */
async function collectModules(kernelDir: string, outDir: string): Promise<string[]> {
  const paths = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name.endsWith('.ko')) paths.set(e.name.slice(0, -3).replace(/-/g, '_'), p);
    }
  };
  await walk(kernelDir);
  const order: string[] = [];
  const visit = async (name: string, chain: string[]): Promise<void> => {
    const key = name.replace(/-/g, '_');
    if (order.some((o) => o.replace(/-/g, '_') === key)) return;
    const path = paths.get(key);
    if (!path) throw new BottleError('launch', `the guest kernel has no module ${name} (needed by ${chain.join(' > ') || 'the guest'})`);
    const ko = await readFile(path);
    for (const dep of moduleDepends(ko)) await visit(dep, [...chain, name]);
    const file = path.slice(path.lastIndexOf('/') + 1, -3);
    await writeFile(join(outDir, `${file}.ko`), ko);
    order.push(file);
  };
  for (const m of GUEST_MODULES) await visit(m, []);
  return order;
}

/** A module's `depends=` from its .modinfo section. */
export function moduleDepends(ko: Buffer): string[] {
  const at = ko.indexOf('\0depends=');
  if (at < 0) return [];
  const end = ko.indexOf(0, at + 1);
  return ko
    .subarray(at + 9, end)
    .toString('latin1')
    .split(',')
    .filter(Boolean);
}

/** The initramfs for a guest; `guestd` is added for bottles (the probe needs none). Cached by content. */
export async function ensureInitramfs(home: string, kernel: GuestKernel, guestd: Buffer | undefined): Promise<string> {
  const init = await readFile(join(packageRoot(), 'images', 'microvm-guest', 'init'));
  const busybox = await readFile(kernel.busybox);
  const order = (await readFile(join(kernel.modulesDir, 'modules.order'), 'utf8')).split('\n').filter(Boolean);
  const modules = await Promise.all(order.map(async (m) => ({ m, data: await readFile(join(kernel.modulesDir, `${m}.ko`)) })));
  const entries: CpioEntry[] = [
    { path: 'bin', kind: 'dir', mode: 0o755 },
    { path: 'bin/busybox', kind: 'file', mode: 0o755, data: busybox },
    { path: 'bin/sh', kind: 'symlink', mode: 0o777, data: 'busybox' },
    { path: 'dev', kind: 'dir', mode: 0o755 },
    { path: 'proc', kind: 'dir', mode: 0o755 },
    { path: 'sys', kind: 'dir', mode: 0o755 },
    { path: 'modules', kind: 'dir', mode: 0o755 },
    ...modules.map(({ m, data }) => ({ path: `modules/${m}.ko`, kind: 'file' as const, mode: 0o644, data })),
    { path: 'modules.order', kind: 'file', mode: 0o644, data: order.join('\n') + '\n' },
    { path: 'init', kind: 'file', mode: 0o755, data: init },
    ...(guestd ? [{ path: 'guestd', kind: 'file' as const, mode: 0o755, data: guestd }] : []),
  ];
  const archive = cpioArchive(entries);
  const hash = createHash('sha256').update(archive).digest('hex').slice(0, 16);
  const path = join(microvmCacheDir(home), `initramfs-${hash}.cpio`);
  if (!existsSync(path)) {
    const tmp = `${path}.tmp-${process.pid}`;
    await writeFile(tmp, archive, { mode: 0o644 });
    await rename(tmp, path);
  }
  return path;
}
