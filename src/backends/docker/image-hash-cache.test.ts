// The context-hash cache alone: what changes a fingerprint, and a cache file that cannot be trusted.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { contextFingerprint, type FingerprintFile, lookupHash, rememberHash } from './image-hash-cache.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function scratch(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'bot-bottle-hash-cache-'));
  dirs.push(d);
  return d;
}

void test('a fingerprint changes when a file is rewritten (same content), renamed in the context, or its inline data changes', async () => {
  const d = await scratch();
  const source = join(d, 'a.txt');
  await writeFile(source, 'same\n');
  const files = (data: string): FingerprintFile[] => [
    { type: 'dir', path: 'x', mode: 0o755 },
    { type: 'file', path: 'x/a.txt', mode: 0o644, source },
    { type: 'file', path: 'ca.crt', mode: 0o644, data: Buffer.from(data) },
  ];
  const first = await contextFingerprint('v1', files('ca'), ['dockerfile=Dockerfile']);
  assert.equal(await contextFingerprint('v1', files('ca'), ['dockerfile=Dockerfile']), first);
  assert.notEqual(await contextFingerprint('v1', files('other ca'), ['dockerfile=Dockerfile']), first);
  assert.notEqual(await contextFingerprint('v2', files('ca'), ['dockerfile=Dockerfile']), first);
  assert.notEqual(await contextFingerprint('v1', files('ca'), ['dockerfile=Other']), first);
  const renamed = files('ca').map((f) => (f.path === 'x/a.txt' ? { ...f, path: 'x/b.txt' } : f));
  assert.notEqual(await contextFingerprint('v1', renamed, ['dockerfile=Dockerfile']), first);
  await new Promise((r) => setTimeout(r, 20)); // a later ctime on filesystems with coarse timestamps
  await writeFile(source, 'same\n');
  assert.notEqual(await contextFingerprint('v1', files('ca'), ['dockerfile=Dockerfile']), first);
});

void test('remembered hashes come back; a malformed entry or file is a miss', async () => {
  const d = await scratch();
  const file = join(d, 'cache', 'image-hashes.json');
  assert.equal(await lookupHash(file, 'k'), undefined);
  const value = { hash: '0123456789abcdef', bases: [['debian:bookworm-slim', 'sha256:00']] as const };
  await rememberHash(file, 'k', value);
  await rememberHash(file, 'k2', { hash: 'fedcba9876543210', bases: [] });
  assert.deepEqual(await lookupHash(file, 'k'), value);
  await writeFile(file, JSON.stringify({ k: { hash: '../../evil', bases: [] } }));
  assert.equal(await lookupHash(file, 'k'), undefined);
  await writeFile(file, 'not json');
  assert.equal(await lookupHash(file, 'k'), undefined);
  await rememberHash(file, 'k', value);
  assert.deepEqual(await lookupHash(file, 'k'), value);
});
