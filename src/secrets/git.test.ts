import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BottleError } from '../errors.js';
import { bytes, fake, seed } from './fakes.test.js';
import { adoptPipedLog, gitArgv, logArgs, logMarkers, prestartLog, revArgs } from './git-log.js';
import { redact, scanRange, unquoteGitPath, type GitFinding } from './index.js';

seed(1234);

let dir = '';
const ids: Record<string, string> = {};
const S = {
  inBase: fake.ghp(),
  env: fake.awsId(),
  allowed: fake.npm(),
  message: fake.xoxb(),
  deleted: fake.stripe(),
  binary: fake.sendgrid(),
  tag: fake.anthropic(),
  oldTag: fake.google(),
  branch: fake.glpat(),
  evilMerge: fake.gho(),
  unicode: fake.ghs(),
  noDiff: fake.ghr(),
};

function gitIn(repo: string, ...args: string[]): string {
  return execFileSync('git', ['-C', repo, ...args], {
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t.invalid', GIT_CONFIG_NOSYSTEM: '1', HOME: repo },
  }).trim();
}
function git(...args: string[]): string {
  return gitIn(dir, ...args);
}
/** A repository of its own with one base commit (a README), removed after `body`. */
async function withRepo(prefix: string, body: (repo: string, base: string) => Promise<void>): Promise<void> {
  const repo = mkdtempSync(join(tmpdir(), prefix));
  try {
    gitIn(repo, 'init', '-q', '-b', 'main');
    writeFileSync(join(repo, 'README.md'), '# base\n');
    gitIn(repo, 'add', '-A');
    gitIn(repo, 'commit', '-q', '-m', 'base');
    await body(repo, gitIn(repo, 'rev-parse', 'HEAD'));
  } finally {
    rmSync(repo, { recursive: true, force: true });
  }
}
function write(path: string, data: string | Buffer): void {
  mkdirSync(join(dir, path, '..'), { recursive: true });
  writeFileSync(join(dir, path), data);
}
function commit(name: string, message: string): void {
  git('add', '-A');
  git('commit', '-q', '--allow-empty', '-m', message);
  ids[name] = git('rev-parse', 'HEAD');
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'bb-git-scan-'));
  git('init', '-q', '-b', 'main');
  write('legacy.env', `A=1\nGITHUB_TOKEN=${S.inBase}\n`);
  write('README.md', '# test\n');
  commit('base', 'base');
  git('tag', '-a', 'old', '-m', `old release ${S.oldTag}`);

  write('config/.env', `NODE_ENV=production\nPORT=8080\nAWS_ACCESS_KEY_ID=${S.env}\nNPM_TOKEN=${S.allowed} # bot-bottle:allow\n`);
  commit('env', 'add env');
  commit('message', `Rotate keys\n\nthe new one:\n${S.message}\n`);
  write('scratch/tmp.txt', `notes\nstripe ${S.deleted}\n`);
  commit('added', 'scratch');
  rmSync(join(dir, 'scratch'), { recursive: true });
  commit('deleted', 'remove scratch');
  write('assets/blob.bin', Buffer.concat([Buffer.from([0, 1, 2, 0]), bytes(300), Buffer.from([0]), Buffer.from(`SENDGRID=${S.binary}`), Buffer.from([0]), bytes(300)]));
  commit('binary', 'binary asset');
  git('tag', '-a', 'v1', '-m', `Release v1\n\nused ${S.tag}\n`);
  git('tag', 'light');
  // Nothing new: the BASE secret's file grows, and the secret moves to another file (reported: it is added there).
  write('legacy.env', `A=1\nGITHUB_TOKEN=${S.inBase}\nB=2\n`);
  commit('grow', 'grow legacy');
  // A branch with a secret, merged with an evil line in the merge itself.
  git('checkout', '-q', '-b', 'feature');
  write('feature.txt', `gitlab ${S.branch}\n`);
  commit('feature', 'feature');
  git('checkout', '-q', 'main');
  write('main.txt', 'main side\n');
  commit('mainSide', 'main side');
  git('merge', '-q', '--no-ff', '--no-commit', 'feature');
  write('merge.txt', `oauth ${S.evilMerge}\n`);
  git('add', '-A');
  git('commit', '-q', '-m', 'merge feature');
  ids.merge = git('rev-parse', 'HEAD');
  write('dir with space/café.env', `x=1\nTOKEN=${S.unicode}\n`);
  write('.gitattributes', 'opaque.txt -diff\n');
  write('opaque.txt', `line\nkey ${S.noDiff}\n`);
  commit('paths', 'odd paths');
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const at = (findings: GitFinding[], path: string) => findings.filter((f) => f.path === path);

void test('scanRange reports each secret added in the range once, where it was added', async () => {
  const f = await scanRange(dir, `${ids.base}..main`);
  const summary = f.map((x) => `${Object.entries(ids).find(([, v]) => v === x.commit)?.[0]} ${x.path}:${x.line} ${x.rule}${x.allowed ? ' allowed' : ''}${x.via ? ' ' + x.via : ''}`);
  assert.deepEqual(summary, [
    'env config/.env:3 aws-access-key-id',
    'env config/.env:4 npm-access-token allowed',
    'message <commit-message>:4 slack-bot-token',
    'added scratch/tmp.txt:2 stripe-secret-key',
    'binary <tag:v1>:3 anthropic-api-key',
    'binary assets/blob.bin:0 sendgrid-api-key binary',
    'feature feature.txt:1 gitlab-pat',
    'merge merge.txt:1 github-oauth',
    'paths dir with space/café.env:2 github-app-token',
    'paths opaque.txt:2 github-refresh-token',
  ]);
  // The secret already in BASE is never reported; neither is the tag on BASE.
  assert.equal(at(f, 'legacy.env').length, 0);
  assert.equal(at(f, '<tag:old>').length, 0);
  // Findings carry redactions, never the secret.
  for (const x of f) assert.ok(!Object.values(S).some((s) => x.redacted.includes(s.slice(4, 12))), x.redacted);
});

void test('scanRange takes a list of commit ids (what a push adds)', async () => {
  const f = await scanRange(dir, [ids.message ?? '', ids.binary ?? '']);
  assert.deepEqual(
    f.map((x) => `${x.path} ${x.rule}`),
    ['<commit-message> slack-bot-token', '<tag:v1> anthropic-api-key', 'assets/blob.bin sendgrid-api-key'],
  );
  assert.deepEqual(await scanRange(dir, []), []);
});

void test('a secret moved into a new file in the range is reported there (only added lines are scanned)', async () => {
  write('moved.env', `GITHUB_TOKEN=${S.inBase}\n`);
  commit('moved', 'move');
  const f = await scanRange(dir, `${ids.paths}..main`);
  assert.deepEqual(f.map((x) => `${x.path}:${x.line} ${x.rule}`), ['moved.env:1 github-pat']);
  git('reset', '-q', '--hard', ids.paths ?? 'HEAD');
});

void test('a secret in a changed path is reported for that path, among the commit\'s other paths', async () => {
  const token = fake.ghp();
  write('a/one.txt', 'x\n');
  write(`b/${token}/two.txt`, 'y\n');
  write('c/three.txt', 'z\n');
  write('d/MAKEFILE', 'w\n');
  write('eeeeeeee/four.txt', 'v\n');
  commit('pathSecret', 'paths');
  const f = await scanRange(dir, `${ids.paths}..main`);
  assert.deepEqual(f.map((x) => `${x.path}:${x.line} ${x.rule}`), [`<path:b/${token}/two.txt>:0 github-pat`]);
  assert.ok(!f[0]?.redacted.includes(token.slice(4, 12)));
  git('reset', '-q', '--hard', ids.paths ?? 'HEAD');
});

void test('tags can be named explicitly, and tag scanning can be turned off', async () => {
  const named = await scanRange(dir, `${ids.deleted}..${ids.binary}`, { tags: ['old'], scanTags: true });
  assert.ok(named.some((x) => x.path === '<tag:old>' && x.rule === 'gcp-api-key'));
  const off = await scanRange(dir, `${ids.deleted}..${ids.binary}`, { scanTags: false });
  assert.ok(!off.some((x) => x.path.startsWith('<tag:')));
});

void test('bad ranges and repositories are one-line usage errors with a fix', async () => {
  for (const [repo, range] of [
    [dir, 'nope..main'],
    [join(dir, 'missing'), 'a..b'],
    [tmpdir(), 'a..b'],
    [dir, '--output=/tmp/x'],
  ] as const) {
    await assert.rejects(scanRange(repo, range), (e: unknown) => {
      assert.ok(e instanceof BottleError, String(e));
      assert.equal(e.exitCode, 2);
      assert.ok(e.fix);
      assert.ok(!e.message.includes('\n'));
      return true;
    });
  }
});

void test('git path quoting is undone', () => {
  assert.equal(unquoteGitPath('"dir with space/caf\\303\\251.env"'), 'dir with space/café.env');
  assert.equal(unquoteGitPath('"a\\tb\\"c"'), 'a\tb"c');
  assert.equal(unquoteGitPath('plain/path'), 'plain/path');
});

void test('a zip in a commit is unpacked (its reader loaded at the first zip) and its members scanned', async () => {
  const { zipSync } = await import('fflate');
  const token = fake.ghp();
  await withRepo('bb-git-zip-', async (repo, base) => {
    writeFileSync(join(repo, 'bundle.zip'), zipSync({ 'creds/.env': new TextEncoder().encode(`A=1\nGITHUB_TOKEN=${token}\n`), 'readme.txt': new TextEncoder().encode('nothing here\n') }));
    gitIn(repo, 'add', '-A');
    gitIn(repo, 'commit', '-q', '-m', 'add a zip');
    const found = await scanRange(repo, `${base}..HEAD`, { scanTags: false });
    assert.deepEqual(
      found.map((f) => [f.path, f.line, f.rule, f.via]),
      [['bundle.zip!creds/.env', 2, 'github-pat', 'archive']],
    );
  });
});

void test('added lines before and after non-ASCII text in one stream: same findings and lines as one decoding would give', async () => {
  const [a, b, c] = [fake.ghp(), fake.npm(), fake.xoxb()];
  await withRepo('bb-git-utf8-', async (repo, base) => {
    // ASCII first, then a line with é and 日本, then ASCII again in the same run, and a second file after it.
    writeFileSync(join(repo, 'a.txt'), `x\nTOKEN=${a}\ncafé 日本 ${b}\nSLACK=${c}\n`);
    writeFileSync(join(repo, 'b.txt'), `plain\nTOKEN=${a}\n`);
    gitIn(repo, 'add', '-A');
    gitIn(repo, 'commit', '-q', '-m', 'unicode');
    const found = await scanRange(repo, `${base}..HEAD`, { scanTags: false });
    assert.deepEqual(
      found.map((f) => [f.path, f.line, f.rule]),
      [['a.txt', 2, 'github-pat'], ['a.txt', 3, 'npm-access-token'], ['a.txt', 4, 'slack-bot-token'], ['b.txt', 2, 'github-pat']],
    );
  });
});

void test('text outside ASCII beside secrets: the same findings, lines and redactions as decoded text gives; a known secret outside ASCII is found', async () => {
  const [a, b] = [fake.ghp(), fake.npm()];
  await withRepo('bb-git-bytes-', async (repo, base) => {
    // à is C3 A0 in UTF-8: read as bytes, A0 is a no-break space to a regex; … and 🔑 are three and four bytes.
    writeFileSync(
      join(repo, 'a.txt'),
      `à${a}à\n“token”: “${b}…”\npassword = "pàsswörd-très-long"\n🔑 key=${a} 🔑\nmot de passe : clé-secrète-42!\n`,
    );
    gitIn(repo, 'add', '-A');
    gitIn(repo, 'commit', '-q', '-m', 'accents');
    const found = await scanRange(repo, `${base}..HEAD`, { scanTags: false });
    assert.deepEqual(found.map((f) => [f.path, f.line]), [['a.txt', 1], ['a.txt', 2], ['a.txt', 4]]);
    assert.deepEqual(found.map((f) => f.rule), ['github-pat', 'npm-access-token', 'github-pat']);
    assert.deepEqual(found.map((f) => f.redacted), [redact(a), redact(b), redact(a)]);
    // The bottle's own secret, not ASCII: read decoded, found where it is.
    const known = await scanRange(repo, `${base}..HEAD`, { scanTags: false, knownSecrets: ['clé-secrète-42!'] });
    assert.deepEqual(known.filter((f) => f.rule === 'known-secret').map((f) => f.line), [5]);
  });
});

void test('a secret in a path is reported for every commit that changes the path (the paths are scanned once, after the log)', async () => {
  const [one, two] = [fake.ghp(), fake.ghp()];
  await withRepo('bb-git-paths-', async (repo, base) => {
    const change = (paths: string[], n: number) => {
      for (const p of paths) {
        mkdirSync(join(repo, p, '..'), { recursive: true });
        writeFileSync(join(repo, p), `${n}\n`);
      }
      gitIn(repo, 'add', '-A');
      gitIn(repo, 'commit', '-q', '-m', `c${n}`);
    };
    change([`keys/${one}.txt`, 'src/a.ts'], 1);
    change(['src/a.ts'], 2);
    change([`keys/${one}.txt`, `more/${two}/b.ts`], 3);
    const found = await scanRange(repo, `${base}..HEAD`, { scanTags: false });
    const ids = gitIn(repo, 'rev-list', '--reverse', `${base}..HEAD`).split('\n');
    assert.deepEqual(
      found.map((f) => [ids.indexOf(f.commit), f.path, f.line, f.rule]),
      [[0, `<path:keys/${one}.txt>`, 0, 'github-pat'], [2, `<path:keys/${one}.txt>`, 0, 'github-pat'], [2, `<path:more/${two}/b.ts>`, 0, 'github-pat']],
    );
    assert.deepEqual(await scanRange(repo, `${base}..HEAD`, { scanTags: false, scanMetadata: false }), []);
  });
});

void test('a log started before the scan (the scan command\'s start) is read when it is the one the scan would start, stopped otherwise', async () => {
  const whole = `${ids.base}..main`;
  const part = `${ids.env}..main`;
  const [expectWhole, expectPart] = [await scanRange(dir, whole), await scanRange(dir, part)];
  const same = prestartLog(dir, whole);
  assert.deepEqual(await scanRange(dir, whole), expectWhole);
  assert.equal(same.exitCode, 0);
  assert.ok(same.stdout?.readableEnded, 'the scan read it to its end');
  const other = prestartLog(dir, whole);
  assert.deepEqual(await scanRange(dir, part), expectPart);
  assert.ok(other.killed, 'another range: stopped, and the scan started its own');
  // Tags named by the caller change the log: not taken either.
  const tagsNamed = prestartLog(dir, whole);
  await scanRange(dir, whole, { tags: ['v1'] });
  assert.ok(tagsNamed.killed);
});

void test('a secret in an author or committer name is reported for every commit that carries it', async () => {
  const token = fake.ghp();
  await withRepo('bb-git-ident-', async (repo, base) => {
    // The same leaky author and committer twice (each scanned once, reported per commit), then a leaky committer alone.
    const commit = (n: number, author: string, committer: string) => {
      writeFileSync(join(repo, `f${n}.txt`), `${n}\n`);
      gitIn(repo, 'add', '-A');
      execFileSync('git', ['-C', repo, 'commit', '-q', '-m', `c${n}`], {
        env: { ...process.env, GIT_AUTHOR_NAME: author, GIT_AUTHOR_EMAIL: 'a@t.invalid', GIT_COMMITTER_NAME: committer, GIT_COMMITTER_EMAIL: 'c@t.invalid', GIT_CONFIG_NOSYSTEM: '1', HOME: repo },
      });
    };
    const leaky = `Dev ${token}`;
    commit(1, leaky, leaky);
    commit(2, leaky, leaky);
    commit(3, 'Clean Author', leaky);
    const found = await scanRange(repo, `${base}..HEAD`, { scanTags: false });
    const ids = gitIn(repo, 'rev-list', '--reverse', `${base}..HEAD`).split('\n');
    assert.deepEqual(
      found.map((f) => [ids.indexOf(f.commit), f.path, f.rule]),
      [[0, '<author>', 'github-pat'], [0, '<committer>', 'github-pat'], [1, '<author>', 'github-pat'], [1, '<committer>', 'github-pat'], [2, '<committer>', 'github-pat']],
    );
  });
});

void test('lines longer than a pipe read, multibyte characters across reads: same findings, lines and commits, in WebAssembly or not', async () => {
  const [a, b, c, d] = [fake.ghp(), fake.npm(), fake.xoxb(), fake.stripe()];
  await withRepo('bb-git-chunks-', async (repo, base) => {
    // git's output reaches the scan in reads of at most 64 KiB: a 300 KB line of two-byte characters spans several
    // (some end inside a character), and 4000 short lines make many reads end mid-line.
    const long = 'é'.repeat(150_000);
    const filler = Array.from({ length: 4000 }, (_, i) => `const v${i} = ${i};`);
    filler[1999] = `TOKEN=${b}`;
    writeFileSync(join(repo, 'a.txt'), `${long}\nTOKEN=${a}\n${long}${c}\n${filler.join('\n')}\n`);
    gitIn(repo, 'add', '-A');
    gitIn(repo, 'commit', '-q', '-m', 'long lines');
    filler[1999] = `const v1999 = 1999;`;
    filler[3000] = `stripe = "${d}"`;
    writeFileSync(join(repo, 'b.txt'), `${filler.join('\n')}\n`);
    gitIn(repo, 'add', '-A');
    gitIn(repo, 'commit', '-q', '-m', 'more lines');
    const ids = gitIn(repo, 'rev-list', '--reverse', `${base}..HEAD`).split('\n');
    for (const webAssembly of [true, false]) {
      const found = await scanRange(repo, `${base}..HEAD`, { scanTags: false, webAssembly });
      assert.deepEqual(
        found.map((f) => [ids.indexOf(f.commit), f.path, f.line, f.rule]),
        [[0, 'a.txt', 2, 'github-pat'], [0, 'a.txt', 3, 'slack-bot-token'], [0, 'a.txt', 2003, 'npm-access-token'], [1, 'b.txt', 3001, 'stripe-secret-key']],
        `webAssembly: ${webAssembly}`,
      );
    }
  });
});

void test('a tag on a commit of the range is scanned whatever the repository says of decorations (git log finds the tags)', async () => {
  const [inner, light] = [fake.ghp(), fake.npm()];
  await withRepo('bb-git-tags-', async (repo, base) => {
    // The scan asks git log which commits carry tags: a repository hiding tags from decorations must not hide them from it.
    gitIn(repo, 'config', 'log.excludeDecoration', 'refs/tags/*');
    gitIn(repo, 'config', 'log.decorate', 'no');
    writeFileSync(join(repo, 'a.txt'), 'a\n');
    gitIn(repo, 'add', '-A');
    gitIn(repo, 'commit', '-q', '-m', 'a');
    gitIn(repo, 'tag', '-a', 'rel', '-m', `release\n\nTOKEN=${inner}\n`);
    gitIn(repo, 'tag', 'plain');
    // A tag of a tag: its target is a tag, not a commit of the range (not scanned, as before tags were found by git log).
    gitIn(repo, 'tag', '-a', 'outer', '-m', `NPM=${light}`, 'rel');
    gitIn(repo, 'commit', '-q', '--allow-empty', '-m', 'after');
    const found = await scanRange(repo, `${base}..HEAD`);
    assert.deepEqual(found.map((f) => [f.path, f.line, f.rule]), [['<tag:rel>', 3, 'github-pat']]);
    // A range without the tagged commit: no tag scanned.
    assert.deepEqual(await scanRange(repo, `${gitIn(repo, 'rev-parse', 'HEAD~1')}..HEAD`), []);
  });
});

/**
 * A `git` first on PATH that records each command line in `log` (and runs `onRevList` before a rev-list), then
 * runs the real one: what the scan starts, seen from outside.
 */
async function withGitSpy<T>(onRevList: string, body: (calls: () => string[]) => Promise<T>): Promise<T> {
  const bin = mkdtempSync(join(tmpdir(), 'bb-git-spy-'));
  const real = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  const log = join(bin, 'calls');
  writeFileSync(log, '');
  writeFileSync(join(bin, 'git'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\ncase " $* " in *" rev-list "*) ${onRevList} ;; esac\nexec '${real}' "$@"\n`, { mode: 0o755 });
  const path = process.env.PATH;
  process.env.PATH = `${bin}:${path ?? ''}`;
  try {
    return await body(() => readFileSync(log, 'utf8').split('\n').filter(Boolean));
  } finally {
    process.env.PATH = path;
    rmSync(bin, { recursive: true, force: true });
  }
}

void test('a second git log from the other end of the range scans what one log does', async () => {
  const all = git('rev-list', '--all').split('\n');
  for (const range of [`${ids.base}..main`, '--all', all, [...all].reverse(), [ids.message ?? '', ids.binary ?? '']] as const) {
    const one = await scanRange(dir, range, { secondLog: false });
    const [two, calls] = await withGitSpy('', async (calls) => [await scanRange(dir, range, { secondLog: true }), calls()] as const);
    assert.deepEqual(two, one, JSON.stringify(range));
    assert.ok(one.length > 0);
    // Both logs ran (the second in the opposite order), and for a range, the rev-list that checks they met.
    assert.equal(calls.filter((c) => / log -p /.test(c)).length, 2, calls.join('\n'));
    if (typeof range === 'string') {
      assert.ok(calls.some((c) => / log -p .* --reverse /.test(c)), calls.join('\n'));
      assert.ok(calls.some((c) => / rev-list /.test(c)), calls.join('\n'));
    }
  }
});

void test('a commit neither log reached (the branch moved while they ran) is scanned after them', async () => {
  const [early, late] = [fake.ghp(), fake.stripe()];
  await withRepo('bb-git-moved-', async (repo, base) => {
    for (let i = 0; i < 6; i++) {
      writeFileSync(join(repo, `f${i}.txt`), i === 2 ? `TOKEN=${early}\n` : `${i}\n`);
      gitIn(repo, 'add', '-A');
      gitIn(repo, 'commit', '-q', '-m', `c${i}`);
    }
    const tip = gitIn(repo, 'rev-parse', 'HEAD');
    // A commit on top of the branch that no ref names yet: the spy moves the branch to it just before the rev-list.
    writeFileSync(join(repo, 'late.txt'), `stripe ${late}\n`);
    gitIn(repo, 'add', '-A');
    gitIn(repo, 'commit', '-q', '-m', 'late');
    const moved = gitIn(repo, 'rev-parse', 'HEAD');
    gitIn(repo, 'update-ref', 'refs/heads/main', tip);
    const found = await withGitSpy(`'${execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim()}' -C '${repo}' update-ref refs/heads/main ${moved}`, () =>
      scanRange(repo, `${base}..main`, { secondLog: true }),
    );
    assert.deepEqual(found.map((f) => [f.path, f.rule]), [['f2.txt', 'github-pat'], ['late.txt', 'stripe-secret-key']]);
    assert.equal(found[1]?.commit, moved);
  });
});

/** A log as bin/bot-bottle starts it: git's output, then `\x01NONCE X STATUS`, after `delay` seconds. */
function launcherLog(repo: string, range: string, nonce: string, delay = 0, cut: boolean | 'empty' = false) {
  const args = gitArgv(repo, logArgs(logMarkers(nonce), true, revArgs(range)));
  const script = cut === 'empty' ? ':' : cut ? 'git "$@" | head -c 300' : `sleep ${delay}; git "$@" 2>/dev/null; printf '\\001%s X %s\\n' "$N" "$?"`;
  return spawn('sh', ['-c', script, 'sh', ...args], { env: { ...process.env, N: nonce }, stdio: ['ignore', 'pipe', 'inherit'] });
}

void test("the log bin/bot-bottle starts is read as the scan's own: whole, stopped where a second log meets it, failures reported", async () => {
  const range = `${ids.base}..main`;
  const want = await scanRange(dir, range, { secondLog: false });
  const nonce = '0123456789abcdef';
  // Read alone; read after the event loop has turned (nothing arrived meanwhile is lost); late (the second
  // log takes every commit first, and the launcher's log is stopped).
  for (const [delay, idle, secondLog] of [[0, 0, false], [0, 300, false], [0.5, 0, true]] as const) {
    const child = launcherLog(dir, range, nonce, delay);
    adoptPipedLog(dir, range, nonce, child.stdout);
    await new Promise((resolve) => setTimeout(resolve, idle));
    assert.deepEqual(await scanRange(dir, range, { secondLog }), want, `delay ${delay}, idle ${idle}`);
    child.kill();
  }
  // git failed in the launcher (its stderr went nowhere): run again for its message.
  const bad = launcherLog(dir, 'nope..main', nonce);
  adoptPipedLog(dir, 'nope..main', nonce, bad.stdout);
  await assert.rejects(scanRange(dir, 'nope..main'), /bad revision 'nope\.\.main'/);
  // Nothing at all (a dd without iflag=fullblock): git's own log is read instead.
  const empty = launcherLog(dir, range, nonce, 0, 'empty');
  adoptPipedLog(dir, range, nonce, empty.stdout);
  assert.deepEqual(await scanRange(dir, range), want);
  // Cut short, without the launcher's last line: an error, though git alone would succeed now.
  const cut = launcherLog(dir, range, nonce, 0, true);
  adoptPipedLog(dir, range, nonce, cut.stdout);
  await assert.rejects(scanRange(dir, range), (e: unknown) => e instanceof BottleError);
});
