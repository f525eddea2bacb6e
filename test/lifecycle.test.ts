/** start → exec → stop, SIGKILLed sessions, parallel starts, resume: on the real engine. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { homeId, LABEL_HOME } from '../src/backends/docker/engine.js';
import { agentSh, docker, labelled, startAttached, makeHome, run, startDetached, type TestHome, workerHome } from './helpers.js';

describe('bottle lifecycle', () => {
  let h: TestHome;
  before(() => {
    h = workerHome({ TEST_FORWARDED_SECRET: 's3cr3t-value-for-forwarding' });
  });
  after(async () => h.cleanup());

  it('start → exec → stop leaves no container, network, volume or state', async () => {
    const id = await startDetached(h, 'worker');
    assert.match(id, /^worker-[a-z0-9]{6}$/);
    assert.equal((await labelled('ps', id)).length, 2, 'agent and bundle containers');
    assert.equal((await labelled('network', id)).length, 2, 'internal and egress networks');

    const echoed = await agentSh(h, id, 'cat; echo err >&2; exit 7', 'from stdin\n');
    assert.equal(echoed.code, 7, 'exit code passes through');
    assert.equal(echoed.stdout, 'from stdin\n', 'stdin and stdout pass through');
    assert.equal(echoed.stderr, 'err\n', 'stderr passes through');

    const listed = await run(['list', '--json'], { env: h.env });
    const rows = JSON.parse(listed.stdout) as { identity: string; status: string }[];
    assert.equal(rows.find((r) => r.identity === id)?.status, 'detached');

    const stopped = await run(['stop', id], { env: h.env });
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.deepEqual(await labelled('ps', id), []);
    assert.deepEqual(await labelled('network', id), []);
    assert.deepEqual(await labelled('volume', id), []);
    assert.equal(existsSync(join(h.home, 'state', id)), false, 'state folder removed');
    const again = await run(['stop', id], { env: h.env });
    assert.equal(again.code, 4, 'a bottle already stopped is not found, as with every other command');
    assert.match(again.stderr, /^error: no bottle /m);
  });

  it('a headless session runs the prompt as a script and tears down after', async () => {
    const r = await run(['start', 'worker', '--headless', '--prompt', 'echo "id=$BOT_BOTTLE_IDENTITY"; exit 3'], { env: h.env, cwd: h.cwd });
    assert.equal(r.code, 3, r.stderr);
    const id = /id=(worker-[a-z0-9]+)/.exec(r.stdout)?.[1];
    assert.ok(id, r.stdout);
    assert.deepEqual(await labelled('ps', id), []);
    assert.equal(existsSync(join(h.home, 'state', id)), false);
  });

  it('a session whose CLI is SIGKILLed is removed by cleanup --yes', async () => {
    const { id, child } = await startAttached(h, 'worker', 'echo started; sleep 600');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    assert.equal((await labelled('ps', id)).length, 2, 'the killed session left its containers');
    const listed = JSON.parse((await run(['list', '--json'], { env: h.env })).stdout) as { identity: string; status: string }[];
    assert.equal(listed.find((r) => r.identity === id)?.status, 'orphan');

    const cleaned = await run(['cleanup', '--yes', '--json'], { env: h.env });
    assert.equal(cleaned.code, 0, cleaned.stderr);
    assert.ok((JSON.parse(cleaned.stdout) as { removed: string[] }).removed.includes(id));
    assert.deepEqual(await labelled('ps', id), []);
    assert.deepEqual(await labelled('network', id), []);
    assert.deepEqual(await labelled('volume', id), []);
    assert.equal(existsSync(join(h.home, 'state', id)), false);
  });

  it('five bottles of one agent started at once get five identities and all run', async () => {
    const ids = await Promise.all([1, 2, 3, 4, 5].map(() => startDetached(h, 'worker')));
    try {
      assert.equal(new Set(ids).size, 5);
      const outs = await Promise.all(ids.map((id) => agentSh(h, id, 'echo "$BOT_BOTTLE_IDENTITY"')));
      outs.forEach((o, i) => assert.equal(o.stdout.trim(), ids[i]));
    } finally {
      await Promise.all(ids.map((id) => run(['stop', id], { env: h.env })));
    }
    for (const id of ids) assert.deepEqual(await labelled('ps', id), []);
  });

  it('resume continues a preserved bottle with its workspace', async () => {
    const id = await startDetached(h, 'worker', ['--label', 'keep me', '--color', 'green']);
    assert.equal((await agentSh(h, id, 'echo kept > /workspace/note.txt')).code, 0);
    assert.equal((await run(['stop', id, '--preserve'], { env: h.env })).code, 0);
    assert.deepEqual(await labelled('ps', id), []);
    const listed = JSON.parse((await run(['list', '--json'], { env: h.env })).stdout) as { identity: string; status: string; label: string }[];
    const row = listed.find((r) => r.identity === id);
    assert.equal(row?.status, 'preserved');
    assert.equal(row?.label, 'keep me');

    const resumed = await run(['resume', id, '--detach', '--json'], { env: h.env });
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal((JSON.parse(resumed.stdout) as { identity: string }).identity, id);
    const note = await agentSh(h, id, 'cat /workspace/note.txt');
    assert.equal(note.stdout, 'kept\n');
    assert.equal((await run(['stop', id], { env: h.env })).code, 0);
    assert.deepEqual(await labelled('volume', id), []);
  });

  it('--cwd copies a folder into the workspace, owned by the agent', async () => {
    writeFileSync(join(h.cwd, 'hello.txt'), 'from the host\n');
    mkdirSync(join(h.cwd, 'sub'), { recursive: true });
    writeFileSync(join(h.cwd, 'sub', 'deep.txt'), 'deep\n');
    const id = await startDetached(h, 'worker', ['--cwd', h.cwd]);
    try {
      const r = await agentSh(h, id, 'cat /workspace/hello.txt /workspace/sub/deep.txt; stat -c %u /workspace/hello.txt; echo more >> /workspace/hello.txt');
      assert.equal(r.stdout, 'from the host\ndeep\n1000\n', r.stderr);
    } finally {
      await run(['stop', id], { env: h.env });
    }
    assert.equal(readFileSync(join(h.cwd, 'hello.txt'), 'utf8'), 'from the host\n', 'the host folder is a copy source, never written');
  });

  it('commit snapshots the agent; resume boots from the snapshot', async () => {
    const id = await startDetached(h, 'worker');
    assert.equal((await agentSh(h, id, 'echo installed > /home/agent/tool-marker')).code, 0);
    const committed = await run(['commit', id, '--json'], { env: h.env });
    assert.equal(committed.code, 0, committed.stderr);
    const { image, running } = JSON.parse(committed.stdout) as { image: string; running: boolean };
    assert.equal(running, true, 'a commit does not stop the bottle, and says so');
    try {
      assert.equal((await run(['stop', id, '--preserve'], { env: h.env })).code, 0);
      const resumed = await run(['resume', id, '--detach'], { env: h.env });
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.equal((await agentSh(h, id, 'cat /home/agent/tool-marker')).stdout, 'installed\n');
    } finally {
      await run(['stop', id], { env: h.env });
      await docker(['rmi', image]).catch(() => undefined);
    }
  });

  it('a bottle whose containers stopped without us (engine restart, crash) keeps its workspace: cleanup spares it, resume continues it', async () => {
    const id = await startDetached(h, 'worker');
    assert.equal((await agentSh(h, id, 'echo unsaved-work > /workspace/work.txt')).code, 0);
    // What an engine restart leaves: the containers exist, stopped.
    await docker(['stop', '-t', '1', `bot-bottle-${id}-agent`, `bot-bottle-${id}-bundle`]);
    const listed = JSON.parse((await run(['list', '--json'], { env: h.env })).stdout) as { identity: string; status: string }[];
    assert.equal(listed.find((r) => r.identity === id)?.status, 'stopped');
    const cleaned = JSON.parse((await run(['cleanup', '--yes', '--json'], { env: h.env })).stdout) as { removed: string[] };
    assert.ok(!cleaned.removed.includes(id), 'cleanup never removes a bottle that may hold work');
    assert.equal((await labelled('volume', id)).length, 1);
    const resumed = await run(['resume', id, '--detach'], { env: h.env });
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal((await agentSh(h, id, 'cat /workspace/work.txt')).stdout, 'unsaved-work\n');
    assert.equal((await run(['stop', id], { env: h.env })).code, 0);
  });

  it('an attached session whose agent dies is preserved, not deleted', async () => {
    const { id, child, stdout } = await startAttached(h, 'worker', 'echo work > /workspace/w.txt; echo started; sleep 600');
    for (let i = 0; i < 50 && !stdout().includes('started'); i++) await new Promise((r) => setTimeout(r, 100));
    await docker(['kill', `bot-bottle-${id}-agent`]);
    await new Promise((r) => child.once('exit', r));
    const listed = JSON.parse((await run(['list', '--json'], { env: h.env })).stdout) as { identity: string; status: string }[];
    assert.equal(listed.find((r) => r.identity === id)?.status, 'preserved');
    assert.equal((await labelled('volume', id)).length, 1, 'the workspace is kept');
    assert.equal((await run(['resume', id, '--detach'], { env: h.env })).code, 0);
    assert.equal((await agentSh(h, id, 'cat /workspace/w.txt')).stdout, 'work\n');
    assert.equal((await run(['stop', id], { env: h.env })).code, 0);
  });

  it('a start whose agent image fails to build leaves no network or volume (they are created while the images are checked)', async () => {
    writeFileSync(join(h.home, 'bottles', 'broken.Dockerfile'), 'FROM debian:bookworm-slim\nRUN echo "E: broken on purpose" && exit 3\n');
    h.writeBottle('broken', '---\nagent_provider:\n  template: shell\n  dockerfile: broken.Dockerfile\n---\n');
    h.writeAgent('broken-worker', '---\nbottle: broken\n---\n');
    const inHome = async (kind: 'network' | 'volume') => (await docker([kind, 'ls', '-q', '--filter', `label=${LABEL_HOME}=${homeId(h.home)}`])).split('\n').filter(Boolean);
    const before = { networks: await inHome('network'), volumes: await inHome('volume') };
    const r = await run(['start', 'broken-worker', '--detach'], { env: h.env, cwd: h.cwd });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /E: broken on purpose/);
    assert.deepEqual({ networks: await inHome('network'), volumes: await inHome('volume') }, before);
  });

  it("another home's cleanup and list never see this home's bottles", async () => {
    const id = await startDetached(h, 'worker');
    const other = makeHome();
    try {
      const listed = JSON.parse((await run(['list', '--json'], { env: other.env })).stdout) as { identity: string }[];
      assert.ok(!listed.some((b) => b.identity === id));
      const cleaned = JSON.parse((await run(['cleanup', '--yes', '--json'], { env: other.env })).stdout) as { removed: string[] };
      assert.ok(!cleaned.removed.includes(id));
      assert.equal((await labelled('ps', id)).length, 2, 'still running');
    } finally {
      await other.cleanup();
      await run(['stop', id], { env: h.env });
    }
  });
});
