/**
 * Speed on real history nobody here wrote: ten npm packages the scanner was
 * never tuned on (in neither npm-corpus.ts nor fresh-corpus.ts), each at 21
 * consecutive releases (pinned below), committed release after release under
 * `vendor/<package>/`: 200 commits that modify, add and delete real files, as
 * a dependency upgrade or any ordinary push does (push.ts's commits only add
 * files). `bot-bottle scan` (the package's executable, a fresh process) and
 * gitleaks 8.16 `detect` run on the same range in interleaved rounds (the
 * first discarded); printed: the range's size, each tool's findings (nothing
 * was planted), wall time and CPU time (process and children) medians.
 * Asserts nothing. Fetched at bench time with `npm pack` into
 * `$BB_NPM_HISTORY` or /tmp/bot-bottle-npm-history (never committed).
 *
 *   bash bench/scan/get-gitleaks.sh && npm run build
 *   node --import tsx bench/scan/history.ts [rounds=7] [--baseline OTHER/bin/bot-bottle]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fastImport } from './corpus.js';
import { corpusFiles, fetchPackages } from './npm-corpus.js';
import { median, runRounds, scanTools } from './timing.js';

/** Each package's last 21 releases (no pre-releases) as of 2026-12-03. */
export const RELEASES: Readonly<Record<string, readonly string[]>> = {
  fastify: ['5.8.0', '5.8.1', '5.8.2', '5.8.3', '5.8.4', '5.8.5', '5.9.0', '5.10.0', '5.11.0', '5.11.1', '5.11.2', '5.11.3', '5.12.0', '5.12.1', '5.12.2', '5.12.3', '5.12.4', '5.12.5', '5.12.6', '5.12.7', '5.12.8'],
  koa: ['2.14.2', '2.15.0', '2.15.1', '2.15.2', '2.15.3', '2.15.4', '2.16.0', '2.16.1', '2.16.2', '2.16.3', '2.16.4', '3.0.0', '3.0.1', '3.0.2', '3.0.3', '3.1.0', '3.1.1', '3.1.2', '3.2.0', '3.2.1', '3.3.0'],
  undici: ['8.4.0', '8.4.1', '8.5.0', '8.6.0', '8.7.0', '8.8.0', '8.9.0', '8.10.0', '8.10.1', '8.10.2', '8.11.0', '8.11.1', '8.11.2', '8.12.0', '8.12.1', '8.12.2', '8.12.3', '8.12.4', '8.13.0', '8.13.1', '8.14.0'],
  pino: ['9.8.0', '9.9.0', '9.9.1', '9.9.2', '9.9.3', '9.9.4', '9.9.5', '9.10.0', '9.11.0', '9.12.0', '9.13.0', '9.13.1', '9.14.0', '10.0.0', '10.1.0', '10.1.1', '10.2.0', '10.2.1', '10.3.0', '10.3.1', '10.4.0'],
  winston: ['3.8.0', '3.8.1', '3.8.2', '3.9.0', '3.10.0', '3.11.0', '3.12.0', '3.12.1', '3.13.0', '3.13.1', '3.14.0', '3.14.1', '3.14.2', '3.15.0', '3.16.0', '3.17.0', '3.18.0', '3.18.1', '3.18.2', '3.18.3', '3.19.0'],
  superagent: ['8.0.8', '8.0.9', '8.1.0', '8.1.1', '8.1.2', '9.0.0', '9.0.1', '9.0.2', '10.0.0', '10.0.1', '10.0.2', '10.1.0', '10.1.1', '10.2.0', '10.2.1', '10.2.2', '10.2.3', '10.3.0', '10.4.0', '10.4.1', '10.4.2'],
  'body-parser': ['1.19.0', '1.19.1', '1.19.2', '1.20.0', '1.20.1', '1.20.2', '1.20.3', '1.20.4', '1.20.5', '1.20.6', '1.20.8', '1.20.9', '2.0.0', '2.0.1', '2.0.2', '2.1.0', '2.2.0', '2.2.1', '2.2.2', '2.3.0', '2.4.0'],
  qs: ['6.12.5', '6.12.6', '6.13.0', '6.13.1', '6.13.2', '6.13.3', '6.13.4', '6.14.0', '6.14.1', '6.14.2', '6.14.3', '6.15.0', '6.15.1', '6.15.2', '6.15.3', '6.15.4', '6.16.0', '6.16.1', '6.16.2', '6.17.0', '6.17.1'],
  redis: ['5.6.0', '5.6.1', '5.7.0', '5.8.0', '5.8.1', '5.8.2', '5.8.3', '5.9.0', '5.10.0', '5.11.0', '5.12.0', '5.12.1', '5.12.4', '6.0.0', '6.0.1', '6.1.0', '6.2.0', '6.2.1', '6.3.0', '6.3.1', '6.4.0'],
  mongodb: ['6.14.2', '6.15.0', '6.16.0', '6.17.0', '6.18.0', '6.19.0', '6.20.0', '6.21.0', '6.22.0', '7.0.0', '7.1.0', '7.1.1', '7.2.0', '7.3.0', '7.4.0', '7.5.0', '7.6.0', '7.7.0', '7.8.0', '7.9.0', '7.9.1'],
};

const rounds = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 7);
const at = process.argv.indexOf('--baseline');
const baseline = at > 0 ? process.argv[at + 1] : undefined;
const root = join(import.meta.dirname, '..', '..');
const names = Object.keys(RELEASES);
const steps = RELEASES[names[0] ?? '']?.length ?? 0;

/** Text files of one release, by path inside the package. */
function release(name: string, version: string): Map<string, Buffer> {
  const [dir] = fetchPackages([`${name}@${version}`], process.env.BB_NPM_HISTORY ?? '/tmp/bot-bottle-npm-history', () => undefined);
  const files = new Map<string, Buffer>();
  for (const f of corpusFiles([dir ?? ''])) files.set(f.rel.slice(f.rel.indexOf('/') + 1), readFileSync(f.abs));
  return files;
}

// One `npm pack` for every release not in the cache, then the commits: the first releases together, then
// step by step each package's next release (changed and new files written, missing ones deleted).
fetchPackages(names.flatMap((n) => (RELEASES[n] ?? []).map((v) => `${n}@${v}`)), process.env.BB_NPM_HISTORY ?? '/tmp/bot-bottle-npm-history');
const current = new Map(names.map((n) => [n, new Map<string, Buffer>()]));
const commits: Parameters<typeof fastImport>[1][number][] = [];
let added = 0;
for (let s = 0; s < steps; s++) {
  const base = s === 0;
  const changes: { path: string; data?: Buffer }[] = [];
  for (const n of names) {
    const next = release(n, RELEASES[n]?.[s] ?? '');
    const before = current.get(n) ?? new Map<string, Buffer>();
    const mine: typeof changes = [];
    for (const [p, data] of next) if (!before.get(p)?.equals(data)) mine.push({ path: `vendor/${n}/${p}`, data });
    for (const p of before.keys()) if (!next.has(p)) mine.push({ path: `vendor/${n}/${p}` });
    current.set(n, next);
    if (base) changes.push(...mine);
    else commits.push({ message: `${n} ${RELEASES[n]?.[s]}\n`, changes: mine, items: [] });
  }
  if (base) commits.unshift({ message: 'vendor: first releases\n', changes: changes, items: [] });
}
const work = mkdtempSync(join(tmpdir(), 'bb-history-'));
const repo = join(work, 'repo');
const ids = fastImport(repo, commits);
const range = `${ids[0]}..${ids[ids.length - 1]}`;
const diff = execFileSync('git', ['-C', repo, 'log', '-p', '--cc', '-U0', range], { maxBuffer: 1 << 30 });
for (const line of diff.toString('latin1').split('\n')) if (line.startsWith('+') && !line.startsWith('+++ ')) added += line.length;
process.stdout.write(`history: ${names.length} packages x ${steps - 1} releases = ${ids.length - 1} commits, ${(diff.length / 1e6).toFixed(2)} MB of git log -p, ${(added / 1e6).toFixed(2)} MB added\n\n`);

const tools = scanTools(root, repo, range, work, baseline);
const results = runRounds(tools, rounds);
process.stdout.write(`${'tool'.padEnd(34)}${'findings'.padStart(10)}${'median ms'.padStart(11)}${'min ms'.padStart(8)}${'cpu ms'.padStart(8)}\n`);
tools.forEach(([name], t) => {
  const r = results[t];
  if (!r) return;
  process.stdout.write(`${name.slice(0, 33).padEnd(34)}${String(r.hits.length).padStart(10)}${median(r.times).toFixed(0).padStart(11)}${Math.min(...r.times).toFixed(0).padStart(8)}${median(r.cpus).toFixed(0).padStart(8)}\n`);
});
if (process.env.KEEP) process.stdout.write(`${repo} ${range}\n`);
else rmSync(work, { recursive: true, force: true });
