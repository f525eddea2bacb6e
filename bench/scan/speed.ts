/**
 * Scan speed on a push-sized range: 200 commits, ~5 MB of added text, against
 * gitleaks on the same range. Medians of N runs (default 5). Prints numbers;
 * asserts nothing.
 *
 *   bash bench/scan/get-gitleaks.sh
 *   node --import tsx bench/scan/speed.ts [runs=5]
 *
 * "ours (CLI)" is a fresh `node` process running `bot-bottle scan --json`:
 * `dist/cli/main.js scan` when the built CLI has the command, otherwise the
 * same `registerScan` compiled by tsc into node_modules/.cache and driven by
 * commander exactly as main.ts does. "ours (in-process)" is a warm
 * `scanRange()` call. gitleaks runs `detect --log-opts BASE..HEAD`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scanRange } from '../../src/secrets/index.js';
import { fastImport, fillerSource, KINDS, Rng } from './corpus.js';
import { gitleaksBinary } from './score.js';

const runs = Number(process.argv[2] ?? 5);
const root = join(import.meta.dirname, '..', '..');

function buildRepo(dir: string): { range: string; bytes: number; commits: number } {
  const r = new Rng('bot-bottle-speed-1');
  const commits: Parameters<typeof fastImport>[1][number][] = [];
  commits.push({ message: 'base\n', changes: [{ path: 'README.md', data: Buffer.from('# speed\n') }], items: [] });
  let bytes = 0;
  const sizes = new Map<string, number>();
  const contents = new Map<string, Buffer>();
  for (let i = 0; i < 200; i++) {
    const changes: { path: string; data: Buffer }[] = [];
    const files = r.int(2, 5);
    for (let f = 0; f < files; f++) {
      // Half new files, half growing existing ones (only the added lines are new text).
      const path = r.next() < 0.5 || sizes.size === 0 ? `src/pkg${r.int(0, 40)}/mod${i}_${f}.${r.pick(['js', 'ts', 'py', 'go'])}` : r.pick([...sizes.keys()]);
      const before = sizes.get(path) ?? 0;
      let text = fillerSource(r, r.int(50, 160));
      if (r.next() < 0.15) text += `{"data": "${r.bytes(r.int(200, 3000)).toString('base64')}", "sha256": "${r.chars('0123456789abcdef', 64)}"}\n`;
      if (r.next() < 0.05) {
        const k = r.pick(KINDS).make(r)[0];
        if (k) text += `${k[0]} = "${k[1].replace(/\n/g, '\\n')}"\n`;
      }
      const data = Buffer.concat([contents.get(path) ?? Buffer.alloc(0), Buffer.from(text)]);
      bytes += text.length;
      sizes.set(path, before + text.length);
      contents.set(path, data);
      changes.push({ path, data });
    }
    commits.push({ message: `change ${i}\n\n${r.pick(['fix', 'feat', 'refactor', 'docs'])}: ${r.chars('abcdefghijklmnopqrstuvwxyz ', 60)}\n`, changes, items: [] });
  }
  const ids = fastImport(dir, commits);
  return { range: `${ids[0]}..${ids[ids.length - 1]}`, bytes, commits: commits.length - 1 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

function time(cmd: string, args: string[]): { ms: number; out: string } {
  const t0 = process.hrtime.bigint();
  const p = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 28 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (p.status !== 0 && !(p.status === 1 && p.stderr === '')) throw new Error(`${cmd} ${args.join(' ')}: exit ${p.status}: ${p.stderr}`);
  return { ms, out: p.stdout };
}

/** A command line that runs `bot-bottle scan` in a fresh process: the package's executable when the build made it. */
function ourCli(): { how: string; cmd: string; argv: (repo: string, range: string) => string[] } {
  const launcher = join(root, 'bin', 'bot-bottle');
  if (existsSync(launcher) && existsSync(join(root, 'dist', 'cli', 'bin.js'))) {
    return { how: 'bin/bot-bottle scan', cmd: launcher, argv: (repo, range) => ['scan', '--repo', repo, '--range', range, '--json'] };
  }
  const main = join(root, 'dist', 'cli', 'main.js');
  if (existsSync(main) && /^\s+scan\b/m.test(spawnSync(process.execPath, [main, '--help'], { encoding: 'utf8' }).stdout)) {
    return { how: 'node dist/cli/main.js scan', cmd: process.execPath, argv: (repo, range) => [main, 'scan', '--repo', repo, '--range', range, '--json'] };
  }
  const out = join(root, 'node_modules', '.cache', 'bot-bottle-scan-bench');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', out], { cwd: root, stdio: 'inherit' });
  const script = [
    "import { Command } from 'commander';",
    `import { registerScan } from ${JSON.stringify(join(out, 'cli', 'commands', 'scan.js'))};`,
    `import { cliContext } from ${JSON.stringify(join(out, 'cli', 'context.js'))};`,
    "const p = new Command('bot-bottle'); registerScan(p, cliContext);",
    "await p.parseAsync(process.argv.slice(process.argv.indexOf('scan')), { from: 'user' });",
  ].join('\n');
  return { how: 'node (tsc build of registerScan + commander, as main.ts wires it)', cmd: process.execPath, argv: (repo, range) => ['--input-type=module', '-e', script, '--', 'scan', '--repo', repo, '--range', range, '--json'] };
}

const work = mkdtempSync(join(tmpdir(), 'bb-speed-'));
const repo = join(work, 'repo');
const { range, bytes, commits } = buildRepo(repo);
process.stdout.write(`repo: ${commits} commits, ${(bytes / 1e6).toFixed(2)} MB added text, range ${range}\n`);

const cli = ourCli();
const gl = gitleaksBinary();
const report = join(work, 'gl.json');
const results: Record<string, number[]> = { 'ours (CLI process)': [], 'ours (in-process scanRange)': [], 'gitleaks detect': [], 'git log -p (floor)': [] };
let oursCount = 0;
let glCount = 0;
for (let i = 0; i < runs + 1; i++) {
  const warm = i === 0; // the first round warms caches and is not counted
  const a = time(cli.cmd, cli.argv(repo, range));
  oursCount = a.out.split('\n').filter(Boolean).length;
  const t0 = performance.now();
  await scanRange(repo, range);
  const inproc = performance.now() - t0;
  const g = gl ? time(gl, ['detect', '--source', repo, '--log-opts', range, '--report-format', 'json', '--report-path', report, '--no-banner', '--exit-code', '0', '--log-level', 'error']) : undefined;
  if (g) glCount = (JSON.parse(execFileSync('cat', [report], { encoding: 'utf8' })) as unknown[] | null)?.length ?? 0;
  const floor = time('git', ['-C', repo, 'log', '-p', '--cc', '-U0', '--reverse', range]);
  if (warm) continue;
  results['ours (CLI process)']?.push(a.ms);
  results['ours (in-process scanRange)']?.push(inproc);
  if (g) results['gitleaks detect']?.push(g.ms);
  results['git log -p (floor)']?.push(floor.ms);
}

process.stdout.write(`\nours via: ${cli.how}\ngitleaks: ${gl ?? 'not found (run bash bench/scan/get-gitleaks.sh)'}\n\n`);
process.stdout.write(`${'what'.padEnd(30)}${'median ms'.padStart(10)}${'min'.padStart(8)}${'max'.padStart(8)}  runs  findings\n`);
for (const [k, xs] of Object.entries(results)) {
  if (xs.length === 0) continue;
  const n = k.startsWith('ours') ? String(oursCount) : k.startsWith('gitleaks') ? String(glCount) : '-';
  process.stdout.write(`${k.padEnd(30)}${median(xs).toFixed(0).padStart(10)}${Math.min(...xs).toFixed(0).padStart(8)}${Math.max(...xs).toFixed(0).padStart(8)}  ${String(xs.length).padStart(4)}  ${n}\n`);
}
if (!process.env.KEEP) rmSync(work, { recursive: true, force: true }); else process.stdout.write(work + "\n");
