/**
 * `--cwd` and `export` on a real repository: credentials stay home, secrets
 * refuse the copy (or ride along with --allow-secrets), ignored files stay
 * home, the workspace is a volume (not an image layer), and a commit made in
 * the bottle comes back as a branch.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { agentSh, CLI, docker, labelled, makeHome, run, startDetached, type TestHome } from './helpers.js';

const GH_TOKEN = `ghp_${'R7nQ2xL9vK4mW8pZ3tY6bH1cJ5dF0gS2aE4u'}`;
const AWS_SECRET = `AWS_SECRET_ACCESS_KEY=${'Zq8kP2mN7vR4tX9wB3cL6yH1jD5fG0sA2eU4iO7p'}`;

const git = (dir: string, ...args: string[]): string =>
  execFileSync('git', ['-C', dir, '-c', 'user.name=Host User', '-c', 'user.email=host@example.com', ...args], { encoding: 'utf8' }).trim();

describe('--cwd workspace and export', () => {
  let h: TestHome;
  let repo: string;

  before(() => {
    h = makeHome();
    h.writeBottle('plain', '---\nagent_provider: {template: shell}\n---\n');
    h.writeAgent('worker', '---\nbottle: plain\ngit-gate:\n  user: {name: Bottle Agent, email: agent@bottle.test}\n---\n');
    repo = mkdtempSync(join(tmpdir(), 'bb-cwd-'));
    git(repo, 'init', '--quiet', '-b', 'main');
    writeFileSync(join(repo, 'README.md'), '# project\n');
    writeFileSync(join(repo, '.gitignore'), 'ignored.txt\nbuild/\n');
    writeFileSync(join(repo, 'ignored.txt'), 'stays home\n');
    mkdirSync(join(repo, 'build'));
    writeFileSync(join(repo, 'build', 'out.bin'), 'stays home too\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '--quiet', '-m', 'initial');
    git(repo, 'remote', 'add', 'origin', `https://x-access-token:${GH_TOKEN}@github.com/acme/project.git`);
    git(repo, 'config', 'http.https://github.com/.extraheader', `AUTHORIZATION: basic ${Buffer.from(`x:${GH_TOKEN}`).toString('base64')}`);
    writeFileSync(join(repo, '.env'), `# local settings\n${AWS_SECRET}\n`);
  });

  after(async () => {
    await h.cleanup();
    rmSync(repo, { recursive: true, force: true });
  });

  it('refuses a tree holding a secret, naming file and line, and creates nothing', async () => {
    const r = await run(['start', 'worker', '--detach', '--cwd', repo], { env: h.env, cwd: h.cwd });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--cwd: .*\/\.env:2: looks like a secret \(aws-secret-access-key/, r.stderr);
    assert.match(r.stderr, /--allow-secrets/);
    assert.ok(!r.stderr.includes('Zq8kP2mN7vR4'), 'the secret is not printed');
    const state = join(h.home, 'state');
    assert.deepEqual(existsSync(state) ? readdirSync(state) : [], [], 'no bottle state was left');
    assert.equal((await run(['list', '--json'], { env: h.env })).stdout.includes('worker-'), false, 'no bottle was created');
  });

  it('an interactive session on a real terminal shows the label as its title', () => {
    // script(1) gives the CLI a pseudo-terminal; the shell reads `exit` from it.
    const out = execFileSync('script', ['-qfec', `${process.execPath} ${CLI} start worker --label 'bug 123'`, '/dev/null'], { env: h.env, cwd: h.cwd, input: 'echo inside-$((6*7))\nexit\n', encoding: 'utf8', timeout: 300_000 });
    assert.ok(out.includes('\x1b]0;bot-bottle: bug 123\x07'), JSON.stringify(out.slice(-500)));
    assert.match(out, /inside-42/);
  });

  describe('with --allow-secrets', () => {
    let id: string;
    before(async () => {
      id = await startDetached(h, 'worker', ['--cwd', repo, '--allow-secrets']);
    });

    it('copies the tree into the workspace volume without the credentials of the checkout', async () => {
      const r = await agentSh(h, id, 'cd /workspace && git remote -v && ls -A && stat -c %u README.md .git/config && git config --get-regexp "extraheader|credential" ; git log --format=%s');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /origin\thttps:\/\/github\.com\/acme\/project\.git \(fetch\)/);
      assert.ok(!r.stdout.includes(GH_TOKEN) && !r.stdout.includes('x-access-token'), r.stdout);
      assert.match(r.stdout, /\.env\n/, '--allow-secrets copies the flagged file');
      assert.ok(!/ignored\.txt|build/.test(r.stdout), '.gitignore keeps ignored files home');
      assert.match(r.stdout, /1000\n1000\n/, 'owned by the agent');
      assert.match(r.stdout, /initial\n$/);
      const grep = await agentSh(h, id, `grep -rl ${GH_TOKEN.slice(0, 12)} /workspace/.git; echo "grep=$?"`);
      assert.match(grep.stdout, /grep=1/, 'no token anywhere in .git');
      // A volume, not an image layer: the agent image has no /workspace content.
      const image = await docker(['inspect', '--format', '{{.Config.Image}}', `bot-bottle-${id}-agent`]);
      assert.ok(!image.includes('cwd-'), image);
      const mounts = await docker(['inspect', '--format', '{{range .Mounts}}{{.Type}}:{{.Destination}} {{end}}', `bot-bottle-${id}-agent`]);
      assert.match(mounts, /volume:\/workspace/);
    });

    it('export brings a commit made in the bottle back as a new branch', async () => {
      const c = await agentSh(h, id, 'cd /workspace && echo "agent work" > agent.txt && git add agent.txt && git commit -qm "work from the bottle" && git log -1 --format="%an <%ae>"');
      assert.equal(c.code, 0, c.stderr);
      assert.equal(c.stdout.trim(), 'Bottle Agent <agent@bottle.test>', 'the git identity comes from git-gate.user');
      const r = await run(['export', id, repo, '--json'], { env: h.env, cwd: h.cwd });
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as { branch: string; commits: number; head: string };
      assert.equal(out.branch, `bot-bottle/${id}`);
      assert.equal(out.commits, 1);
      assert.equal(git(repo, 'log', '-1', '--format=%s', out.branch), 'work from the bottle');
      assert.equal(git(repo, 'show', `${out.branch}:agent.txt`), 'agent work');
      assert.equal(git(repo, 'rev-parse', 'main'), git(repo, 'rev-parse', `${out.branch}~1`), 'the branch starts from the copied commit');
      assert.equal(git(repo, 'branch', '--show-current'), 'main', 'the checkout is untouched');
      const again = await run(['export', id, repo], { env: h.env, cwd: h.cwd });
      assert.equal(again.code, 2, 'an existing branch is never overwritten');
      assert.match(again.stderr, /already has a branch/);
      const fresh = join(h.home, 'fresh-export');
      const r2 = await run(['export', id, fresh, '--branch', 'agent'], { env: h.env, cwd: h.cwd });
      assert.equal(r2.code, 0, r2.stderr);
      assert.equal(git(fresh, 'rev-list', '--count', 'agent'), '2', 'a new folder gets the whole history');
    });

    it('export reads a preserved bottle\'s kept workspace once its agent is gone', async () => {
      const c = await agentSh(h, id, 'cd /workspace && echo "more" >> agent.txt && git commit -qam "after the first export"');
      assert.equal(c.code, 0, c.stderr);
      const stop = await run(['stop', id, '--preserve'], { env: h.env, cwd: h.cwd });
      assert.equal(stop.code, 0, stop.stderr);
      assert.deepEqual(await labelled('ps', id), [], 'no container of the bottle is left');
      const r = await run(['export', id, repo, '--branch', 'preserved', '--json'], { env: h.env, cwd: h.cwd });
      assert.equal(r.code, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as { commits: number }).commits, 2);
      assert.equal(git(repo, 'log', '-1', '--format=%s', 'preserved'), 'after the first export');
      assert.deepEqual(await labelled('ps', id), [], 'nothing of the bottle was started to read it');
      assert.equal(await docker(['ps', '-a', '-q', '--filter', `volume=bot-bottle-${id}-workspace`]), '', 'the reader is gone');
      const resumed = await run(['resume', id, '--detach'], { env: h.env, cwd: h.cwd });
      assert.equal(resumed.code, 0, resumed.stderr);
      const log = await agentSh(h, id, 'cd /workspace && git log -1 --format=%s && cat agent.txt');
      assert.equal(log.stdout, 'after the first export\nagent work\nmore\n', 'the workspace is as the agent left it');
    });
  });
});
