/**
 * The launch's wait for the sidecar bundle, against real containers on the
 * engine: it ends on the health report or on the container's exit, and a
 * failure names what did not come up. (The deadline is shortened here only so
 * a hung bundle is shown without waiting out the real one.)
 */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Container } from 'dockerode';
import { BottleError } from '../src/errors.js';
import { silentProgress } from '../src/progress.js';
import { BASE_IMAGE, ensureBaseImage } from '../src/backends/docker/base-image.js';
import { connectEngine, type Engine } from '../src/backends/docker/engine.js';
import { BundleWatch } from '../src/backends/docker/readiness.js';

describe('waiting for the sidecar bundle', () => {
  let engine: Engine;
  let dir: string;
  const made: Container[] = [];
  before(async () => {
    engine = await connectEngine();
    await ensureBaseImage(engine, { debianMirror: undefined }, silentProgress);
    dir = await mkdtemp(join(tmpdir(), 'bb-ready-'));
    await chmod(dir, 0o777);
  });
  after(async () => {
    await Promise.all(made.map((c) => c.remove({ force: true }).catch(() => undefined)));
    await rm(dir, { recursive: true, force: true });
  });

  /** A started container running `script` with the test folder at /run/bb. */
  async function bundle(name: string, script: string): Promise<{ c: Container; health: string }> {
    const c = await engine.createContainer({
      Image: BASE_IMAGE,
      Cmd: ['sh', '-c', script],
      Labels: { 'bot-bottle.test': 'readiness' },
      HostConfig: { Binds: [`${dir}:/run/bb`], NetworkMode: 'none' },
    });
    made.push(c);
    await c.start();
    return { c, health: join(dir, `${name}.json`) };
  }

  const health = (ready: boolean, services: Record<string, unknown>) => JSON.stringify({ ready, services }).replace(/'/g, '');

  it('ends when the health report says ready, written after a not-ready one', async () => {
    const notYet = health(false, { egress: { state: 'starting' } });
    const ready = health(true, { egress: { state: 'ready' } });
    const { c, health: file } = await bundle('later', `echo '${notYet}' > /run/bb/later.json.tmp && mv /run/bb/later.json.tmp /run/bb/later.json; sleep 1; echo '${ready}' > /run/bb/later.json.tmp && mv /run/bb/later.json.tmp /run/bb/later.json; sleep 600`);
    const w = new BundleWatch(c, 'later-abc123', 'later-bundle', file, silentProgress);
    try {
      await w.ready();
    } finally {
      w.close();
    }
  });

  it('a bundle that exits fails the wait at once with its exit code, not at the deadline', async () => {
    const { c, health: file } = await bundle('dies', 'sleep 0.5; exit 3');
    const w = new BundleWatch(c, 'dies-abc123', 'dies-bundle', file, silentProgress);
    const t0 = Date.now();
    try {
      await assert.rejects(w.ready(), (e: unknown) => {
        assert.ok(e instanceof BottleError);
        assert.match(e.message, /sidecar bundle of dies-abc123 exited \(code 3\) before every sidecar ready \(no health report yet\)/);
        assert.match(e.fix ?? '', /docker logs dies-bundle/);
        return true;
      });
    } finally {
      w.close();
    }
    assert.ok(Date.now() - t0 < 60_000, 'ended by the exit, not by the deadline');
  });

  it('a bundle that never comes up fails at the deadline naming each sidecar not ready and why', async () => {
    const stuck = health(false, {
      'git-gate': { state: 'ready', restarts: 0, lastExit: null },
      egress: { state: 'backoff', restarts: 4, lastExit: { code: 1, signal: null } },
    });
    const { c, health: file } = await bundle('stuck', `echo '${stuck}' > /run/bb/stuck.json; sleep 600`);
    const w = new BundleWatch(c, 'stuck-abc123', 'stuck-bundle', file, silentProgress, 2000);
    try {
      await assert.rejects(w.ready(), /sidecar bundle of stuck-abc123 not every sidecar ready after 2 s \(egress backoff, 4 restarts, last exit code 1; git-gate ready\)/);
    } finally {
      w.close();
    }
  });

  it('waits for a file a sidecar writes; a closed watch ends the wait', async () => {
    const { c, health: file } = await bundle('ca', 'sleep 0.5; echo PEM > /run/bb/ca.pem.tmp && mv /run/bb/ca.pem.tmp /run/bb/ca.pem; sleep 600');
    const w = new BundleWatch(c, 'ca-abc123', 'ca-bundle', file, silentProgress);
    try {
      assert.equal((await w.file(join(dir, 'ca.pem'), 'the CA written')).toString(), 'PEM\n');
      const never = w.file(join(dir, 'never.pem'), 'never written');
      w.close();
      await assert.rejects(never, /launch ended before never written/);
    } finally {
      w.close();
    }
  });

});
