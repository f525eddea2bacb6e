/**
 * Findings on the second real-code corpus (fresh-corpus.ts: npm, PyPI and
 * Debian Go/Ruby packages the scanner was not tuned on), the way a push is
 * scanned: every text file of the packages committed into a git repository
 * (one commit per package), then `bot-bottle scan --json` (the built CLI, a
 * fresh process) and gitleaks 8.16 `detect` on the same range. Nothing was
 * planted: a finding is a false positive unless it is a real (test) secret
 * shipped in a package, which only reading it can tell (`--verbose`).
 * Prints numbers; asserts nothing.
 *
 *   bash bench/scan/get-gitleaks.sh && npm run build
 *   node --import tsx bench/scan/fresh.ts [--held-out | --held-out-2] [--verbose [N]] [--gitleaks] [--no-gitleaks] [--cli OTHER/bin/bot-bottle]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scanBytes } from '../../src/secrets/index.js';
import { lastAtOrBefore } from '../../src/secrets/lines.js';
import { fastImport } from './corpus.js';
import { fetchFresh, freshDir, freshFiles, HELD_OUT, HELD_OUT_2, PACKAGES, pkgDir } from './fresh-corpus.js';
import { gitleaksBinary, runGitleaks, type Hit } from './score.js';

const root = join(import.meta.dirname, '..', '..');
const heldOut2 = process.argv.includes('--held-out-2');
const heldOut = heldOut2 || process.argv.includes('--held-out');
const at = process.argv.indexOf('--verbose');
const verbose = at > 0 ? Number(/^\d+$/.test(process.argv[at + 1] ?? '') ? process.argv[at + 1] : 200) : 0;
const list = heldOut2 ? HELD_OUT_2 : heldOut ? HELD_OUT : PACKAGES;

const roots = fetchFresh(list);
const files = freshFiles(roots);
const bytes = files.reduce((a, f) => a + f.size, 0);
const mb = bytes / 1e6;
const byFrom = (from: string) => list.filter((p) => p.from === from).length;
process.stdout.write(
  `${heldOut2 ? 'second held-out' : heldOut ? 'held-out' : 'fresh'} corpus: ${list.length} packages (npm ${byFrom('npm')}, PyPI ${byFrom('pypi')}, Debian Go/Ruby ${byFrom('deb')}), ${files.length} text files, ${mb.toFixed(1)} MB (${freshDir()})\n`,
);

const work = mkdtempSync(join(tmpdir(), 'bb-fresh-'));
const repo = join(work, 'repo');
const commits = [{ message: 'base\n', changes: [{ path: 'README.md', data: Buffer.from('# corpus\n') }], items: [] }];
for (const p of list) {
  const prefix = `${pkgDir(p)}/`;
  commits.push({ message: `add ${p.name} ${p.version}\n`, changes: files.filter((f) => f.rel.startsWith(prefix)).map((f) => ({ path: f.rel, data: readFileSync(f.abs) })), items: [] });
}
const ids = fastImport(repo, commits);
const range = `${ids[0]}..${ids[ids.length - 1]}`;

function timed<T>(f: () => T): { ms: number; v: T } {
  const t0 = performance.now();
  const v = f();
  return { ms: performance.now() - t0, v };
}

/** bin/bot-bottle: the package's executable, what a pre-push hook runs (`--cli OTHER/bin/bot-bottle`: another checkout's, a baseline). */
function ours(): Hit[] {
  const ci = process.argv.indexOf('--cli');
  const cli = ci > 0 ? (process.argv[ci + 1] ?? '') : join(root, 'bin', 'bot-bottle');
  if (!existsSync(join(cli, '..', '..', 'dist', 'cli', 'bin.js'))) throw new Error(`no dist/cli/bin.js beside ${cli}: npm run build first`);
  const r = spawnSync(cli, ['scan', '--repo', repo, '--range', range, '--json'], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0 && r.status !== 1) throw new Error(`bot-bottle scan: exit ${r.status}: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Hit);
}

const o = timed(ours);
const gl = process.argv.includes('--no-gitleaks') ? undefined : gitleaksBinary();
const g = gl ? timed(() => runGitleaks(gl, repo, range)) : undefined;

const byRule = (hs: readonly Hit[]) => {
  const m = new Map<string, number>();
  for (const h of hs) m.set(h.rule, (m.get(h.rule) ?? 0) + 1);
  return [...m].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, v]) => `${k} ${v}`).join(', ') || '-';
};
const row = (name: string, hs: readonly Hit[], ms: number) =>
  `${name.padEnd(24)}${String(hs.length).padStart(9)}${String(new Set(hs.map((h) => h.path)).size).padStart(7)}${(hs.length / mb).toFixed(2).padStart(8)}${ms.toFixed(0).padStart(9)}   ${byRule(hs)}\n`;
process.stdout.write(`\n${'tool'.padEnd(24)}${'findings'.padStart(9)}${'files'.padStart(7)}${'per MB'.padStart(8)}${'ms'.padStart(9)}   rules\n`);
process.stdout.write(row('bot-bottle scan (push)', o.v, o.ms));
if (g) process.stdout.write(row('gitleaks 8.16 detect', g.v, g.ms));

const lineOf = (h: Hit): string => {
  try {
    const text = readFileSync(join(freshDir(), 'pkg', h.path), 'utf8').split('\n')[h.line - 1] ?? '';
    return JSON.stringify(text.trim().slice(0, 160));
  } catch {
    return '';
  }
};
/** What our scanner matched on the finding's line (the same scan in-process): the value to judge, not only the line. */
const matched = (h: Hit): string => {
  try {
    const { text, findings } = scanBytes(readFileSync(join(freshDir(), 'pkg', h.path)));
    const starts = [0];
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
    const lineAt = (off: number) => lastAtOrBefore(starts, off) + 1;
    const f = findings.find((x) => x.rule === h.rule && lineAt(x.start) === h.line);
    return f ? ` => ${JSON.stringify(f.match.slice(0, 80))}` : '';
  } catch {
    return '';
  }
};
if (verbose > 0) {
  for (const h of o.v.slice(0, verbose)) process.stdout.write(`ours ${h.rule} ${h.path}:${h.line}${matched(h)}  ${lineOf(h)}\n`);
  if (process.argv.includes('--gitleaks') && g) for (const h of g.v.slice(0, verbose)) process.stdout.write(`gitleaks ${h.rule} ${h.path}:${h.line} ${lineOf(h)}\n`);
}
rmSync(work, { recursive: true, force: true });
