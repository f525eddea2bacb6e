// The archives the engine receives: what goes in comes out (read back with
// tar-stream's parser and with the system's tar), identically every time.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { extract } from 'tar-stream';
import { type TarEntry, tarStream } from './tar.js';

const LONG = `${'a'.repeat(60)}/${'b'.repeat(60)}/${'c'.repeat(60)}/file-past-the-100-byte-ustar-name.txt`;
const entries = (): TarEntry[] => [
  { type: 'dir', path: 'bin', mode: 0o755 },
  { type: 'file', path: 'bin/run.sh', mode: 0o755, data: Buffer.from('#!/bin/sh\necho ran\n') },
  { type: 'symlink', path: 'bin/link', mode: 0o777, target: 'run.sh' },
  { type: 'file', path: LONG, mode: 0o644, data: () => Promise.resolve(Buffer.from('deep\n')) },
  { type: 'file', path: 'home/agent/.gitconfig', mode: 0o600, data: Buffer.from('[user]\n'), uid: 1000, gid: 1000 },
];

async function bytes(list: TarEntry[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of tarStream(list)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

void test('entries come back with their names, types, modes, owners, targets and data', async () => {
  const seen: { name: string; type: string; mode: number; uid: number; linkname: string | null; data: string }[] = [];
  const x = extract();
  x.on('entry', (h, stream, next) => {
    const parts: Buffer[] = [];
    stream.on('data', (c) => parts.push(c as Buffer));
    stream.on('end', () => {
      seen.push({ name: h.name, type: h.type ?? '', mode: h.mode ?? 0, uid: h.uid ?? -1, linkname: h.linkname ?? null, data: Buffer.concat(parts).toString() });
      next();
    });
  });
  const done = new Promise<void>((resolve, reject) => x.on('finish', resolve).on('error', reject));
  x.end(await bytes(entries()));
  await done;
  assert.deepEqual(seen, [
    { name: 'bin/', type: 'directory', mode: 0o755, uid: 0, linkname: null, data: '' },
    { name: 'bin/run.sh', type: 'file', mode: 0o755, uid: 0, linkname: null, data: '#!/bin/sh\necho ran\n' },
    { name: 'bin/link', type: 'symlink', mode: 0o777, uid: 0, linkname: 'run.sh', data: '' },
    { name: LONG, type: 'file', mode: 0o644, uid: 0, linkname: null, data: 'deep\n' },
    { name: 'home/agent/.gitconfig', type: 'file', mode: 0o600, uid: 1000, linkname: null, data: '[user]\n' },
  ]);
});

void test('the same entries give the same bytes; the system tar unpacks them', async () => {
  const a = await bytes(entries());
  assert.deepEqual(await bytes(entries()), a);
  const dir = mkdtempSync(join(tmpdir(), 'bb-tar-'));
  try {
    writeFileSync(join(dir, 'a.tar'), a);
    execFileSync('tar', ['-x', '-f', join(dir, 'a.tar'), '-C', dir, '--no-same-owner']);
    assert.equal(readFileSync(join(dir, LONG), 'utf8'), 'deep\n');
    assert.equal(readlinkSync(join(dir, 'bin/link')), 'run.sh');
    assert.equal(statSync(join(dir, 'bin/run.sh')).mode & 0o777, 0o755);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
