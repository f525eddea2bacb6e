import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cpioArchive } from './cpio.js';
import { arMembers, parsePackages, releaseHash } from './debian.js';
import { moduleDepends } from './kit.js';
import { FrameReader, frame, openPayload } from './channel.js';
import { guestSize, guestVcpus } from './plan.js';
import { qemuArgs } from './qemu.js';

// The kernel unpacking these archives is tested by every guest boot (test/microvm-*.test.ts).
void test('cpio archives follow the newc layout: headers, 4-byte alignment, modes, trailer', () => {
  const archive = cpioArchive([
    { path: 'bin', kind: 'dir', mode: 0o755 },
    { path: 'bin/tool', kind: 'file', mode: 0o750, data: Buffer.from('#!/bin/sh\necho hi\n') },
    { path: 'bin/alias', kind: 'symlink', mode: 0o777, data: 'tool' },
    { path: 'odd', kind: 'file', mode: 0o644, data: 'x'.repeat(7) },
  ]);
  assert.equal(archive.subarray(0, 6).toString(), '070701');
  assert.equal(archive.length % 4, 0);
  const text = archive.toString('latin1');
  assert.ok(text.includes('bin/tool\0'));
  assert.ok(text.includes('TRAILER!!!\0'));
  // mode field of the second entry: regular file 0o100750
  const second = text.indexOf('070701', 6);
  assert.equal(Number.parseInt(text.slice(second + 14, second + 22), 16), 0o100750);
  assert.throws(() => cpioArchive([{ path: '../evil', kind: 'file', mode: 0o644, data: '' }]), /bad cpio path/);
});

void test('ar members of a .deb are found by name', () => {
  const member = (name: string, body: string) => {
    const h = Buffer.alloc(60, ' ');
    h.write(name.padEnd(16), 0);
    h.write(String(body.length).padEnd(10), 48);
    h.write('`\n', 58);
    return Buffer.concat([h, Buffer.from(body), Buffer.from(body.length % 2 ? '\n' : '')]);
  };
  const ar = Buffer.concat([Buffer.from('!<arch>\n'), member('debian-binary', '2.0\n'), member('data.tar.xz', 'abc')]);
  const m = arMembers(ar);
  assert.equal(m.get('debian-binary')?.toString(), '2.0\n');
  assert.equal(m.get('data.tar.xz')?.toString(), 'abc');
  assert.throws(() => arMembers(Buffer.from('nope')), /not an ar archive/);
});

void test('Release and Packages parsing picks the signed hash and the wanted stanza', () => {
  const release = 'Origin: Debian\nMD5Sum:\n 00 1 main/binary-amd64/Packages.gz\nSHA256:\n aa 10 main/binary-amd64/Packages\n bb 5 main/binary-amd64/Packages.gz\n';
  assert.equal(releaseHash(release, 'main/binary-amd64/Packages.gz'), 'bb');
  assert.equal(releaseHash(release, 'main/binary-arm64/Packages.gz'), undefined);
  const idx = 'Package: a\nVersion: 1\nFilename: pool/a.deb\nSHA256: 11\n\nPackage: linux-image-cloud-amd64\nVersion: 2\nDepends: linux-image-6.1.0-9-cloud-amd64 (= 6.1)\nFilename: pool/l.deb\nSHA256: 22\n';
  const rec = parsePackages(idx, (n) => n === 'linux-image-cloud-amd64').get('linux-image-cloud-amd64');
  assert.equal(rec?.depends, 'linux-image-6.1.0-9-cloud-amd64 (= 6.1)');
  assert.equal(rec?.sha256, '22');
});

void test('module dependencies come from the .modinfo section', () => {
  const ko = Buffer.concat([Buffer.from('\x7fELF....\0license=GPL\0depends=virtio,virtio_ring\0vermagic=6.1\0')]);
  assert.deepEqual(moduleDepends(ko), ['virtio', 'virtio_ring']);
  assert.deepEqual(moduleDepends(Buffer.from('\0depends=\0')), []);
});

void test('exec frames round-trip through the reader in any chunking', () => {
  const bytes = Buffer.concat([frame('o', Buffer.from('hello')), frame('x', Buffer.from([0, 0, 0, 7])), frame('C')]);
  const r = new FrameReader();
  const got = [...bytes].flatMap((b) => r.push(Buffer.from([b])));
  assert.deepEqual(got.map((f) => f.type), ['o', 'x', 'C']);
  assert.equal(got[1]?.payload.readInt32BE(0), 7);
  const p = openPayload({ argv: ['sh', '-c', 'a b'], env: { A: '1=2' }, user: 'agent', workdir: '/workspace' }, { rows: 30, cols: 100 }).toString();
  assert.deepEqual(p.split('\0').filter(Boolean), ['u=agent', 'w=/workspace', 't=1', 'r=30', 'c=100', 'e=A=1=2', 'a=sh', 'a=-c', 'a=a b']);
  assert.throws(() => openPayload({ argv: ['a\0b'], env: {}, user: 'x', workdir: '/' }, undefined), /NUL/);
});

void test('the guest network forwards only the listed ports, restricted, with commas escaped', () => {
  const args = qemuArgs({
    name: 'bot-bottle-x', accel: 'tcg', memoryMiB: 256, cpus: 1, kernel: '/k', initramfs: '/i', append: [], runDir: '/run/a,b', disks: [], lanes: 1,
    forwards: [{ port: 3128, command: ['socat', '-', 'UNIX-CONNECT:/s/egress.sock'] }], daemonize: true,
  });
  const net = args[args.indexOf('-netdev') + 1] ?? '';
  assert.match(net, /^user,id=net0,restrict=on,/);
  assert.equal(net.match(/guestfwd=/g)?.length, 1);
  assert.ok(net.includes('guestfwd=tcp:10.0.2.100:3128-cmd:socat - UNIX-CONNECT:/s/egress.sock'));
  assert.ok(!net.includes('hostfwd'));
  assert.ok(args.includes('path=/run/a,,b/exec0.sock') || args.some((a) => a.includes('/run/a,,b/exec0.sock')));
  assert.equal(args[args.indexOf('-accel') + 1], 'tcg');
});

void test('a software-emulated guest gets one vCPU (they share one host thread); KVM gets what the limits ask', () => {
  const size = guestSize({ nanoCpus: 3e9, memoryBytes: undefined, pids: 100 });
  assert.equal(size.cpus, 3);
  assert.equal(guestVcpus(size, 'tcg'), 1);
  assert.equal(guestVcpus(size, 'kvm'), 3);
});
