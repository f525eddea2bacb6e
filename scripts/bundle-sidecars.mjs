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
// it (init and egress), against 15 ms through require(). So node:http comes in
// through the bundle's require(), and a small module re-exports its plain values
// (names Node only defines as getters are left out: importing one fails the build).
const HTTP = /^(node:)?http$/;
const httpThroughRequire = {
  name: 'http-through-require',
  setup(b) {
    b.onResolve({ filter: HTTP }, (a) => (a.kind === 'require-call' ? { path: 'node:http', external: true } : { path: 'http', namespace: 'http-through-require' }));
    b.onLoad({ filter: /.*/, namespace: 'http-through-require' }, () => {
      const names = Object.entries(Object.getOwnPropertyDescriptors(requireHere('node:http')))
        .filter(([name, d]) => 'value' in d && name !== 'default' && /^[A-Za-z_$][\w$]*$/.test(name))
        .map(([name]) => name);
      return {
        contents: [`const http = require('node:http');`, 'export default http;', ...names.map((n) => `export const ${n} = http.${n};`)].join('\n'),
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
  plugins: [httpThroughRequire],
  // ASCII output: V8 keeps a script with any character above U+00FF as two bytes per
  // character, which doubled supervise.js (an em dash in a dependency) in every heap.
  charset: 'ascii',
  // Whitespace only (names stay, the .map files still map): V8 keeps every script's
  // source and its line-end table in the heap of each process that loads it.
  minifyWhitespace: true,
  // Some CommonJS deps call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __bbCreateRequire } from 'node:module'; const require = __bbCreateRequire(import.meta.url);" },
});
