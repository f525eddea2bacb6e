/**
 * A realistic push, in one run: 200 commits, ~5 MB of added text made of real
 * third-party files (the pinned npm packages of npm-corpus.ts: TypeScript,
 * JavaScript, JSON, Markdown), the decoy files of decoys.ts (TS, Python, Go,
 * Kubernetes YAML, Terraform, .env.example, Markdown) and ~90 planted
 * secrets of 30 kinds on lines of TS, Python, Go, YAML and .env files.
 * `bot-bottle scan` (a fresh CLI process) and gitleaks 8.16 run on the same
 * range; printed: recall on the planted secrets, false positives (findings in
 * files with nothing planted, per MB), wall time and CPU time (process and
 * children, medians). Asserts nothing.
 *
 *   bash bench/scan/get-gitleaks.sh && npm run build
 *   node --import tsx bench/scan/push.ts [runs=3] [--baseline OTHER/bin/bot-bottle | OTHER/dist/cli/bin.js] [--interleave] [--verbose]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fastImport, KINDS, Rng } from './corpus.js';
import { decoyFiles } from './decoys.js';
import { corpusFiles, fetchCorpus } from './npm-corpus.js';
import { type Hit, median, runRounds, scanTools, timed } from './timing.js';

const root = join(import.meta.dirname, '..', '..');
const runs = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 3);
const at = process.argv.indexOf('--baseline');
const baseline = at > 0 ? process.argv[at + 1] : undefined;
const verbose = process.argv.includes('--verbose');

function planted(r: Rng, name: string, value: string): { path: string; text: string } {
  const v = value.replace(/\n/g, '\\n');
  const svc = r.pick(['billing', 'search', 'ledger', 'mailer', 'gateway', 'scheduler']);
  switch (r.int(0, 4)) {
    case 0: return { path: `services/${svc}/src/config.${r.int(1, 999)}.ts`, text: `import { z } from 'zod';\n\nexport const ${name.toLowerCase().replace(/_(.)/g, (_, c: string) => c.toUpperCase())} = process.env.${name} ?? "${v}";\nexport const timeoutMs = 5000;\n` };
    case 1: return { path: `services/${svc}/app/settings_${r.int(1, 999)}.py`, text: `import os\n\nDEBUG = False\n${name} = os.environ.get("${name}", "${v}")\nALLOWED_HOSTS = ["*"]\n` };
    case 2: return { path: `services/${svc}/internal/conf${r.int(1, 999)}.go`, text: `package conf\n\nconst (\n\tRegion = "eu-west-1"\n\t${name.toLowerCase().replace(/_(.)/g, (_, c: string) => c.toUpperCase())} = "${v}"\n)\n` };
    case 3: return { path: `deploy/${svc}/values-${r.int(1, 999)}.yaml`, text: `replicaCount: 2\nimage:\n  tag: 1.4.2\nenv:\n  ${name}: "${v}"\n` };
    default: return { path: `services/${svc}/.env.${r.pick(['staging', 'local', 'ci'])}${r.int(1, 999)}`, text: `NODE_ENV=production\n${name}=${v}\nPORT=8080\n` };
  }
}

function build(dir: string): { range: string; planted: Hit[]; bytes: number; files: number; commits: number } {
  const r = new Rng('bot-bottle-push-1');
  const files = corpusFiles(fetchCorpus()).filter((f) => f.size > 200 && f.size < 300_000 && !/\.min\.js$/.test(f.rel));
  r.shuffle(files);
  const decoys = decoyFiles('bot-bottle-push-decoys', 2, 100);
  const commits: Parameters<typeof fastImport>[1][number][] = [{ message: 'base\n', changes: [{ path: 'README.md', data: Buffer.from('# app\n') }], items: [] }];
  const plantedAt: { index: number; path: string }[] = [];
  let bytes = 0;
  let fi = 0;
  let nfiles = 0;
  for (let i = 0; i < 200; i++) {
    const changes: { path: string; data: Buffer }[] = [];
    const target = 5_000_000 / 200;
    let size = 0;
    while (size < target && fi < files.length && bytes + size < 4_900_000) {
      const f = files[fi++];
      if (!f) break;
      const data = readFileSync(f.abs);
      changes.push({ path: `vendor/${f.rel}`, data });
      size += data.length;
    }
    if (i % 7 === 0) {
      const d = decoys[(i / 7) % decoys.length];
      if (d) {
        changes.push({ path: d.path.replace(/(\.[a-z]+)$/, `-${i}$1`), data: Buffer.from(d.text) });
        size += d.text.length;
      }
    }
    if (i % 2 === 0 && plantedAt.length < 90) {
      const k = KINDS[plantedAt.length % KINDS.length];
      const pair = k?.make(r)[0];
      if (pair) {
        const p = planted(r, pair[0], pair[1]);
        changes.push({ path: p.path, data: Buffer.from(p.text) });
        plantedAt.push({ index: i + 1, path: p.path });
        size += p.text.length;
      }
    }
    bytes += size;
    nfiles += changes.length;
    commits.push({ message: `change ${i}\n`, changes, items: [] });
  }
  const ids = fastImport(dir, commits);
  return { range: `${ids[0]}..${ids[ids.length - 1]}`, planted: plantedAt.map((p) => ({ commit: ids[p.index] ?? '', path: p.path })), bytes, files: nfiles, commits: 200 };
}

const work = mkdtempSync(join(tmpdir(), 'bb-push-'));
const repo = join(work, 'repo');
const b = build(repo);
process.stdout.write(`push: ${b.commits} commits, ${b.files} files, ${(b.bytes / 1e6).toFixed(2)} MB added, ${b.planted.length} planted secrets (real code from npm packages, decoys in 7 languages)\n`);
const key = (h: Hit) => `${h.commit}\0${h.path}`;
const plantedKeys = new Set(b.planted.map(key));
const tools = scanTools(root, repo, b.range, work, baseline);
process.stdout.write(`\n${'tool'.padEnd(34)}${'recall'.padStart(12)}${'FP findings'.padStart(13)}${'FP files'.padStart(10)}${'FP/MB'.padStart(8)}${'median ms'.padStart(11)}${'cpu ms'.padStart(8)}\n`);
// --interleave: each round runs every tool once. Default: each tool's runs in a row, as before.
const results = runRounds(tools, runs, process.argv.includes('--interleave'));
tools.forEach(([name], t) => {
  const { times, cpus, hits } = results[t] ?? { times: [], cpus: [], hits: [] };
  const found = new Set(hits.filter((h) => plantedKeys.has(key(h))).map(key));
  const fps = hits.filter((h) => !plantedKeys.has(key(h)));
  const fpFiles = new Set(fps.map(key));
  process.stdout.write(`${name.slice(0, 33).padEnd(34)}${`${found.size}/${b.planted.length}`.padStart(12)}${String(fps.length).padStart(13)}${String(fpFiles.size).padStart(10)}${(fps.length / (b.bytes / 1e6)).toFixed(1).padStart(8)}${median(times).toFixed(0).padStart(11)}${median(cpus).toFixed(0).padStart(8)}\n`);
  if (verbose) for (const h of fps.slice(0, 40)) process.stdout.write(`   FP ${h.commit.slice(0, 8)} ${h.path}\n`);
});
const floor = [0, 1, 2].map(() => timed('git', ['-C', repo, 'log', '-p', '--cc', '-U0', b.range], root, true).ms);
process.stdout.write(`git log -p alone, output to /dev/null (floor): ${median(floor).toFixed(0)} ms\n`);
if (!process.env.KEEP) rmSync(work, { recursive: true, force: true });
else process.stdout.write(`${work}\n`);

