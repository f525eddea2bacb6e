/**
 * The micro-VM's guest kernel and the acceleration probe, on this host for
 * real: the kernel comes from the Debian mirror (signature-checked), and the
 * verdict must agree with what a KVM boot actually does here.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chooseAccel, probeBoot } from '../src/backends/microvm/accel.js';
import { detectSmolvm, microvmDoctor } from '../src/backends/microvm/doctor.js';
import { ensureKernel } from '../src/backends/microvm/kit.js';
import { readSettings } from '../src/settings.js';
import { silentProgress } from '../src/progress.js';

let home: string;
before(() => {
  home = mkdtempSync(join(tmpdir(), 'bb-mvm-accel-'));
});
after(() => rmSync(home, { recursive: true, force: true }));

void test('the guest kernel is fetched from the Debian mirror, with the modules the guest needs', async () => {
  const k = await ensureKernel(home, { progress: silentProgress });
  assert.match(k.release, /^\d+\.\d+\.\d+-\d+-cloud-amd64$/);
  assert.notEqual(k.release, release(), 'the guest runs its own kernel, not the host one');
  assert.ok(readFileSync(k.vmlinuz).length > 1_000_000);
  const order = readFileSync(join(k.modulesDir, 'modules.order'), 'utf8').split('\n').filter(Boolean);
  for (const m of ['virtio_ring', 'virtio', 'virtio_mmio', 'virtio_blk', 'virtio_net', 'virtio_console']) assert.ok(order.includes(m), `${m} in ${order.join(',')}`);
  assert.ok(order.indexOf('virtio_ring') < order.indexOf('virtio_mmio'), 'dependencies load first');
  // A second call is served from the cache.
  const again = await ensureKernel(home, { progress: { step: () => assert.fail('fetched twice'), detail() {}, warn() {} } });
  assert.equal(again.release, k.release);
});

void test('acceleration comes from a real boot and is cached per host', async () => {
  const verdict = await chooseAccel(home, silentProgress);
  const kvmBoot = existsSync('/dev/kvm') ? await probeBoot(home, 'kvm', silentProgress) : { ok: false as const, why: 'no /dev/kvm' };
  assert.equal(verdict.accel, kvmBoot.ok ? 'kvm' : 'tcg', `verdict ${verdict.reason}; direct KVM probe: ${JSON.stringify(kvmBoot)}`);
  if (verdict.accel === 'tcg') assert.match(verdict.reason, /software emulation \(TCG\)/);
  const cached = await chooseAccel(home, { step: () => assert.fail('probed twice'), detail() {}, warn() {} });
  assert.equal(cached.probedAt, verdict.probedAt);
});

void test('doctor reports the tools and the accelerator from a fresh boot; smolvm only when installed', async () => {
  const checks = await microvmDoctor(readSettings({ ...process.env, BOT_BOTTLE_HOME: home }), { network: true });
  const by = new Map(checks.map((c) => [c.name, c]));
  assert.equal(by.get('microvm: QEMU')?.ok, true);
  const accel = by.get('microvm: acceleration');
  assert.equal(accel?.ok, true, accel?.detail);
  const verdict = await chooseAccel(home, silentProgress);
  assert.ok(accel?.detail === verdict.reason, 'doctor wrote the verdict starts use');
  // smolvm: absent here; a program of that name on PATH is detected (and never required).
  assert.match(by.get('microvm: smolvm (optional)')?.detail ?? '', /not installed|smolvm/);
  const bin = mkdtempSync(join(tmpdir(), 'bb-smolvm-'));
  writeFileSync(join(bin, 'smolvm'), '#!/bin/sh\necho "smolvm 0.0-test"\n', { mode: 0o755 });
  assert.deepEqual(await detectSmolvm(bin), { path: join(bin, 'smolvm'), version: 'smolvm 0.0-test' });
  assert.equal(await detectSmolvm(home), undefined);
  rmSync(bin, { recursive: true, force: true });
});
