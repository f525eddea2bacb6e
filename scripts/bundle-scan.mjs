// `bot-bottle scan` runs in pre-push hooks and CI on every push: its entry
// (src/cli/scan-main.ts) bundled with the scanner and commander into one
// CommonJS file, dist/cli/scan.bundle.cjs, instead of some thirty modules to
// resolve and compile (about 130 ms of CPU per run on the bench), and
// dist/cli/scan.cjs, which starts it (bin/bot-bottle runs it for `scan`; see
// src/cli/scan-load.ts). Then the bundle's V8 code cache, written by a scan
// of a small repository made here: a build that cannot run git ships none,
// and a scan compiles from the source as before.
import { build } from 'esbuild';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const common = {
  outdir: 'dist/cli',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  outExtension: { '.js': '.cjs' },
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
  // Modules that find files beside themselves (import.meta.url) find them beside the bundle.
  define: { 'import.meta.url': '__bbFileUrl' },
  banner: { js: "const __bbFileUrl = require('node:url').pathToFileURL(__filename).href;" },
};
await build({ ...common, entryPoints: { 'scan.bundle': 'src/cli/scan-main.ts' }, sourcemap: 'linked', legalComments: 'linked' });
await build({ ...common, entryPoints: { scan: 'src/cli/scan-start.ts' } });
// scan-load.ts reads the bundle as latin1: esbuild's default (charset: 'ascii') escapes everything else.
if (/[^\x00-\x7f]/.test(readFileSync('dist/cli/scan.bundle.cjs', 'latin1'))) throw new Error('bundle-scan: dist/cli/scan.bundle.cjs is not ASCII');
for (const old of ['scan.bundle.js', 'scan.bundle.js.map', 'scan.bundle.js.LEGAL.txt']) rmSync(join('dist/cli', old), { force: true });

// The git log of a plain range scan as a shell function, for bin/bot-bottle to start beside Node (see
// PipedLog in src/secrets/git-log.ts): logArgs' arguments, with the repository, range and nonce filled in at
// run time, and a last line with git's status.
{
  const { gitArgv, GIT_ENV, logArgs, logMarkers, revArgs } = await import('../dist/secrets/git-log.js');
  const quote = (a) => `'${a.replace(/'/g, `'\\''`)}'`;
  const word = (a) => quote(a).replace(/@NONCE@/g, `'"$bb_nonce"'`).replace(/@REPO@/g, `'"$bb_repo"'`).replace(/@RANGE@/g, `'"$bb_range"'`);
  const argv = gitArgv('@REPO@', logArgs(logMarkers('@NONCE@'), true, revArgs('@RANGE@')));
  if (argv.some((a) => /[\x00-\x1f]/.test(a))) throw new Error('bundle-scan: a git log argument holds a control character');
  const env = Object.entries(GIT_ENV).map(([k, v]) => `${k}=${quote(v)}`).join(' ');
  writeFileSync(
    'dist/cli/scan-log.sh',
    `# Made by scripts/bundle-scan.mjs from src/secrets/git-log.ts: the log a plain range scan reads,\n` +
      `# for bin/bot-bottle to start beside Node (bb_repo, bb_range, bb_nonce set by the caller).\n` +
      `bb_scan_log() {\n  ${env} git ${argv.map(word).join(' ')} 2>/dev/null\n  printf '\\001%s X %s\\n' "$bb_nonce" "$?"\n}\n`,
  );
}

const cache = 'dist/cli/scan.bundle.cjs.v8cache';
rmSync(cache, { force: true });
const work = mkdtempSync(join(tmpdir(), 'bb-scan-cache-'));
try {
  const git = (...args) =>
    execFileSync('git', ['-C', work, '-c', 'user.name=build', '-c', 'user.email=build@localhost', '-c', 'commit.gpgsign=false', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  git('init', '-q');
  writeFileSync(join(work, 'README.md'), '# cache\n');
  git('add', '.');
  git('commit', '-qm', 'base');
  const base = git('rev-parse', 'HEAD');
  // Real code (the bundle itself) and a config file, so the scan runs the rules, the joins and the decoders.
  writeFileSync(join(work, 'scan.js'), readFileSync('dist/cli/scan.bundle.cjs'));
  writeFileSync(join(work, 'settings.py'), `import os\n\nDEBUG = False\nAPI_KEY = os.environ.get("API_KEY", "${'x'.repeat(4)}-not-a-key")\nBLOB = "${Buffer.from('hello '.repeat(8)).toString('base64')}"\n`);
  git('add', '.');
  git('commit', '-qm', 'change');
  const env = { ...process.env, BOT_BOTTLE_WRITE_SCAN_CACHE: '1' };
  delete env.NODE_OPTIONS;
  const r = spawnSync(process.execPath, ['dist/cli/scan.cjs', 'scan', '--repo', work, '--range', `${base}..HEAD`, '--json'], { env, stdio: 'ignore' });
  if ((r.status !== 0 && r.status !== 1) || !existsSync(cache)) process.stderr.write(`bundle-scan: no code cache for the scan bundle (scan exited ${r.status}); scans compile it at start\n`);
} catch (e) {
  process.stderr.write(`bundle-scan: no code cache for the scan bundle (${e instanceof Error ? e.message.split('\n')[0] : e}); scans compile it at start\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
