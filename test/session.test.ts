/** Attached sessions as a user has them: on a real pseudo-terminal, typed into, against the real engine. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { agentSh, docker, labelled, makeHome, run, SHELL_AGENT, SHELL_BOTTLE, startDetached, type TestHome } from './helpers.js';
import { ptyCli } from './pty.js';

const PROMPT_BOTTLE = `---
agent_provider:
  template: shell
env:
  KEY: "?Key please"
---
The README's dev bottle, in short: one secret typed at launch.
`;

const SHELL_PROMPT = /agent@[a-z0-9-]+:\/workspace\$ $/m;

describe('attached sessions on a terminal', () => {
  let h: TestHome;
  before(() => {
    h = makeHome();
    h.writeBottle('dev', PROMPT_BOTTLE);
    h.writeAgent('hacker', SHELL_AGENT('dev'));
    h.writeBottle('plain', SHELL_BOTTLE);
    h.writeAgent('worker', SHELL_AGENT('plain'));
  });
  after(async () => h.cleanup());

  it('after a typed secret the shell takes input: `echo OK; exit 3` shows OK and exits 3', async (t) => {
    const s = ptyCli(['start', 'hacker'], { env: h.env, cwd: h.cwd });
    t.after(() => s.child.kill('SIGKILL'));
    await s.waitFor(/Key please: $/m, 60_000);
    s.type('typed-s3cret\r');
    const id = (await s.waitFor(/ready: (hacker-[a-z0-9]+)/))[1] ?? '';
    await s.waitFor(SHELL_PROMPT);
    // The output differs from the typed line, so the terminal's echo cannot pass for it.
    s.type('echo "O""K:${#KEY}"; exit 3\r');
    await s.waitFor(/^OK:12$/m, 60_000); // the shell ran the line and saw the typed secret
    assert.equal(await s.exited, 3, s.output());
    assert.doesNotMatch(s.output(), /typed-s3cret/, 'the secret is never echoed');
    assert.deepEqual(await labelled('ps', id), [], 'the session ended: containers removed');
    assert.equal(existsSync(join(h.home, 'state', id)), false);
  });

  it('a closed terminal (hang-up) keeps the bottle preserved with its workspace', async (t) => {
    const s = ptyCli(['start', 'hacker'], { env: h.env, cwd: h.cwd });
    t.after(() => s.child.kill('SIGKILL'));
    await s.waitFor(/Key please: $/m, 60_000);
    s.type('x\r');
    const id = (await s.waitFor(/ready: (hacker-[a-z0-9]+)/))[1] ?? '';
    await s.waitFor(SHELL_PROMPT);
    // The agent keeps writing: the CLI then sees its writes fail and its input end before the kernel's SIGHUP.
    s.type('echo work > /workspace/w.txt; echo "wr""ote"; while :; do echo tick; sleep 0.005; done\r');
    await s.waitFor(/^wrote\ntick$/m);
    // What closing the window does: the pty's controller goes away and the kernel hangs up the session (SIGHUP).
    s.child.kill('SIGKILL');
    await s.exited;
    for (let i = 0; i < 100 && (await labelled('ps', id)).length > 0; i++) await new Promise((r) => setTimeout(r, 200));
    const listed = JSON.parse((await run(['list', '--json'], { env: h.env })).stdout) as { identity: string; status: string }[];
    assert.equal(listed.find((b) => b.identity === id)?.status, 'preserved');
    assert.equal((await labelled('volume', id)).length, 1, 'the workspace is kept');
    assert.equal((await run(['stop', id], { env: h.env })).code, 0);
  });

  it('Ctrl-C at the secret prompt ends with 130 and starts nothing', async (t) => {
    const s = ptyCli(['start', 'hacker'], { env: h.env, cwd: h.cwd });
    t.after(() => s.child.kill('SIGKILL'));
    await s.waitFor(/Key please: $/m, 60_000);
    s.type('\x03');
    assert.equal(await s.exited, 130, s.output());
    assert.match(s.output(), /interrupted at the prompt; nothing was started/);
    const listed = JSON.parse((await run(['list', '--json'], { env: h.env })).stdout) as { identity: string }[];
    assert.deepEqual(listed.filter((b) => b.identity.startsWith('hacker-')), []);
  });

  it('Ctrl-C while the bottle is being created removes what was made and ends with 130', async (t) => {
    const s = ptyCli(['start', 'worker', '--verbose'], { env: h.env, cwd: h.cwd });
    t.after(() => s.child.kill('SIGKILL'));
    const id = (await s.waitFor(/creating bottle (worker-[a-z0-9]+)/, 120_000))[1] ?? '';
    // In the middle of the launch: the networks exist, the containers are being made.
    await s.waitFor(/networks created/);
    s.type('\x03');
    assert.equal(await s.exited, 130, s.output());
    assert.match(s.output(), new RegExp(`interrupted: ${id} was not started, and nothing of it is left`));
    for (const kind of ['ps', 'network', 'volume'] as const) assert.deepEqual(await labelled(kind, id), [], `no ${kind} left`);
    assert.equal(existsSync(join(h.home, 'state', id)), false, 'no state left');
  });

  it('commit → stop --preserve → resume (attached) → exit keeps the workspace volume, the state and the committed image', async (t) => {
    const id = await startDetached(h, 'worker');
    assert.equal((await agentSh(h, id, 'echo kept > /workspace/note.txt; echo tool > /home/agent/tool')).code, 0);
    const committed = await run(['commit', id, '--json'], { env: h.env });
    assert.equal(committed.code, 0, committed.stderr);
    const image = (JSON.parse(committed.stdout) as { image: string }).image;
    t.after(() => docker(['rmi', '-f', image]).catch(() => undefined));
    assert.equal((await run(['stop', id, '--preserve'], { env: h.env })).code, 0);

    const s = ptyCli(['resume', id.slice(0, -2)], { env: h.env, cwd: h.cwd });
    t.after(() => s.child.kill('SIGKILL'));
    await s.waitFor(/resuming bottle [a-z0-9-]+ with its workspace/);
    const ready = (await s.waitFor(/ready: \S+ \(resumed; leaving the shell keeps it preserved, `bot-bottle stop (\S+)` removes it\)/))[1];
    assert.equal(ready, id, 'resume says how to leave without losing it');
    assert.doesNotMatch(s.output(), /creating bottle/);
    await s.waitFor(SHELL_PROMPT);
    s.type('cat /workspace/note.txt /home/agent/tool | tr a-z A-Z; exit\r');
    await s.waitFor(/^KEPT\nTOOL$/m, 60_000);
    assert.equal(await s.exited, 0, s.output());
    assert.match(s.output(), new RegExp(`${id} is preserved: bot-bottle resume ${id} continues it`));

    assert.equal((await labelled('volume', id)).length, 1, 'the workspace volume is kept');
    assert.ok(existsSync(join(h.home, 'state', id, 'metadata.json')), 'the state is kept');
    assert.notEqual(await docker(['images', '-q', image]), '', 'the committed image is kept');
    const listed = JSON.parse((await run(['list', '--json'], { env: h.env })).stdout) as { identity: string; status: string }[];
    assert.equal(listed.find((b) => b.identity === id)?.status, 'preserved');

    assert.equal((await run(['resume', id, '--detach'], { env: h.env })).code, 0);
    assert.equal((await agentSh(h, id, 'cat /workspace/note.txt /home/agent/tool')).stdout, 'kept\ntool\n');
    assert.equal((await run(['stop', id], { env: h.env })).code, 0, 'only stop removes it');
    assert.deepEqual(await labelled('volume', id), []);
    assert.equal(await docker(['images', '-q', image]), '', 'with its own images');
  });

  it('start --prompt --json: stdout is one JSON document with the exit code; the agent\'s output goes to stderr', async () => {
    const r = await run(['start', 'worker', '--headless', '--prompt', 'echo agent-says-hi; echo agent-complains >&2; exit 3', '--json'], { env: h.env, cwd: h.cwd });
    assert.equal(r.code, 3, r.stderr);
    const doc = JSON.parse(r.stdout) as { identity: string; exit_code: number; preserved: boolean };
    assert.equal(doc.exit_code, 3);
    assert.equal(doc.preserved, false);
    assert.match(doc.identity, /^worker-[a-z0-9]+$/);
    assert.doesNotMatch(r.stdout, /agent-says-hi/);
    assert.match(r.stderr, /agent-says-hi/);
    assert.match(r.stderr, /agent-complains/);
  });
});
