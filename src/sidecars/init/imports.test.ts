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

// Sidecars run in the bundle and are prepared on the host; they must never
// reach into the CLI, the library's lifecycle code or a backend (SPEC: "sidecars
// never import the CLI"; Docker types stay behind backends/docker/).
const src = resolve(sidecars, '..');
const FORBIDDEN = ['cli', 'api', 'backends', 'index.ts', 'demo'].map((p) => join(src, p));

void test('sidecar code never imports the CLI, the lifecycle API or a backend', () => {
  const files = sources(sidecars);
  assert.ok(files.length > 0);
  const bad: string[] = [];
  for (const file of files) {
    for (const m of readFileSync(file, 'utf8').matchAll(SPEC_RE)) {
      const spec = m[1] ?? '';
      if (!spec.startsWith('.')) continue; // node: builtins and packages (bundled by esbuild)
      const target = resolve(dirname(file), spec).replace(/\.js$/, '');
      if (FORBIDDEN.some((f) => target === f.replace(/\.ts$/, '') || target.startsWith(f + '/'))) bad.push(`${relative(sidecars, file)}: ${spec}`);
    }
  }
  assert.deepEqual(bad, []);
});
