import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readlinkSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileCacheFor } from './compile-cache.js';

function scratch(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'bb-cc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test("another uid reaches the image's cache through links named for it", (t) => {
  const dir = scratch(t);
  const image = join(dir, 'image');
  for (const tag of ['v22.23.5-x64-950e2fb4-10001', 'v22.23.5-x64-8fd91857-10001']) {
    mkdirSync(join(image, tag), { recursive: true });
    writeFileSync(join(image, tag, 'entry'), 'x');
  }
  const links = join(dir, 'links');
  assert.equal(compileCacheFor(image, links, 1000), links);
  assert.deepEqual(readdirSync(links).sort(), ['v22.23.5-x64-8fd91857-1000', 'v22.23.5-x64-950e2fb4-1000']);
  assert.equal(readlinkSync(join(links, 'v22.23.5-x64-950e2fb4-1000')), join(image, 'v22.23.5-x64-950e2fb4-10001'));
  assert.deepEqual(readdirSync(join(links, 'v22.23.5-x64-950e2fb4-1000')), ['entry']);
});

test('the uid the cache was made for, an empty, a missing or an unwritable place: nothing changes', (t) => {
  const dir = scratch(t);
  const image = join(dir, 'image');
  mkdirSync(join(image, 'v22.23.5-x64-950e2fb4-10001'), { recursive: true });
  assert.equal(compileCacheFor(image, join(dir, 'a'), 10001), undefined);
  mkdirSync(join(dir, 'empty'));
  assert.equal(compileCacheFor(join(dir, 'empty'), join(dir, 'b'), 1000), undefined);
  assert.equal(compileCacheFor(join(dir, 'missing'), join(dir, 'c'), 1000), undefined);
  writeFileSync(join(dir, 'file'), '');
  assert.equal(compileCacheFor(image, join(dir, 'file', 'under-a-file'), 1000), undefined);
});
