// The layering of ARCHITECTURE.md, checked on every import of src/ (type-only
// imports included: a type loop is still a loop between layers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = dirname(fileURLToPath(import.meta.url));
const SPEC_RE = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm;

interface Import {
  /** The importing file, relative to src/, with `/`. */
  readonly from: string;
  /** A src/-relative path (`bottle/state`) for relative imports, else the package name. */
  readonly to: string;
  readonly relative: boolean;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

const imports: Import[] = sources(SRC).flatMap((file) => {
  const from = relative(SRC, file).split(sep).join('/');
  return [...readFileSync(file, 'utf8').matchAll(SPEC_RE)].map((m): Import => {
    const spec = m[1] ?? '';
    if (!spec.startsWith('.')) return { from, to: spec, relative: false };
    const to = relative(SRC, resolve(dirname(file), spec)).split(sep).join('/').replace(/\.js$/, '');
    return { from, to, relative: true };
  });
});
const isTest = (f: string): boolean => f.endsWith('.test.ts');
const top = (p: string): string => p.split('/')[0] ?? p;
const show = (i: Import): string => `${i.from} -> ${i.to}`;

void test('the import scan sees the tree', () => {
  assert.ok(imports.some((i) => i.from.startsWith('bottle/')));
  assert.ok(imports.some((i) => i.from.startsWith('backends/docker/') && i.to === 'dockerode'));
});

void test('bottle/ imports nothing above it (only bottle, manifest, errors, settings, progress, paths)', () => {
  const allowed = new Set(['bottle', 'manifest', 'errors', 'settings', 'progress', 'paths']);
  const bad = imports.filter((i) => i.from.startsWith('bottle/') && !isTest(i.from) && i.relative && !allowed.has(top(i.to)));
  assert.deepEqual(bad.map(show), []);
});

void test('manifest/ imports only itself, errors and settings', () => {
  const allowed = new Set(['manifest', 'errors', 'settings', 'paths']);
  const bad = imports.filter((i) => i.from.startsWith('manifest/') && !isTest(i.from) && i.relative && !allowed.has(top(i.to)));
  assert.deepEqual(bad.map(show), []);
});

void test('sidecar code never imports the CLI, the lifecycle API, a backend or the front door', () => {
  // Sidecars run in the bundle and are prepared on the host (SPEC: sidecars never import the CLI).
  const forbidden = new Set(['cli', 'api', 'backends', 'index', 'demo']);
  const bad = imports.filter((i) => i.from.startsWith('sidecars/') && !isTest(i.from) && i.relative && forbidden.has(top(i.to)));
  assert.deepEqual(bad.map(show), []);
});

void test('no backend imports another backend, nor the API, the CLI or the front door', () => {
  const bad = imports.filter((i) => {
    if (!i.from.startsWith('backends/') || !i.relative) return false;
    const own = i.from.split('/')[1];
    const [layer, name] = i.to.split('/');
    // backends/index.ts is the registry: the one module that knows every backend.
    if (layer === 'backends' && i.from !== 'backends/index.ts' && name !== undefined && name !== 'index' && name !== own) return true;
    return !isTest(i.from) && ['api', 'cli', 'index', 'demo'].includes(layer ?? '');
  });
  assert.deepEqual(bad.map(show), []);
});

void test("the front ends' leaves stay leaves: they import no lifecycle module", () => {
  const lifecycle = new Set(['api', 'backends', 'bottle', 'sidecars', 'manifest', 'providers', 'index', 'cli', 'dashboard', 'demo']);
  const leafFiles = (f: string) => [...FRONT_END_LEAVES].some((l) => f === `${l}.ts` || (l.endsWith('/index') && f.startsWith(l.slice(0, -'index'.length))));
  assert.ok(imports.some((i) => i.relative && leafFiles(i.from)), 'the leaves are among the files read');
  const bad = imports.filter((i) => i.relative && !isTest(i.from) && leafFiles(i.from) && lifecycle.has(top(i.to) ?? ''));
  assert.deepEqual(bad.map(show), []);
});

void test('only backends/docker/ imports dockerode', () => {
  const bad = imports.filter((i) => (i.to === 'dockerode' || i.to.startsWith('dockerode/')) && !i.from.startsWith('backends/docker/'));
  assert.deepEqual(bad.map(show), []);
});

/**
 * Leaves a front end may load without src/index.ts: they import nothing of the
 * lifecycle, so `bot-bottle scan` (a pre-push hook's command) starts without
 * loading engines, sidecars and manifests (src/cli/bin.ts), and the CLI's
 * program loads only the command it runs (src/cli/main.ts). `scan`'s start
 * loads git's log alone (secrets/git-log), before the scanner.
 */
const FRONT_END_LEAVES = new Set(['errors', 'untrusted', 'settings', 'progress', 'paths', 'secrets/index', 'secrets/git-log']);

void test('the front ends (cli/, dashboard/) reach the library only through src/index.ts (or its lifecycle-free leaves)', () => {
  // The CLI may start the dashboard (its `dashboard` command); both are front ends over index.ts.
  const front = (f: string): string | undefined => (f.startsWith('cli/') ? 'cli' : f.startsWith('dashboard/') ? 'dashboard' : undefined);
  const bad = imports.filter((i) => {
    const own = front(i.from);
    if (own === undefined || isTest(i.from) || !i.relative) return false;
    if (top(i.to) === own || i.to === 'index' || FRONT_END_LEAVES.has(i.to)) return false;
    return !(own === 'cli' && i.to === 'dashboard/index');
  });
  assert.deepEqual(bad.map(show), []);
});

void test('api/ and demo/ reach backends only through the registry, never the CLI', () => {
  const bad = imports.filter((i) => {
    if (!(i.from.startsWith('api/') || i.from.startsWith('demo/')) || isTest(i.from) || !i.relative) return false;
    return top(i.to) === 'cli' || i.to === 'index' || (i.to.startsWith('backends/') && i.to !== 'backends/index');
  });
  assert.deepEqual(bad.map(show), []);
});

void test('no source file in src/ is over 600 lines', () => {
  // proxy.ts is being split along its seams (tunnel, admission, DLP action, upstream) under issue 11.
  const SPLITTING = new Set(['sidecars/egress/proxy.ts']);
  const long = sources(SRC)
    .filter((f) => !isTest(f))
    .map((f) => ({ file: relative(SRC, f).split(sep).join('/'), lines: readFileSync(f, 'utf8').split('\n').length }))
    .filter((x) => x.lines > 600 && !SPLITTING.has(x.file));
  assert.deepEqual(long, []);
});
