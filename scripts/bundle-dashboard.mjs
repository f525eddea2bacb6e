// The dashboard's page: type-checked against the DOM (its own tsconfig), then
// bundled with Preact into one small ES module and copied with its HTML and
// CSS into dist/dashboard/static, which the dashboard server serves from the
// installed package. The user runs no build step: `npm ci` / `prepare` does this.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';

const PAGE = 'src/dashboard/page';
const OUT = 'dist/dashboard/static';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', `${PAGE}/tsconfig.json`], { stdio: 'inherit' });

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
await build({
  entryPoints: { app: `${PAGE}/main.tsx` },
  outdir: OUT,
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome111', 'firefox113', 'safari16.4'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'linked',
  logLevel: 'warning',
});
for (const f of ['index.html', 'app.css', 'icon.svg']) copyFileSync(`${PAGE}/${f}`, `${OUT}/${f}`);
