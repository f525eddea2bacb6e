/**
 * False positives on real code nobody here wrote: every text file of the
 * pinned npm packages (bench/scan/npm-corpus.ts, fetched with `npm pack` at
 * bench time) plus the decoy files (bench/scan/decoys.ts), scanned by our
 * scanner and by gitleaks 8.16 (`detect --no-git`) on the same files. Nothing
 * in them is a planted secret, so every finding counts against the scanner.
 * Prints numbers; asserts nothing.
 *
 *   bash bench/scan/get-gitleaks.sh
 *   node --import tsx bench/scan/realcode.ts [--verbose] [--rules]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { scanBytes } from '../../src/secrets/index.js';
import { decoyFiles } from './decoys.js';
import { corpusDir, corpusFiles, fetchCorpus } from './npm-corpus.js';
import { gitleaksBinary } from './score.js';

interface Finding {
  file: string;
  rule: string;
  line: number;
  secret?: string;
}

function gitleaksDir(bin: string, dir: string): { findings: Finding[]; ms: number } {
  const work = mkdtempSync(join(tmpdir(), 'gl-'));
  const report = join(work, 'r.json');
  const t0 = performance.now();
  const r = spawnSync(bin, ['detect', '--no-git', '--source', dir, '--report-format', 'json', '--report-path', report, '--no-banner', '--exit-code', '0', '--log-level', 'error'], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`gitleaks failed: ${r.stderr}`);
  const raw = JSON.parse(readFileSync(report, 'utf8')) as { File: string; RuleID: string; StartLine: number; Secret: string }[] | null;
  rmSync(work, { recursive: true, force: true });
  return { findings: (raw ?? []).map((f) => ({ file: relative(dir, f.File.startsWith('/') ? f.File : join(dir, f.File)), rule: f.RuleID, line: f.StartLine, secret: f.Secret })), ms };
}

function ours(files: readonly { rel: string; abs: string }[]): { findings: Finding[]; ms: number } {
  const out: Finding[] = [];
  const t0 = performance.now();
  for (const f of files) {
    const buf = readFileSync(f.abs);
    const { text, findings } = scanBytes(buf);
    for (const x of findings) {
      let line = 1;
      for (let i = text.indexOf('\n'); i !== -1 && i < x.start; i = text.indexOf('\n', i + 1)) line++;
      out.push({ file: f.rel, rule: x.rule, line, secret: x.match });
    }
  }
  return { findings: out, ms: performance.now() - t0 };
}

function byRule(fs: readonly Finding[]): string {
  const m = new Map<string, number>();
  for (const f of fs) m.set(f.rule, (m.get(f.rule) ?? 0) + 1);
  return [...m].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k, v]) => `${k} ${v}`).join(', ');
}

function main(): void {
  const verbose = process.argv.includes('--verbose');
  const roots = fetchCorpus();
  const npmFiles = corpusFiles(roots);
  const npmBytes = npmFiles.reduce((a, f) => a + f.size, 0);
  const work = mkdtempSync(join(tmpdir(), 'bb-decoys-'));
  const decoys = decoyFiles();
  const decoyList = decoys.map((d) => {
    const abs = join(work, d.path);
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, d.text);
    return { rel: d.path, abs, lang: d.lang, size: Buffer.byteLength(d.text) };
  });
  const decoyBytes = decoyList.reduce((a, f) => a + f.size, 0);
  const decoyLines = decoys.reduce((a, d) => a + d.text.split('\n').length - 1, 0);
  process.stdout.write(`real code: ${roots.length} npm packages (${corpusDir()}), ${npmFiles.length} text files, ${(npmBytes / 1e6).toFixed(1)} MB\n`);
  process.stdout.write(`decoys: ${decoys.length} files in ${new Set(decoys.map((d) => d.lang)).size} languages/formats, ${decoyLines} lines, ${(decoyBytes / 1e3).toFixed(0)} kB\n`);

  const oN = ours(npmFiles);
  const oD = ours(decoyList);
  const bin = gitleaksBinary();
  const gN = bin ? gitleaksDir(bin, join(corpusDir(), 'pkg')) : undefined;
  const gD = bin ? gitleaksDir(bin, work) : undefined;

  const row = (name: string, o: { findings: Finding[] }, g: { findings: Finding[] } | undefined, mb: number) => {
    const files = (fs: Finding[]) => new Set(fs.map((f) => f.file)).size;
    return `${name.padEnd(22)}${String(o.findings.length).padStart(8)}${String(files(o.findings)).padStart(8)}${(o.findings.length / mb).toFixed(2).padStart(10)}   |${(g ? String(g.findings.length) : '-').padStart(8)}${(g ? String(files(g.findings)) : '-').padStart(8)}${(g ? (g.findings.length / mb).toFixed(2) : '-').padStart(10)}\n`;
  };
  process.stdout.write(`\n${''.padEnd(22)}${'ours'.padStart(26)}   |${'gitleaks 8.16'.padStart(26)}\n`);
  process.stdout.write(`${'corpus'.padEnd(22)}${'findings'.padStart(8)}${'files'.padStart(8)}${'per MB'.padStart(10)}   |${'findings'.padStart(8)}${'files'.padStart(8)}${'per MB'.padStart(10)}\n`);
  process.stdout.write(row('npm packages', oN, gN, npmBytes / 1e6));
  process.stdout.write(row('decoy files', oD, gD, decoyBytes / 1e6));
  for (const lang of [...new Set(decoys.map((d) => d.lang))]) {
    const inLang = (fs: Finding[]) => fs.filter((f) => decoyList.find((d) => d.rel === f.file)?.lang === lang);
    const mb = decoyList.filter((d) => d.lang === lang).reduce((a, d) => a + d.size, 0) / 1e6;
    process.stdout.write(row(`  ${lang}`, { findings: inLang(oD.findings) }, gD ? { findings: inLang(gD.findings) } : undefined, mb));
  }
  process.stdout.write(`\nrules (ours): npm ${byRule(oN.findings) || '-'}; decoys ${byRule(oD.findings) || '-'}\n`);
  if (gN && gD) process.stdout.write(`rules (gitleaks): npm ${byRule(gN.findings) || '-'}; decoys ${byRule(gD.findings) || '-'}\n`);
  process.stdout.write(`time: ours ${(oN.ms + oD.ms).toFixed(0)} ms in-process; gitleaks ${gN && gD ? (gN.ms + gD.ms).toFixed(0) + ' ms (process)' : '-'}\n`);
  if (verbose) {
    const show = (who: string, fs: Finding[]) => {
      for (const f of fs) process.stdout.write(`${who} ${f.rule} ${f.file}:${f.line} ${JSON.stringify((f.secret ?? '').slice(0, 80))}\n`);
    };
    show('ours', [...oN.findings, ...oD.findings]);
    if (process.argv.includes('--gitleaks') && gN && gD) show('gitleaks', [...gN.findings, ...gD.findings]);
  }
  rmSync(work, { recursive: true, force: true });
}

main();
