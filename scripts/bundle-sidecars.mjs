// Bundle each sidecar entry into one ESM file for the sidecar bundle image:
// the bundle runs the pinned Node LTS (images/node) with no node_modules, so dependencies are
// inlined here, at package build time, never fetched inside an image build.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const requireHere = createRequire(import.meta.url);

// `import ... from 'node:http'` makes Node build an ESM facade that reads every
// export, and node:http's lazy WebSocket/EventSource getters then load undici:
// about 60-100 ms and 5 MB of anon memory in every bundle process that imports
// it (init and egress), against 15 ms through require(). node:fs likewise: its
// facade reads the lazy ReadStream/WriteStream getters, which load fs's stream
// classes (25-35 ms of each boot under load, in init and egress alike, one after
// the other on the bottle's start path; no bundle uses fs streams). So these come
// in through the bundle's require(), and a small module re-exports their plain
// values (names Node only defines as getters are left out: importing one fails the build).
const THROUGH_REQUIRE = /^(node:)?(http|fs)$/;
const builtinsThroughRequire = {
  name: 'builtins-through-require',
  setup(b) {
    b.onResolve({ filter: THROUGH_REQUIRE }, (a) => {
      const name = a.path.replace(/^node:/, '');
      return a.kind === 'require-call' ? { path: `node:${name}`, external: true } : { path: name, namespace: 'builtins-through-require' };
    });
    b.onLoad({ filter: /.*/, namespace: 'builtins-through-require' }, (a) => {
      const names = Object.entries(Object.getOwnPropertyDescriptors(requireHere(`node:${a.path}`)))
        .filter(([name, d]) => 'value' in d && name !== 'default' && /^[A-Za-z_$][\w$]*$/.test(name))
        .map(([name]) => name);
      return {
        contents: [`const m = require('node:${a.path}');`, 'export default m;', ...names.map((n) => `export const ${n} = m.${n};`)].join('\n'),
        loader: 'js',
      };
    });
  },
};

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
  plugins: [builtinsThroughRequire],
  // ASCII output: V8 keeps a script with any character above U+00FF as two bytes per
  // character, which doubled supervise.js (an em dash in a dependency) in every heap.
  charset: 'ascii',
  // Whitespace only (names stay, the .map files still map): V8 keeps every script's
  // source and its line-end table in the heap of each process that loads it.
  minifyWhitespace: true,
  // Some CommonJS deps call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __bbCreateRequire } from 'node:module'; const require = __bbCreateRequire(import.meta.url);" },
});
