/**
 * Plugins: the example under examples/gemini (Google's Gemini CLI from npm)
 * copied into ~/.bot-bottle/contrib/, built and run headless in a real
 * bottle against an HTTPS stand-in of the Gemini API; and the manifest's
 * strictness.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PLACEHOLDER } from '../src/providers/common.js';
import { ROOT, run } from './helpers.js';
import { AGENT_BODY, providerBed, randomToken, type ProviderBed } from './provider-kit.js';

describe('provider plugins', () => {
  let bed: ProviderBed;

  before(async () => {
    bed = await providerBed('gemini', 'gemini', randomToken('AIza'));
    cpSync(join(ROOT, 'examples', 'gemini'), join(bed.h.home, 'contrib', 'gemini'), { recursive: true });
  });

  after(async () => {
    await bed.close();
  });

  it('the example plugin builds and runs a headless prompt with the injected key', async () => {
    const { h, standIn, token } = bed;
    const r = await run(['start', 'coder', '--headless', '--prompt', 'run the check', '--output-format', 'json'], { env: h.env, cwd: h.cwd });
    assert.equal(r.code, 0, `${r.stderr}\n${r.stdout}`);
    const out = JSON.parse(r.stdout) as { response?: string };
    assert.match(out.response ?? '', /FINAL: [\s\S]*tool ran as agent in coder-/, r.stdout);
    const calls = standIn.requests.filter((q) => q.path.includes(':streamGenerateContent'));
    assert.ok(calls.length >= 2, 'a tool turn and a final turn');
    for (const q of standIn.requests) {
      assert.equal(q.headers['x-goog-api-key'], token, `${q.method} ${q.path} carries the host's key`);
      assert.ok(!JSON.stringify(q.headers).includes(PLACEHOLDER));
    }
    assert.ok(calls.some((q) => q.body.includes(AGENT_BODY)), "the agent's body reaches the model");
    const tool = standIn.toolOutputs.join('\n');
    assert.match(tool, /bot-bottle egress denied: GET https:\/\/unrouted\.example\//);
    assert.match(tool, /tool-done/);
  });

  it('an unknown manifest key stops the load with file, line and a hint', async () => {
    const { h } = bed;
    const dir = join(h.home, 'contrib', 'broken');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'Dockerfile'), 'FROM debian:bookworm-slim\n');
    writeFileSync(join(dir, 'plugin.md'), '---\ninteractive: [bash]\nheadless:\n  argv: [bash, "{prompt_file}"]\nhots: []\n---\n');
    h.writeBottle('broken', '---\nagent_provider: {template: broken}\n---\n');
    h.writeAgent('brk', '---\nbottle: broken\n---\n');
    const r = await run(['start', 'brk', '--dry-run'], { env: h.env, cwd: h.cwd });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /contrib\/broken\/plugin\.md:5: hots: .*`hosts`/, r.stderr);
  });

  it('a folder with a Dockerfile but no manifest is an error, never a silent shell', async () => {
    const { h } = bed;
    const dir = join(h.home, 'contrib', 'bare');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'Dockerfile'), 'FROM debian:bookworm-slim\n');
    h.writeBottle('bare', '---\nagent_provider: {template: bare}\n---\n');
    h.writeAgent('bar', '---\nbottle: bare\n---\n');
    const r = await run(['start', 'bar', '--dry-run'], { env: h.env, cwd: h.cwd });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /contrib\/bare has a Dockerfile but no plugin\.md/);
  });
});
