/** Failures a user meets: one line, the fix, a meaningful exit code, nothing half-created. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BottleError, readSettings, start } from '../src/index.js';
import { homeId, LABEL_HOME } from '../src/backends/docker/engine.js';
import { docker, run, SHELL_AGENT, type TestHome, workerHome } from './helpers.js';

// Counted in this test's own home: other suites share the engine.
const homeFilter = (home: string) => `label=${LABEL_HOME}=${homeId(home)}`;
const managedCount = async (home: string) => (await docker(['ps', '-a', '-q', '--filter', homeFilter(home)])).split('\n').filter(Boolean).length;
const networkCount = async (home: string) => (await docker(['network', 'ls', '-q', '--filter', homeFilter(home)])).split('\n').filter(Boolean).length;
const stateDirs = (home: string) => (existsSync(join(home, 'state')) ? readdirSync(join(home, 'state')) : []);

function assertOneLineError(stderr: string): void {
  assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
  const lines = stderr.trim().split('\n').filter((l) => l.startsWith('error:'));
  assert.equal(lines.length, 1, stderr);
}

describe('user-facing errors', () => {
  let h: TestHome;
  before(() => {
    h = workerHome();
  });
  after(async () => h.cleanup());

  it('--help works for every command and subcommand the CLI lists', async () => {
    // The list comes from the CLI itself: a command added tomorrow is checked too.
    const checked: string[] = [];
    const visit = async (cmd: string[]): Promise<void> => {
      const r = await run([...cmd, '--help'], { env: h.env });
      assert.equal(r.code, 0, `${cmd.join(' ')} --help: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^Usage: bot-bottle${cmd.map((c) => ` ${c}`).join('')}`, 'm'));
      checked.push(cmd.join(' '));
      const listed = r.stdout.split(/^Commands:$/m)[1] ?? '';
      for (const m of listed.matchAll(/^ {2}([a-z][a-z-]*)/gm)) if (m[1] !== 'help') await visit([...cmd, m[1] ?? '']);
    };
    await visit([]);
    for (const c of ['start', 'exec', 'list', 'stop', 'resume', 'cleanup', 'commit', 'logs', 'scan', 'egress serve', 'supervise', 'proposals', 'approve', 'reject', 'doctor', 'demo']) {
      assert.ok(checked.includes(c), `${c} --help was checked (${checked.join(', ')})`);
    }
  });

  it('--dry-run prints the plan and creates nothing', async () => {
    const before = [await managedCount(h.home), await networkCount(h.home)];
    const r = await run(['start', 'worker', '--dry-run', '--json'], { env: h.env, cwd: h.cwd });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { identity: string; plan: { containers: { agent: string }; networks: { internal: string } } };
    assert.equal(out.plan.containers.agent, `bot-bottle-${out.identity}-agent`);
    assert.deepEqual([await managedCount(h.home), await networkCount(h.home)], before);
    assert.deepEqual(stateDirs(h.home), []);
  });

  it('an unknown manifest key is one line naming file, key and a hint (exit 3)', async () => {
    h.writeBottle('typo', '---\nagent_provider:\n  template: shell\negress:\n  routs: []\n---\n');
    h.writeAgent('typo-agent', SHELL_AGENT('typo'));
    const r = await run(['start', 'typo-agent', '--detach'], { env: h.env });
    assert.equal(r.code, 3);
    assertOneLineError(r.stderr);
    assert.match(r.stderr, /typo\.md/);
    assert.match(r.stderr, /egress\.routs/);
    assert.match(r.stderr, /routes/);
  });

  it('--detach with --prompt is a usage error (exit 2), nothing created', async () => {
    const r = await run(['start', 'worker', '--detach', '--prompt', 'true'], { env: h.env });
    assert.equal(r.code, 2);
    assertOneLineError(r.stderr);
    assert.deepEqual(stateDirs(h.home), []);
  });

  it('a missing agent is exit 4 with the agents that exist', async () => {
    const r = await run(['start', 'nope', '--detach'], { env: h.env });
    assert.equal(r.code, 4);
    assertOneLineError(r.stderr);
  });

  it('an unreachable engine is one line with the fix (exit 5), nothing created', async () => {
    const env = { ...h.env, DOCKER_HOST: 'unix:///tmp/bot-bottle-no-engine.sock' };
    for (const args of [['start', 'worker', '--detach'], ['list'], ['cleanup', '--yes']]) {
      const r = await run(args, { env });
      assert.equal(r.code, 5, `${args.join(' ')}: ${r.stderr}`);
      assertOneLineError(r.stderr);
      assert.match(r.stderr, /engine unreachable/);
      assert.match(r.stderr, /fix:/);
    }
    assert.deepEqual(stateDirs(h.home), []);
  });

  it('an image build failure is one line (exit 7) and leaves nothing', async () => {
    const dir = join(h.home, 'bottles', 'broken-image');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'Dockerfile'), 'FROM debian:bookworm-slim\nRUN echo about to fail && exit 3\n');
    h.writeBottle('broken', `---\nagent_provider:\n  template: shell\n  dockerfile: broken-image/Dockerfile\n---\n`);
    h.writeAgent('broken-agent', SHELL_AGENT('broken'));
    const before = [await managedCount(h.home), await networkCount(h.home)];
    const r = await run(['start', 'broken-agent', '--detach'], { env: h.env });
    assert.equal(r.code, 7, r.stderr);
    assertOneLineError(r.stderr);
    assert.deepEqual([await managedCount(h.home), await networkCount(h.home)], before);
    assert.deepEqual(stateDirs(h.home), []);
  });

  it('an orphan holding a bottle name is refused with the exact cleanup command', async () => {
    // Unique per run: other suites share the engine.
    const identity = `worker-orphan-${process.pid.toString(36)}`;
    const net = `bot-bottle-${identity}-internal`;
    await docker(['network', 'create', '--label', `bot-bottle.identity=${identity}`, '--label', 'bot-bottle.managed=true', net]);
    try {
      const settings = readSettings({ ...h.env }, h.cwd, false);
      const spec = { agent: 'worker', bottles: [], backend: 'docker' as const, copyCwd: undefined, label: undefined, color: undefined, identity, headless: true, prompt: undefined };
      await assert.rejects(start(settings, spec, { detach: true }), (e: unknown) => {
        assert.ok(e instanceof BottleError);
        assert.equal(e.kind, 'name-in-use');
        assert.ok(/bot-bottle cleanup --yes/.test(e.fix ?? '') || (e.fix ?? '').includes(`bot-bottle stop ${identity}`), e.fix);
        return true;
      });
      assert.equal((await docker(['network', 'ls', '-q', '--filter', `name=${net}`])).length > 0, true, 'the orphan is reported, not silently removed');
    } finally {
      await docker(['network', 'rm', net]).catch(() => undefined);
    }
  });
});
