// The bundle ships only dist/sidecars and runs on Debian's Node 18 with no
// node_modules: sidecar code may import Node builtins and other sidecar files,
// nothing else (in particular never the CLI).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const sidecars = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SPEC_RE = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
  });
}

void test('sidecar code imports only node: builtins and files inside src/sidecars', () => {
  const files = sources(sidecars);
  assert.ok(files.length > 0);
  const bad: string[] = [];
  for (const file of files) {
    for (const m of readFileSync(file, 'utf8').matchAll(SPEC_RE)) {
      const spec = m[1] ?? '';
      if (spec.startsWith('node:')) continue;
      const inside =
        spec.startsWith('.') && !relative(sidecars, resolve(dirname(file), spec)).startsWith('..');
      if (!inside) bad.push(`${relative(sidecars, file)}: ${spec}`);
    }
  }
  assert.deepEqual(bad, []);
});
