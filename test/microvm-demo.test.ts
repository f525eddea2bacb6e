/**
 * `bot-bottle demo --backend microvm` as a user runs it: every outcome of the
 * demo (allowlisted HTTPS, denied host, DLP refusal, git-gate push and
 * refusal, host, DNS, metadata and engine socket blocked) as on Docker, from
 * inside a micro-VM.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { makeHome, run, type TestHome } from './helpers.js';

interface DemoOut {
  identity: string;
  steps: { name: string; expect: string; ok: boolean; detail: string }[];
  passed: number;
  failed: number;
}

let h: TestHome;
before(() => {
  h = makeHome();
});
after(async () => h.cleanup());

void it('demo --backend microvm: every outcome as expected, the bottle removed after', async () => {
  const r = await run(['demo', '--backend', 'microvm', '--json'], { env: h.env, timeoutMs: 1_200_000 });
  const out = JSON.parse(r.stdout || '{}') as Partial<DemoOut>;
  assert.ok(out.steps && out.steps.length >= 12, `the demo ran its steps: ${r.stderr.split('\n').slice(-4).join(' | ')}`);
  assert.deepEqual(out.steps.filter((s) => !s.ok).map((s) => `${s.name}: ${s.detail}`), []);
  assert.equal(r.code, 0);
  for (const what of ['allowlisted HTTPS', 'not allowlisted', 'credential-shaped', 'git-gate', 'cloud metadata', 'external name']) {
    assert.ok(out.steps.some((s) => s.name.includes(what)), `a step about ${what}`);
  }
  assert.match(r.stderr, /a micro-VM with (KVM|software emulation)/, 'the start message names the accelerator');
});
