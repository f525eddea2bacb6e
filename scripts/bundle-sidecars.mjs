// Bundle each sidecar entry into one ESM file for the sidecar bundle image:
// the bundle runs the pinned Node LTS (images/node) with no node_modules, so dependencies are
// inlined here, at package build time, never fetched inside an image build.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';

const entries = {
  init: 'src/sidecars/init/serve.ts',
  heartbeat: 'src/sidecars/init/heartbeat.ts',
  egress: 'src/sidecars/egress/serve.ts',
  'git-gate': 'src/sidecars/git-gate/serve.ts',
  supervise: 'src/sidecars/supervise/serve.ts',
  'vm-relay': 'src/sidecars/vm-relay/serve.ts',
  'build-proxy': 'src/sidecars/egress/build-proxy.ts',
};

const entryPoints = Object.fromEntries(Object.entries(entries).filter(([, path]) => existsSync(path)));
await build({
  entryPoints,
  outdir: 'dist/bundle',
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
  // ASCII output: V8 keeps a script with any character above U+00FF as two bytes per
  // character, which doubled supervise.js (an em dash in a dependency) in every heap.
  charset: 'ascii',
  // Whitespace only (names stay, the .map files still map): V8 keeps every script's
  // source and its line-end table in the heap of each process that loads it.
  minifyWhitespace: true,
  // Some CommonJS deps call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __bbCreateRequire } from 'node:module'; const require = __bbCreateRequire(import.meta.url);" },
});
