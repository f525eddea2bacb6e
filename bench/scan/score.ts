/**
 * Recall and false positives of our scanner and gitleaks on the generated
 * corpus (bench/scan/corpus.ts), on the same range, per secret kind, per
 * hiding place and per decoy kind. Prints numbers; asserts nothing.
 *
 *   bash bench/scan/get-gitleaks.sh          # once: trixie's gitleaks into /tmp/gitleaks
 *   node --import tsx bench/scan/score.ts [--verbose] [--seed S]
 *
 * A planted secret counts as found when a finding names its commit and path
 * (`<commit-message>`, `<tag:NAME>` for messages); a decoy file or message
 * with any finding is a false positive, and so is any finding elsewhere
 * (filler source files, the secret already in BASE).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scanRange } from '../../src/secrets/index.js';
import { buildCorpus, type Item } from './corpus.js';

export interface Hit {
  commit: string;
  path: string;
  line: number;
  rule: string;
}

export function gitleaksBinary(): string | undefined {
  const candidates = [process.env.GITLEAKS, '/tmp/gitleaks/usr/bin/gitleaks', 'gitleaks'].filter((x): x is string => !!x);
  for (const c of candidates) {
    const r = spawnSync(c, ['version'], { encoding: 'utf8' });
    if (r.status === 0) return c;
  }
  return undefined;
}

/** `gitleaks detect --log-opts RANGE` with a JSON report. */
export function runGitleaks(bin: string, repo: string, range: string): Hit[] {
  const dir = mkdtempSync(join(tmpdir(), 'gl-'));
  const report = join(dir, 'report.json');
  const r = spawnSync(bin, ['detect', '--source', repo, '--log-opts', range, '--report-format', 'json', '--report-path', report, '--no-banner', '--exit-code', '0', '--log-level', 'error'], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  if (r.status !== 0 || !existsSync(report)) throw new Error(`gitleaks failed: ${r.stderr}`);
  const raw = JSON.parse(readFileSync(report, 'utf8')) as { Commit: string; File: string; StartLine: number; RuleID: string }[] | null;
  rmSync(dir, { recursive: true, force: true });
  return (raw ?? []).map((f) => ({ commit: f.Commit, path: f.File, line: f.StartLine, rule: f.RuleID }));
}

interface Score {
  found: Set<string>;
  fp: Set<string>;
  other: Hit[];
}

const key = (commit: string, path: string) => `${commit}\0${path}`;

function score(hits: readonly Hit[], planted: readonly Item[], decoys: readonly Item[]): Score {
  const plantedKeys = new Map(planted.map((i) => [key(i.commit, i.path), i.id]));
  const decoyKeys = new Map(decoys.map((i) => [key(i.commit, i.path), i.id]));
  const s: Score = { found: new Set(), fp: new Set(), other: [] };
  for (const h of hits) {
    const k = key(h.commit, h.path);
    const p = plantedKeys.get(k);
    const d = decoyKeys.get(k);
    if (p) s.found.add(p);
    else if (d) s.fp.add(d);
    else s.other.push(h);
  }
  return s;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}
function lpad(s: string, n: number): string {
  return s.length >= n ? s : ' '.repeat(n - s.length) + s;
}

function table(title: string, head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? pad(c, widths[i] ?? 0) : lpad(c, widths[i] ?? 0))).join('  ');
  return [`\n${title}`, line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n') + '\n';
}

function group(items: readonly Item[], by: (i: Item) => string): Map<string, Item[]> {
  const m = new Map<string, Item[]>();
  for (const i of items) m.set(by(i), [...(m.get(by(i)) ?? []), i]);
  return m;
}

const pct = (a: number, b: number) => (b === 0 ? '-' : `${((100 * a) / b).toFixed(0)}%`);

async function main(): Promise<void> {
  const verbose = process.argv.includes('--verbose');
  const seedAt = process.argv.indexOf('--seed');
  const seed = seedAt > 0 ? (process.argv[seedAt + 1] ?? 'bot-bottle-corpus-1') : 'bot-bottle-corpus-1';
  const work = mkdtempSync(join(tmpdir(), 'bb-corpus-'));
  const repo = join(work, 'repo');
  const m = buildCorpus(repo, seed);
  process.stdout.write(`corpus (seed ${seed}): ${m.planted.length} planted secrets, ${m.decoys.length} decoy files/messages, ${m.filler.length} filler files, range ${m.range}\n`);

  const t0 = performance.now();
  const ours: Hit[] = (await scanRange(repo, m.range)).map((f) => ({ commit: f.commit, path: f.path, line: f.line, rule: f.rule }));
  const tOurs = performance.now() - t0;
  const bin = gitleaksBinary();
  let theirs: Hit[] | undefined;
  let tTheirs = 0;
  if (bin) {
    const t1 = performance.now();
    theirs = runGitleaks(bin, repo, m.range);
    tTheirs = performance.now() - t1;
  } else process.stdout.write('gitleaks not found: run bash bench/scan/get-gitleaks.sh (columns left empty)\n');

  const so = score(ours, m.planted, m.decoys);
  const sg = theirs ? score(theirs, m.planted, m.decoys) : undefined;
  const cols = ['n', 'ours', 'gitleaks'];

  const recallRows = (by: (i: Item) => string) =>
    [...group(m.planted, by)].map(([k, items]) => {
      const a = items.filter((i) => so.found.has(i.id)).length;
      const b = sg ? items.filter((i) => sg.found.has(i.id)).length : NaN;
      return [k, String(items.length), `${a} ${pct(a, items.length)}`, sg ? `${b} ${pct(b, items.length)}` : '-'];
    });
  const total = (s: Score | undefined) => (s ? `${s.found.size} ${pct(s.found.size, m.planted.length)}` : '-');
  process.stdout.write(table('RECALL by secret kind (found / planted)', ['kind', ...cols], [...recallRows((i) => i.kind), ['TOTAL', String(m.planted.length), total(so), total(sg)]]));
  process.stdout.write(table('RECALL by hiding place', ['place', ...cols], [...recallRows((i) => i.place), ['TOTAL', String(m.planted.length), total(so), total(sg)]]));

  const fpRows = [...group(m.decoys, (i) => i.kind)].map(([k, items]) => {
    const a = items.filter((i) => so.fp.has(i.id)).length;
    const b = sg ? items.filter((i) => sg.fp.has(i.id)).length : NaN;
    return [k, String(items.length), String(a), sg ? String(b) : '-'];
  });
  const fpPlace = [...group(m.decoys, (i) => i.place)].map(([k, items]) => {
    const a = items.filter((i) => so.fp.has(i.id)).length;
    const b = sg ? items.filter((i) => sg.fp.has(i.id)).length : NaN;
    return [k, String(items.length), String(a), sg ? String(b) : '-'];
  });
  const otherPaths = (s: Score | undefined) => (s ? String(new Set(s.other.map((h) => key(h.commit, h.path))).size) : '-');
  process.stdout.write(
    table('FALSE POSITIVES by decoy kind (decoy files/messages with any finding)', ['decoy', ...cols], [
      ...fpRows,
      ['filler / BASE secret (files)', String(m.filler.length + 1), otherPaths(so), otherPaths(sg)],
      ['TOTAL decoys', String(m.decoys.length), String(so.fp.size), sg ? String(sg.fp.size) : '-'],
    ]),
  );
  process.stdout.write(table('FALSE POSITIVES by place', ['place', ...cols], fpPlace));
  process.stdout.write(`\nwall time on this corpus: ours ${tOurs.toFixed(0)} ms (in-process), gitleaks ${bin ? tTheirs.toFixed(0) + ' ms' : '-'}\n`);

  if (verbose) {
    const byId = new Map([...m.planted, ...m.decoys].map((i) => [i.id, i]));
    const show = (label: string, ids: Iterable<string>) => {
      for (const id of ids) {
        const i = byId.get(id);
        if (i) process.stdout.write(`${label} ${i.id} ${i.kind} ${i.place} ${i.commit.slice(0, 10)} ${i.path}\n`);
      }
    };
    show('ours MISS', m.planted.filter((i) => !so.found.has(i.id)).map((i) => i.id));
    show('ours FP  ', so.fp);
    for (const h of so.other) process.stdout.write(`ours OTHER ${h.commit.slice(0, 10)} ${h.path}:${h.line} ${h.rule}\n`);
    if (sg) {
      show('gitleaks MISS', m.planted.filter((i) => !sg.found.has(i.id)).map((i) => i.id));
      show('gitleaks FP  ', sg.fp);
      for (const h of sg.other) process.stdout.write(`gitleaks OTHER ${h.commit.slice(0, 10)} ${h.path}:${h.line} ${h.rule}\n`);
    }
  }
  rmSync(work, { recursive: true, force: true });
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
