import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import { Command } from 'commander';
import { registerScan, runScan } from '../cli/commands/scan.js';
import { codeCacheOf } from '../cli/scan-load.js';
import type { CliContext } from '../cli/context.js';
import { colors } from '../cli/output.js';
import { BottleError } from '../errors.js';
import { silentProgress } from '../progress.js';
import { fake, seed } from './fakes.test.js';

seed(99);
let dir = '';
let base = '';
let head = '';

function git(...args: string[]): string {
  return execFileSync('git', ['-C', dir, ...args], {
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t.invalid', GIT_CONFIG_NOSYSTEM: '1', HOME: dir },
  }).trim();
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'bb-scan-cli-'));
  git('init', '-q', '-b', 'main');
  writeFileSync(join(dir, 'a.txt'), 'hello\n');
  git('add', '-A');
  git('commit', '-q', '-m', 'base');
  base = git('rev-parse', 'HEAD');
  writeFileSync(join(dir, 'b.env'), `X=1\nAWS_ACCESS_KEY_ID=${fake.awsId()}\nNPM=${fake.npm()} # gitleaks:allow\n`);
  git('add', '-A');
  git('commit', '-q', '-m', `add\n\n${fake.ghp()}`);
  head = git('rev-parse', 'HEAD');
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const plain = colors(false);

async function run(flags: Parameters<typeof runScan>[0]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await runScan(flags, plain, (s) => (out += s));
  return { code, out };
}

void test('scan --json prints one {"commit","path","line","rule"} object per line, exit 1 on findings', async () => {
  const { code, out } = await run({ repo: dir, range: `${base}..${head}`, json: true });
  assert.equal(code, 1);
  const lines = out.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(lines, [
    { commit: head, path: '<commit-message>', line: 3, rule: 'github-pat' },
    { commit: head, path: 'b.env', line: 2, rule: 'aws-access-key-id' },
    { commit: head, path: 'b.env', line: 3, rule: 'npm-access-token', allowed: true },
  ]);
});

void test('scan without --json prints a readable list; a clean range exits 0', async () => {
  const dirty = await run({ repo: dir, range: `${base}..${head}` });
  assert.equal(dirty.code, 1);
  assert.match(dirty.out, /b\.env:2 {2}aws-access-key-id {2}AKIA\*+/);
  assert.match(dirty.out, /3 findings in 1 commit/);
  const clean = await run({ repo: dir, range: `${base}..${base}` });
  assert.equal(clean.code, 0);
  assert.match(clean.out, /^clean/);
  const all = await run({ repo: dir, all: true, json: true });
  assert.equal(all.code, 1);
});

void test('usage errors: no range, both --range and --all, a range that is not A..B, a bad repo', async () => {
  for (const flags of [{ repo: dir }, { repo: dir, range: 'a..b', all: true }, { repo: dir, range: head }, { repo: join(dir, 'nope'), range: 'a..b' }]) {
    await assert.rejects(run(flags), (e: unknown) => e instanceof BottleError && e.exitCode === 2 && e.fix !== undefined);
  }
});

void test('registerScan wires the command into a commander program', async () => {
  const ctx = (): CliContext => ({ settings: {} as CliContext['settings'], c: plain, e: plain, progress: () => silentProgress });
  const program = new Command('bot-bottle').exitOverride();
  let written = '';
  registerScan(program, ctx, (s) => (written += s));
  const help = program.commands.find((c) => c.name() === 'scan')?.helpInformation() ?? '';
  assert.match(help, /--range <BASE\.\.HEAD>/);
  const before = process.exitCode;
  try {
    await program.parseAsync(['scan', '--repo', dir, '--range', `${base}..${head}`, '--json'], { from: 'user' });
    assert.equal(process.exitCode, 1);
  } finally {
    process.exitCode = before;
  }
  assert.equal(written.trimEnd().split('\n').length, 3);
});

void test('the bot-bottle executable (dist/cli/bin.js): scan through its own entry, every other command through main.js', () => {
  const bin = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'bin.js');
  assert.ok(existsSync(bin), `${bin} is missing: run npm run build first`);
  const env = { ...process.env, NO_COLOR: '1' };
  const scan = spawnSync(process.execPath, [bin, 'scan', '--repo', dir, '--range', `${base}..${head}`, '--json'], { encoding: 'utf8', env });
  assert.equal(scan.status, 1, scan.stderr);
  assert.deepEqual(
    scan.stdout.trimEnd().split('\n').map((l) => (JSON.parse(l) as { rule: string }).rule),
    ['github-pat', 'aws-access-key-id', 'npm-access-token'],
  );
  const usage = spawnSync(process.execPath, [bin, 'scan', '--repo', dir, '--range', head], { encoding: 'utf8', env });
  assert.equal(usage.status, 2);
  assert.equal(usage.stderr, `error: --range "${head}" is not BASE..HEAD\nfix: pass --range BASE..HEAD, e.g. --range ${head}^..${head} for one commit, or --all\n`);
  const spaced = spawnSync(process.execPath, [bin, 'scan', '--repo', dir, '--range', `${base} ..${head}`], { encoding: 'utf8', env });
  assert.equal(spaced.status, 2);
  assert.equal(spaced.stderr, `error: --range "${base} ..${head}" is not BASE..HEAD\nfix: pass --range BASE..HEAD (two revisions, no spaces), e.g. --range origin/main..HEAD, or --all\n`);
  const help = spawnSync(process.execPath, [bin, 'scan', '--help'], { encoding: 'utf8', env });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /Exit codes: 0 no findings/);
  const top = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8', env });
  assert.equal(top.status, 0);
  assert.match(top.stdout, /\bstart\b[\s\S]*\bscan\b/);
});

void test('bin/bot-bottle (package.json bin): starts the program; a scan starts Node without NODE_EXTRA_CA_CERTS, other commands keep it', () => {
  const launcher = join(import.meta.dirname, '..', '..', 'bin', 'bot-bottle');
  // A file that does not exist: Node warns on start-up when it was asked to read it.
  const env = { ...process.env, NO_COLOR: '1', NODE_EXTRA_CA_CERTS: join(dir, 'no-such-ca.pem') };
  const scan = spawnSync(launcher, ['scan', '--repo', dir, '--range', `${base}..${head}`, '--json'], { encoding: 'utf8', env });
  assert.equal(scan.status, 1, scan.stderr);
  assert.equal(scan.stdout.trimEnd().split('\n').length, 3);
  assert.doesNotMatch(scan.stderr, /extra certs/);
  const version = spawnSync(launcher, ['--version'], { encoding: 'utf8', env });
  assert.equal(version.status, 0);
  assert.match(version.stderr, /Ignoring extra certs from .*no-such-ca\.pem/);
});

void test('a scan starts with the code cache the build made for its bundle; one V8 refuses (other flags) changes nothing but speed', () => {
  const cli = join(import.meta.dirname, '..', '..', 'dist', 'cli');
  const bundle = join(cli, 'scan.bundle.cjs');
  assert.ok(existsSync(codeCacheOf(bundle)), `${codeCacheOf(bundle)} is missing: npm run build writes it`);
  const probe = `import { compileScan } from ${JSON.stringify(pathToFileURL(join(cli, 'scan-load.js')).href)}; process.stdout.write(String(compileScan(${JSON.stringify(bundle)}).cacheUsed));`;
  const used = (...flags: string[]) => spawnSync(process.execPath, [...flags, '--input-type=module', '-e', probe], { encoding: 'utf8' }).stdout;
  assert.equal(used(), 'true');
  assert.equal(used('--max-lazy'), 'false');
  const args = [join(cli, 'scan.cjs'), 'scan', '--repo', dir, '--range', `${base}..${head}`, '--json'];
  const env = { ...process.env, NO_COLOR: '1' };
  const cached = spawnSync(process.execPath, args, { encoding: 'utf8', env });
  const compiled = spawnSync(process.execPath, ['--max-lazy', ...args], { encoding: 'utf8', env });
  assert.equal(cached.status, 1, cached.stderr);
  assert.equal(compiled.status, 1, compiled.stderr);
  assert.equal(cached.stdout.trimEnd().split('\n').length, 3);
  assert.equal(compiled.stdout, cached.stdout);
});

void test('a scan where WebAssembly gets no memory (ulimit -v: each module reserves GiBs of address space), or none at all (--jitless), finds the same in JavaScript', () => {
  const args = [join(import.meta.dirname, '..', '..', 'dist', 'cli', 'scan.cjs'), 'scan', '--repo', dir, '--range', `${base}..${head}`, '--json'];
  const env = { ...process.env, NO_COLOR: '1' };
  const plain = spawnSync(process.execPath, args, { encoding: 'utf8', env });
  const quoted = [process.execPath, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const limited = spawnSync('sh', ['-c', `ulimit -v 4000000 && exec ${quoted}`], { encoding: 'utf8', env });
  const jitless = spawnSync(process.execPath, ['--jitless', ...args], { encoding: 'utf8', env });
  assert.equal(plain.status, 1, plain.stderr);
  assert.equal(plain.stdout.trimEnd().split('\n').length, 3);
  for (const r of [limited, jitless]) {
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stdout, plain.stdout);
  }
});

void test('a scan whose reader stops reading (`| head -1`) ends without a stack trace: 141 as SIGPIPE would, 1 when it found secrets', async () => {
  const launcher = join(import.meta.dirname, '..', '..', 'bin', 'bot-bottle');
  const cases = [
    { args: ['scan', '--help'], code: 141 },
    { args: ['scan', '--repo', dir, '--range', `${base}..${head}`, '--json'], code: 1 },
    { args: ['scan', '--repo', dir, '--range', `${base}..${head}`], code: 1 },
  ];
  for (const { args, code } of cases) {
    const child = spawn(launcher, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    // Closed before the scan has started: its first write finds no reader.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(status, code, `${args.join(' ')}: ${stderr}`);
    assert.equal(stderr, '', args.join(' '));
  }
});

void test("bin/bot-bottle starts a plain range scan's git log itself, beside Node (dist/cli/scan-log.sh): the same output as Node's own log", () => {
  const launcher = join(import.meta.dirname, '..', '..', 'bin', 'bot-bottle');
  const scanCjs = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'scan.cjs');
  // A git first on PATH that notes which program started it.
  const bin = mkdtempSync(join(tmpdir(), 'bb-git-parent-'));
  try {
    const real = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    writeFileSync(
      join(bin, 'git'),
      `#!/bin/sh\ncase " $* " in *" log -p "*) cat /proc/$PPID/comm >> '${bin}/parents'; printf '%s\\n' "$*" | sed -n 's/.*--format=%x01\\([^ ]*\\) C .*/\\1/p' >> '${bin}/nonces' ;; esac\nexec '${real}' "$@"\n`,
      { mode: 0o755 },
    );
    const env = { ...process.env, NO_COLOR: '1', PATH: `${bin}:${process.env.PATH ?? ''}` };
    for (const args of [['scan', '--repo', dir, '--range', `${base}..${head}`, '--json'], ['scan', '--range', `${base}..${head}`]]) {
      const viaLauncher = spawnSync(launcher, args, { encoding: 'utf8', env, cwd: dir });
      const own = spawnSync(process.execPath, [scanCjs, ...args], { encoding: 'utf8', env, cwd: dir });
      assert.equal(viaLauncher.status, 1, viaLauncher.stderr);
      assert.equal(viaLauncher.stdout, own.stdout);
      assert.equal(viaLauncher.stderr, own.stderr);
    }
    // The launcher's shell started the log twice (not Node); Node's own runs started theirs.
    const parents = execFileSync('cat', [join(bin, 'parents')], { encoding: 'utf8' }).trim().split('\n');
    assert.deepEqual(parents, ['bot-bottle', 'node', 'bot-bottle', 'node']);
    // Each log's lines are marked with a nonce of its own: 16 random hex digits, from the launcher as from Node.
    const nonces = readFileSync(join(bin, 'nonces'), 'utf8').trim().split('\n');
    assert.equal(nonces.length, 4);
    for (const n of nonces) assert.match(n, /^[0-9a-f]{16}$/);
    assert.equal(new Set(nonces).size, 4);
    // A range git refuses: the same one-line error either way.
    const bad = spawnSync(launcher, ['scan', '--repo', dir, '--range', 'nope..HEAD'], { encoding: 'utf8', env });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /^error: git could not read the range nope\.\.HEAD in .*: bad revision 'nope\.\.HEAD'\nfix: /);
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
});

void test('a scan whose work stops before it finished (its event loop empty) exits as an internal error, never 0', () => {
  const exitJs = pathToFileURL(join(import.meta.dirname, '..', '..', 'dist', 'cli', 'exit.js')).href;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `import { failIfUnsettled } from ${JSON.stringify(exitJs)}; failIfUnsettled(new Promise(() => {}), 'the scan');`], { encoding: 'utf8' });
  assert.equal(r.status, 70);
  assert.equal(r.stderr, 'error: internal error: the scan stopped before it finished (please report it)\n');
});
