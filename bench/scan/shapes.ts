/**
 * Speed on the push shapes push.ts and history.ts do not cover, beside
 * gitleaks 8.16, in interleaved rounds (the first discarded): wall and CPU
 * time medians of whole processes from the command line, as a pre-push hook
 * runs them. Real code nobody here wrote, from the pinned npm corpus
 * (npm-corpus.ts, fetched with `npm pack`, never committed); nothing planted.
 *
 * - everyday: 200 commits that each add one line to a source file of a real
 *   package (amqplib), with a message and a body: a log of about 130 KB,
 *   where start-up is most of a scan. Twice: with the objects packed (as a
 *   clone has them) and loose (as fresh local commits are; git's own log then
 *   takes several times longer).
 * - one commit: the last of those.
 * - build output: 21 commits of the corpus's source maps and minified files,
 *   about 14 MB, where the scanner is the slow side.
 *
 *   bash bench/scan/get-gitleaks.sh && npm run build
 *   node --import tsx bench/scan/shapes.ts [rounds=9] [--baseline OTHER/bin/bot-bottle]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fastImport } from './corpus.js';
import { corpusFiles, fetchCorpus, readCorpusFile } from './npm-corpus.js';
import { median, runRounds, scanTools } from './timing.js';

const rounds = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 9);
const at = process.argv.indexOf('--baseline');
const baseline = at > 0 ? process.argv[at + 1] : undefined;
const root = join(import.meta.dirname, '..', '..');
const EVERYDAY_PACKAGE = 'amqplib__';
const BUILD_OUTPUT_BYTES = 14e6;

type Commit = Parameters<typeof fastImport>[1][number];

const roots = fetchCorpus();
const files = corpusFiles(roots).sort((a, b) => a.rel.localeCompare(b.rel));
const work = mkdtempSync(join(tmpdir(), 'bb-shapes-'));

/** The package's text files in one commit, then 200 commits of one added line each (its .js files in turn). */
function everyday(): Commit[] {
  const mine = files.filter((f) => f.rel.startsWith(EVERYDAY_PACKAGE));
  const text = new Map(mine.map((f) => [f.rel.slice(f.rel.indexOf('/') + 1), readCorpusFile(f).toString('latin1')]));
  const js = [...text.keys()].filter((p) => p.endsWith('.js'));
  if (js.length === 0) throw new Error(`shapes: no .js files of ${EVERYDAY_PACKAGE} in the corpus`);
  const commits: Commit[] = [{ message: 'base\n', changes: [...text].map(([path, t]) => ({ path, data: Buffer.from(t, 'latin1') })), items: [] }];
  for (let i = 1; i <= 200; i++) {
    const path = js[i % js.length] ?? '';
    const t = `${text.get(path) ?? ''}// edge case ${i}: keep the channel open while a reply is pending\n`;
    text.set(path, t);
    commits.push({ message: `fix: edge case ${i}\n\nLonger description of change ${i}, explaining why the parser needed it.\n`, changes: [{ path, data: Buffer.from(t, 'latin1') }], items: [] });
  }
  return commits;
}

/** Source maps and minified files of the corpus, about BUILD_OUTPUT_BYTES in all, over 21 commits after a base. */
function buildOutput(): Commit[] {
  // corpusFiles leaves source maps out (they repeat the sources): these are walked here.
  const built = roots
    .flatMap((r) => readdirSync(r, { recursive: true, encoding: 'utf8' }).map((rel) => ({ rel: join(basename(r), rel), abs: join(r, rel) })))
    .filter((f) => /\.(min\.js|js\.map|mjs\.map|css\.map)$/.test(f.rel))
    .sort((a, b) => a.rel.localeCompare(b.rel));
  const picked: { path: string; data: Buffer }[] = [];
  let bytes = 0;
  for (const f of built) {
    if (bytes >= BUILD_OUTPUT_BYTES) break;
    const data = readFileSync(f.abs);
    picked.push({ path: `dist/${f.rel}`, data });
    bytes += data.length;
  }
  const per = Math.ceil(picked.length / 21);
  const commits: Commit[] = [{ message: 'base\n', changes: [{ path: 'README.md', data: Buffer.from('# build\n') }], items: [] }];
  for (let i = 0; i < picked.length; i += per) commits.push({ message: `build ${commits.length}\n`, changes: picked.slice(i, i + per), items: [] });
  return commits;
}

/** The same repository with every object loose: its pack unpacked and removed. */
function loose(from: string, to: string): void {
  execFileSync('git', ['clone', '-q', '--no-local', '--no-checkout', from, to]);
  const packs = join(to, '.git', 'objects', 'pack');
  for (const p of readdirSync(packs).filter((n) => n.endsWith('.pack'))) {
    renameSync(join(packs, p), join(to, '.git', p));
    for (const n of readdirSync(packs)) rmSync(join(packs, n));
    execFileSync('git', ['-C', to, 'unpack-objects', '-q'], { input: execFileSync('cat', [join(to, '.git', p)], { maxBuffer: 1 << 30 }) });
    rmSync(join(to, '.git', p));
  }
}

const everydayIds = fastImport(join(work, 'everyday'), everyday());
loose(join(work, 'everyday'), join(work, 'everyday-loose'));
const buildIds = fastImport(join(work, 'build'), buildOutput());
const first = (ids: string[]) => ids[0] ?? '';
const last = (ids: string[]) => ids[ids.length - 1] ?? '';
const shapes: [name: string, repo: string, range: string][] = [
  ['200 one-line commits, packed', join(work, 'everyday'), `${first(everydayIds)}..${last(everydayIds)}`],
  ['200 one-line commits, loose objects', join(work, 'everyday-loose'), `${first(everydayIds)}..${last(everydayIds)}`],
  ['1 commit', join(work, 'everyday'), `${last(everydayIds)}~1..${last(everydayIds)}`],
  [`${buildIds.length - 1} commits of build output`, join(work, 'build'), `${first(buildIds)}..${last(buildIds)}`],
];

process.stdout.write(`${'shape'.padEnd(48)}${'tool'.padEnd(30)}${'findings'.padStart(9)}${'median ms'.padStart(11)}${'min ms'.padStart(8)}${'cpu ms'.padStart(8)}\n`);
for (const [shape, repo, range] of shapes) {
  const log = execFileSync('git', ['-C', repo, 'log', '-p', '-U0', range], { maxBuffer: 1 << 30 });
  const tools = scanTools(root, repo, range, work, baseline);
  const results = runRounds(tools, rounds);
  tools.forEach(([name], t) => {
    const r = results[t];
    if (!r) return;
    const label = t === 0 ? `${shape} (${(log.length / 1e6).toFixed(2)} MB)` : '';
    process.stdout.write(`${label.padEnd(48)}${name.slice(0, 29).padEnd(30)}${String(r.hits.length).padStart(9)}${median(r.times).toFixed(0).padStart(11)}${Math.min(...r.times).toFixed(0).padStart(8)}${median(r.cpus).toFixed(0).padStart(8)}\n`);
  });
}
if (process.env.KEEP) process.stdout.write(`kept: ${work}\n`);
else rmSync(work, { recursive: true, force: true });
