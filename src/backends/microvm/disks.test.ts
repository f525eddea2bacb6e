import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { diskRecordFile, PRUNE_GRACE_MS, pruneRootDisks, qcow2BackingFile, recordDiskUse, repositoryOf } from './disks.js';

void test('the repository of an image reference', () => {
  assert.equal(repositoryOf('bot-bottle/agent-shell:0123abcd'), 'bot-bottle/agent-shell');
  assert.equal(repositoryOf('registry.local:5000/agent:tag'), 'registry.local:5000/agent');
  assert.equal(repositoryOf('registry.local:5000/agent'), 'registry.local:5000/agent');
  assert.equal(repositoryOf('agent@sha256:abcd'), 'agent');
});

void test('the backing file of a real qcow2 overlay, read from its header', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bb-disks-'));
  try {
    const base = join(dir, 'base.ext4');
    writeFileSync(base, Buffer.alloc(1024 * 1024));
    const overlay = join(dir, 'root.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', base, '-F', 'raw', overlay]);
    assert.equal(await qcow2BackingFile(overlay), base);
    assert.equal(await qcow2BackingFile(base), undefined);
    assert.equal(await qcow2BackingFile(join(dir, 'missing.qcow2')), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('prune removes disks of gone or superseded images, never one a bottle or process may boot from', async () => {
  const root = mkdtempSync(join(tmpdir(), 'bb-disks-'));
  const dir = join(root, 'disks');
  const old = new Date(Date.now() - PRUNE_GRACE_MS - 60_000);
  const disk = async (name: string, record: { image_id: string; repository: string } | undefined, when = old): Promise<string> => {
    const path = join(dir, `${name}.ext4`);
    execFileSync('mkdir', ['-p', dir]);
    writeFileSync(path, 'disk');
    if (record) await recordDiskUse(path, record, when);
    utimesSync(path, when, when);
    return path;
  };
  const existing = new Set(['sha256:current', 'sha256:otherrepo', 'sha256:older']);
  try {
    const current = await disk('current', { image_id: 'sha256:current', repository: 'bot-bottle/agent-shell' });
    const superseded = await disk('older', { image_id: 'sha256:older', repository: 'bot-bottle/agent-shell' });
    const otherRepo = await disk('otherrepo', { image_id: 'sha256:otherrepo', repository: 'bot-bottle/agent-claude' });
    const gone = await disk('gone', { image_id: 'sha256:gone', repository: 'bot-bottle/agent-claude' });
    const legacyGone = await disk('legacygone', undefined);
    const legacyKept = await disk('otherrepo2', undefined);
    existing.add('otherrepo2');
    const backs = await disk('backs', { image_id: 'sha256:backs-gone', repository: 'x' });
    const recent = await disk('recent', { image_id: 'sha256:recent-gone', repository: 'bot-bottle/agent-shell' }, new Date());
    const held = await disk('held', { image_id: 'sha256:held-gone', repository: 'bot-bottle/agent-shell' });
    const overlay = join(root, 'root.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', backs, '-F', 'raw', overlay]);
    const fh = await open(held, 'r');
    let removed: string[];
    try {
      removed = await pruneRootDisks({
        dir,
        current: { path: current, record: { image_id: 'sha256:current', repository: 'bot-bottle/agent-shell' } },
        overlays: [overlay, join(root, 'no-such-overlay.qcow2')],
        imageExists: (id) => Promise.resolve(existing.has(id)),
      });
    } finally {
      await fh.close();
    }
    assert.deepEqual(removed.sort(), [gone, legacyGone, superseded].sort());
    for (const p of removed) assert.ok(!existsSync(p) && !existsSync(diskRecordFile(p)), p);
    for (const p of [current, otherRepo, legacyKept, backs, recent, held]) assert.ok(existsSync(p), `${p} was removed`);
    // Nothing to prune in a home that never made a disk.
    assert.deepEqual(await pruneRootDisks({ dir: join(root, 'none'), current: { path: current, record: { image_id: 'x', repository: 'y' } }, overlays: [], imageExists: () => Promise.resolve(true) }), []);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
