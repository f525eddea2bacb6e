/**
 * Which accelerator a guest gets, decided by booting one: `/dev/kvm` existing
 * proves nothing (on this project's machines it belongs to a para-virtualised
 * KVM that cannot run a normal guest). The probe boots the guest kernel with
 * a tiny initramfs that prints a nonce and powers off; KVM is chosen only if
 * that nonce comes back. The verdict is cached per host (the host's kernel,
 * QEMU, the guest kernel and the KVM device), so later starts pay nothing.
 */
import { constants as fsConstants } from 'node:fs';
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BottleError } from '../../errors.js';
import type { Progress } from '../../progress.js';
import { ensureInitramfs, ensureKernel, microvmCacheDir } from './kit.js';
import { runTool } from './debian.js';
import { type Accel, consoleLog, QEMU, startQemu } from './qemu.js';

export const KVM_DEVICE = '/dev/kvm';
const KVM_PROBE_MS = 20_000;
const TCG_PROBE_MS = 120_000;

export interface AccelVerdict {
  readonly accel: Accel;
  /** One line for `doctor` and the start message. */
  readonly reason: string;
  /** How long the probe guest took from QEMU start to power-off. */
  readonly bootMs: number;
  readonly key: string;
  readonly probedAt: string;
}

async function usable(path: string): Promise<boolean> {
  try {
    await access(path, fsConstants.R_OK | fsConstants.W_OK);
    return true;
  } catch {
    return false;
  }
}

export async function qemuVersion(): Promise<string> {
  try {
    return (await runTool(QEMU, ['--version'])).toString('utf8').split('\n')[0]?.trim() ?? 'unknown';
  } catch {
    throw new BottleError('launch', `${QEMU} is not installed`, { fix: 'apt-get install qemu-system-x86 qemu-utils' });
  }
}

/** Boot the probe guest once with `accel`; resolves to the boot time, or the reason it failed. */
export async function probeBoot(home: string, accel: Accel, progress: Progress, mirror?: string): Promise<{ ok: true; ms: number } | { ok: false; why: string }> {
  const kernel = await ensureKernel(home, { mirror, progress });
  const initramfs = await ensureInitramfs(home, kernel, undefined);
  const runDir = await mkdtemp(join(tmpdir(), 'bot-bottle-probe-'));
  const nonce = randomBytes(8).toString('hex');
  const started = Date.now();
  try {
    const run = startQemu({
      name: `bot-bottle-probe-${nonce}`,
      accel,
      memoryMiB: 128,
      cpus: 1,
      kernel: kernel.vmlinuz,
      initramfs,
      append: ['bb.mode=probe', `bb.nonce=${nonce}`],
      runDir,
      disks: [],
      lanes: 0,
      forwards: undefined,
      daemonize: false,
    });
    const limit = accel === 'kvm' ? KVM_PROBE_MS : TCG_PROBE_MS;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), limit)));
    const result = await Promise.race([run, timeout]);
    clearTimeout(timer);
    const console = await readFile(consoleLog(runDir), 'utf8').catch(() => '');
    if (result === 'timeout') {
      // The probe QEMU is a child of ours; it dies with its pid file's owner gone below.
      await killProbe(runDir);
      await run.catch(() => undefined);
      return { ok: false, why: `the probe guest did not finish within ${limit / 1000} s` };
    }
    if (console.includes(`BB-PROBE-OK ${nonce}`)) return { ok: true, ms: Date.now() - started };
    const why = result.stderr.split('\n').find((l) => l.trim()) ?? `QEMU exited ${result.code} without the guest's answer`;
    return { ok: false, why: why.replace(/^qemu-system-x86_64: /, '') };
  } finally {
    await rm(runDir, { recursive: true, force: true });
  }
}

async function killProbe(runDir: string): Promise<void> {
  try {
    const pid = Number.parseInt(await readFile(join(runDir, 'qemu.pid'), 'utf8'), 10);
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    if (argv.includes(join(runDir, 'qemu.pid'))) process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

/** The accelerator for guests on this host: cached verdict, else a real boot. */
export async function chooseAccel(home: string, progress: Progress, opts: { mirror?: string | undefined; fresh?: boolean } = {}): Promise<AccelVerdict> {
  const kernel = await ensureKernel(home, { mirror: opts.mirror, progress });
  const kvm = await usable(KVM_DEVICE);
  const key = JSON.stringify({ host: hostname(), hostKernel: release(), qemu: await qemuVersion(), guest: kernel.release, kvm });
  const cacheFile = join(microvmCacheDir(home), 'accel.json');
  if (!opts.fresh) {
    try {
      const cached = JSON.parse(await readFile(cacheFile, 'utf8')) as AccelVerdict;
      if (cached.key === key) return cached;
    } catch {
      /* no verdict yet */
    }
  }
  progress.step('probing hardware acceleration for micro-VMs (one boot, cached)');
  let verdict: AccelVerdict | undefined;
  let kvmWhy = `${KVM_DEVICE} is missing or not accessible`;
  if (kvm) {
    const r = await probeBoot(home, 'kvm', progress, opts.mirror);
    if (r.ok) verdict = { accel: 'kvm', reason: `KVM: a probe guest booted in ${r.ms} ms`, bootMs: r.ms, key, probedAt: new Date().toISOString() };
    else kvmWhy = `${KVM_DEVICE} exists but a probe guest does not boot under KVM (${r.why})`;
  }
  if (!verdict) {
    const r = await probeBoot(home, 'tcg', progress, opts.mirror);
    if (!r.ok) throw new BottleError('launch', `QEMU cannot boot a micro-VM here, even with software emulation: ${r.why}`, { fix: 'bot-bottle doctor; check that qemu-system-x86 works (apt-get install qemu-system-x86)' });
    verdict = { accel: 'tcg', reason: `software emulation (TCG): ${kvmWhy}; a probe guest booted in ${r.ms} ms`, bootMs: r.ms, key, probedAt: new Date().toISOString() };
    progress.warn(`micro-VMs use software emulation on this host (slow): ${kvmWhy}`);
  }
  await mkdir(microvmCacheDir(home), { recursive: true });
  await writeFile(cacheFile, JSON.stringify(verdict, null, 2) + '\n');
  return verdict;
}
