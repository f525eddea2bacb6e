/**
 * `bot-bottle demo` when it fails: the exit code is the README's, and
 * nothing of the demo stays behind (bottle, networks, volume, git upstream).
 * The failure is a real one: the bottle's sidecar bundle is killed while the
 * demo checks from inside, as a crashed sidecar would be.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { homeId, LABEL_HOME } from '../src/backends/docker/engine.js';
import { docker, labelled, makeHome, CLI, ROOT, run, type TestHome } from './helpers.js';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The exit code the README's table gives for a row that mentions `words`. */
function documentedCode(words: RegExp): number {
  const row = [...README.matchAll(/^\| ([0-9]+) \| (.+) \|$/gm)].find((m) => words.test(m[2] ?? ''));
  assert.ok(row, `the README's exit-code table has a row for ${words}`);
  return Number(row[1]);
}

/** The demo's home: a temporary folder under TMPDIR, there while it runs. */
function demoHome(tmp: string): string | undefined {
  const name = readdirSync(tmp).find((n) => n.startsWith('bot-bottle-demo-'));
  return name === undefined ? undefined : join(tmp, name);
}

/** Git upstream fixtures (the demo's SSH server) labelled with `home`, by id: other runs on this engine never count. */
async function homeFixtures(home: string): Promise<string[]> {
  return (await docker(['ps', '-a', '-q', '--filter', 'label=bot-bottle.kind=fixture', '--filter', `label=${LABEL_HOME}=${homeId(home)}`])).split('\n').filter(Boolean);
}

describe('demo, failing', () => {
  let h: TestHome;
  /** The demo's own temporary folders (its home, the upstream's key) go here, to be counted. */
  let tmp: string;
  before(() => {
    h = makeHome();
    tmp = join(h.cwd, 'tmp');
    mkdirSync(tmp);
    h.env.TMPDIR = tmp;
  });
  after(async () => h.cleanup());

  it('exits with the documented code when an outcome is not as expected, and leaves no bottle behind', async () => {
    const code = documentedCode(/`demo` outcome/);
    const child = spawn(process.execPath, [CLI, 'demo', '--json'], { env: h.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let identity = '';
    let killed: Promise<string> | undefined;
    let home: string | undefined;
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /bottle (demo-[a-z0-9]+) ready/.exec(err);
      if (m?.[1] && !identity) {
        identity = m[1];
        home = demoHome(tmp);
        // The sidecars die as the checks begin: the proxy and the git-gate with them.
        killed = docker(['kill', `bot-bottle-${identity}-bundle`]).catch((e: Error) => e.message);
      }
    });
    const exit = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    assert.ok(identity, `the demo started a bottle: ${err}`);
    assert.ok(home, 'the demo made its home under TMPDIR');
    await killed;

    assert.equal(exit, code, `exit code (stderr: ${err})`);
    const result = JSON.parse(out) as { identity: string; steps: { name: string; ok: boolean }[]; failed: number };
    assert.equal(result.identity, identity);
    assert.ok(result.failed > 0, out);
    assert.ok(result.steps.some((s) => !s.ok && /sidecar bundle|allowlisted HTTPS host|git-gate reaches/.test(s.name)), `a check through the killed sidecars failed: ${out}`);
    assert.doesNotMatch(err, /internal error|\n\s+at .*\.js:\d+/, 'no stack trace');

    for (const kind of ['ps', 'network', 'volume'] as const) assert.deepEqual(await labelled(kind, identity), [], `no ${kind} of ${identity} left`);
    assert.deepEqual(await homeFixtures(home), [], 'the demo git upstream is removed');
    const list = await run(['list', '--json'], { env: h.env });
    assert.deepEqual(JSON.parse(list.stdout), [], 'nothing in the home either');
    assert.deepEqual(readdirSync(tmp), [], 'its temporary home and keys are removed');
  });

  it('removes everything when interrupted (Ctrl-C) while it checks, and exits with the documented code', async () => {
    const code = documentedCode(/interrupted/);
    let home: string | undefined;
    const child = spawn(process.execPath, [CLI, 'demo'], { env: h.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    let identity = '';
    child.stdout.resume();
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /bottle (demo-[a-z0-9]+) ready/.exec(err);
      if (m?.[1] && !identity) {
        identity = m[1];
        home = demoHome(tmp);
        child.kill('SIGINT');
      }
    });
    const exit = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    assert.ok(identity, `the demo started a bottle: ${err}`);
    assert.ok(home, 'the demo made its home under TMPDIR');
    assert.equal(exit, code, err);
    assert.match(err, /SIGINT: removing the demo bottle/);
    for (const kind of ['ps', 'network', 'volume'] as const) assert.deepEqual(await labelled(kind, identity), [], `no ${kind} of ${identity} left`);
    assert.deepEqual(await homeFixtures(home), [], 'the demo git upstream is removed');
    assert.deepEqual(readdirSync(tmp), [], 'its temporary home and keys are removed');
  });

  it('exits with the documented code when the engine is unreachable, having created nothing', async () => {
    const code = documentedCode(/engine is unreachable/);
    const r = await run(['demo'], { env: { ...h.env, DOCKER_HOST: `unix://${join(h.cwd, 'no-engine.sock')}` }, timeoutMs: 120_000 });
    assert.equal(r.code, code, r.stderr);
    assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('error:')).length, 1, r.stderr);
    assert.match(r.stderr, /fix:/);
    assert.deepEqual(readdirSync(tmp), [], 'its temporary home is removed');
  });
});
