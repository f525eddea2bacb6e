/**
 * `doctor` for the micro-VM backend: the host tools it needs, and the
 * accelerator decided by a real boot (a fresh probe every time doctor runs;
 * starts use the cached verdict). `smolvm` is reported when installed: an
 * optional engine, never required.
 */
import type { DoctorCheck } from '../../bottle/backend.js';
import { findExecutable } from '../../bottle/executable.js';
import { BottleError } from '../../errors.js';
import { silentProgress } from '../../progress.js';
import type { Settings } from '../../settings.js';
import { chooseAccel, KVM_DEVICE, qemuVersion } from './accel.js';
import { runTool } from './debian.js';

/** The optional smolvm (libkrun) engine, if this host has it. */
export async function detectSmolvm(path?: string): Promise<{ path: string; version: string } | undefined> {
  const p = await findExecutable('smolvm', path);
  if (!p) return undefined;
  const version = await runTool(p, ['--version']).then((b) => b.toString('utf8').trim().split('\n')[0] ?? '', () => 'unknown version');
  return { path: p, version };
}

const APT_FIX = 'as root: apt-get install qemu-system-x86 qemu-utils socat';

export async function microvmDoctor(settings: Settings, opts: { network: boolean }): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  let qemu: string | undefined;
  try {
    qemu = await qemuVersion();
    checks.push({ name: 'microvm: QEMU', ok: true, detail: qemu, fix: undefined });
  } catch (e) {
    checks.push({ name: 'microvm: QEMU', ok: false, detail: e instanceof Error ? e.message : String(e), fix: APT_FIX });
  }
  for (const [tool, why] of [['qemu-img', 'per-bottle disk overlays'], ['socat', "carries the guest's connections to its bundle"], ['mke2fs', 'workspace disks']] as const) {
    const p = await findExecutable(tool);
    checks.push({ name: `microvm: ${tool}`, ok: p !== undefined, detail: p ? `${p} (${why})` : `missing (${why})`, fix: p ? undefined : APT_FIX });
  }
  if (qemu) {
    try {
      const v = await chooseAccel(settings.home, silentProgress, { mirror: settings.debianMirror, fresh: true });
      checks.push({ name: 'microvm: acceleration', ok: true, detail: v.reason, fix: v.accel === 'kvm' ? undefined : `for KVM, a host with working hardware virtualisation and access to ${KVM_DEVICE}` });
    } catch (e) {
      const detail = e instanceof BottleError ? e.message : String(e);
      checks.push({ name: 'microvm: acceleration', ok: false, detail: opts.network ? detail : `${detail} (the guest kernel is fetched from the Debian mirror on first use)`, fix: e instanceof BottleError ? e.fix : undefined });
    }
  }
  const smolvm = await detectSmolvm();
  checks.push({
    name: 'microvm: smolvm (optional)',
    ok: true,
    detail: smolvm ? `${smolvm.path} (${smolvm.version}); bottles still use QEMU unless asked` : 'not installed; QEMU is used',
    fix: undefined,
  });
  return checks;
}
