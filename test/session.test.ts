/** Attached sessions as a user has them: on a real pseudo-terminal, typed into, against the real engine. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { labelled, makeHome, run, SHELL_AGENT, type TestHome } from './helpers.js';
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
    s.type('echo work > /workspace/w.txt; echo "wr""ote"\r');
    await s.waitFor(/^wrote$/m);
    // What closing the window does: the pty's controller goes away and the kernel hangs up the session (SIGHUP).
    s.child.kill('SIGKILL');
    await s.exited;
    for (let i = 0; i < 100 && (await labelled('ps', id)).length > 0; i++) await new Promise((r) => setTimeout(r, 200));
    const listed = JSON.parse((await run(['list', '--json'], { env: h.env })).stdout) as { identity: string; status: string }[];
    assert.equal(listed.find((b) => b.identity === id)?.status, 'preserved');
    assert.equal((await labelled('volume', id)).length, 1, 'the workspace is kept');
    assert.equal((await run(['stop', id], { env: h.env })).code, 0);
  });
});
