// The `bot-bottle` command as a few ES modules instead of ~1,000 files: Node
// resolves, reads and compiles each file of an unbundled import graph one by
// one, which was most of the CLI's start-up (`--help` ~0.7 s, against 0.04 s
// for a bare `node`). Overwrites tsc's dist/cli/main.js (bin.js imports it);
// the library entry (dist/index.js) stays tsc's output. Chunks are split at
// main.ts's per-command dynamic imports, so a command loads its own code and
// what it calls, and the proxy (`egress serve`) loads only there.
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';

const require = createRequire(import.meta.url);
const dockerodeLib = dirname(require.resolve('dockerode/lib/docker.js'));
const modemLib = dirname(require.resolve('docker-modem/lib/modem.js'));

/**
 * Three modules of the engine client that bot-bottle reaches only in cases it
 * does not use on its own paths load from node_modules when first called,
 * instead of at every start: dockerode's BuildKit session and progress decoder (gRPC and
 * protobuf, over half the client's code, and .proto files read from beside
 * them; bot-bottle's builds use the classic builder) and
 * docker-modem's ssh:// transport (ssh2, with an optional native addon).
 */
const lazyModules = {
  name: 'lazy-engine-client-parts',
  setup(b) {
    // request -> [directory of the requiring module, stub body]; `load()` is the real module, from node_modules.
    const lazy = {
      './session': [dockerodeLib, 'dockerode/lib/session.js', 'module.exports = function (...args) { return load()(...args); };'],
      './buildkit': [dockerodeLib, 'dockerode/lib/buildkit.js', 'module.exports = { followProgress: (...args) => load().followProgress(...args) };'],
      './ssh': [modemLib, 'docker-modem/lib/ssh.js', 'module.exports = function (...args) { return load()(...args); };'],
    };
    b.onResolve({ filter: /^\.\/(session|buildkit|ssh)$/ }, (args) => {
      const hit = lazy[args.path];
      return hit && args.resolveDir === hit[0] ? { path: args.path, namespace: 'lazy' } : undefined;
    });
    b.onLoad({ filter: /.*/, namespace: 'lazy' }, (args) => {
      const [, real, body] = lazy[args.path];
      // The real module's require stays a run-time one (see the onResolve below).
      return { contents: `const load = () => require(${JSON.stringify(real)});\n${body}`, loader: 'js' };
    });
    b.onResolve({ filter: /^(dockerode\/lib\/(session|buildkit)|docker-modem\/lib\/ssh)\.js$/ }, (args) => (args.namespace === 'lazy' ? { path: args.path, external: true } : undefined));
  },
};

/**
 * Two costs docker-modem pays on every Engine API request, cut from its
 * buildRequest (the build fails if the code they patch has changed):
 * - it formats each request's options with util.inspect (every property, any
 *   depth) as the argument of a debug() call, also when debugging is off:
 *   ~25 ms of a warm start's CPU on a loaded machine. Now only when on.
 * - Node's http agent checks whether the request's host is an IP literal to
 *   name a TLS server (net.isIP), and the first check compiles the long IPv6
 *   regex: ~10-45 ms. A plain-http (Unix socket) request has no TLS server to
 *   name, so it is given the empty name Node would use for an IP literal.
 */
const modemRequestCosts = {
  name: 'modem-request-costs',
  setup(b) {
    b.onLoad({ filter: /docker-modem[\\/]lib[\\/]modem\.js$/ }, async (args) => {
      const { readFile } = await import('node:fs/promises');
      let text = await readFile(args.path, 'utf8');
      const patches = [
        [/\n(\s*)debug\('Sending: %s', util\.inspect\(options, \{/, "\n$1if (debug.enabled) debug('Sending: %s', util.inspect(options, {"],
        [/\n(\s*)req = http\[self\.protocol === 'ssh' \? 'http' : self\.protocol\]\.request\(opts,/, "\n$1if (self.protocol === 'http' && opts.servername === undefined) opts = Object.assign({}, opts, { servername: '' });\n$1req = http[self.protocol === 'ssh' ? 'http' : self.protocol].request(opts,"],
      ];
      for (const [re, to] of patches) {
        if (!re.test(text)) throw new Error(`docker-modem changed: ${String(re)} not found in ${args.path}; update scripts/bundle-cli.mjs`);
        text = text.replace(re, to);
      }
      return { contents: text, loader: 'js' };
    });
  },
};

/**
 * re2js (270 KB, ~25-40 ms of CPU to load) compiles route regexes, which most
 * bottles do not have: every command that reads manifests loaded it. In the
 * CLI it now loads from node_modules (its CommonJS build) on first use; the
 * named import reads the property at each use, so the getter below defers it.
 * The sidecar bundles still inline it (scripts/bundle-sidecars.mjs: no node_modules there).
 */
const lazyRe2 = {
  name: 'lazy-re2js',
  setup(b) {
    b.onResolve({ filter: /^re2js$/ }, (args) => (args.namespace === 'lazy-re2js' ? { path: 're2js', external: true } : { path: 're2js', namespace: 'lazy-re2js' }));
    b.onLoad({ filter: /.*/, namespace: 'lazy-re2js' }, () => ({
      contents: "let m;\nmodule.exports = { get RE2JS() { return (m ??= require('re2js')).RE2JS; } };\n",
      loader: 'js',
    }));
  },
};

rmSync('dist/cli/chunks', { recursive: true, force: true });
/**
 * bot-bottle's own modules have no import-time effects (one exception: the
 * Node 18 polyfill a sidecar imports for its effect), so a module whose
 * exports a command does not use is left out of that command's chunks: the
 * CLI goes through index.ts, which names every module of the library.
 */
const ownModulesArePure = {
  name: 'own-modules-are-pure',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, async (args) => {
      if (args.pluginData === 'resolving' || args.namespace !== 'file' || !args.importer.includes('/src/')) return undefined;
      const r = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: 'resolving' });
      if (r.errors.length > 0 || !r.path.includes('/src/') || r.path.endsWith('/node18.ts')) return r.errors.length > 0 ? { errors: r.errors } : r;
      return { ...r, sideEffects: false };
    });
  },
};

const result = await build({
  metafile: process.env.BB_METAFILE !== undefined,
  // scan has its own single-file bundle (scripts/bundle-scan.mjs).
  entryPoints: { main: 'src/cli/main.ts' },
  outdir: 'dist/cli',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
  plugins: [lazyModules, ownModulesArePure, modemRequestCosts, lazyRe2],
  // A native addon cannot be inlined: ssh2's optional one and cpu-features stay in node_modules (only the lazy ssh transport loads them).
  external: ['ssh2', 'cpu-features'],
  // CommonJS deps call require(); give the ESM bundle one (resolving from the package, as before).
  banner: { js: "import { createRequire as __bbCreateRequire } from 'node:module'; const require = __bbCreateRequire(import.meta.url);" },
});
// BB_METAFILE=path: what went into each chunk (for work on start-up time).
if (process.env.BB_METAFILE) (await import('node:fs')).writeFileSync(process.env.BB_METAFILE, JSON.stringify(result.metafile));
