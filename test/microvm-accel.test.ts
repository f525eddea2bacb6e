/**
 * The micro-VM's guest kernel and the acceleration probe, on this host for
 * real: the kernel comes from the Debian mirror (signature-checked), and the
 * verdict must agree with what a KVM boot actually does here.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chooseAccel, probeBoot } from '../src/backends/microvm/accel.js';
import { ensureKernel } from '../src/backends/microvm/kit.js';
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
