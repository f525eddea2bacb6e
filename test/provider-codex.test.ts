/**
 * The real `codex` binary (the Codex CLI from npm) in a real bottle, against
 * an HTTPS stand-in of the OpenAI Responses API reached through the bottle's
 * egress proxy.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { agentSh, docker, run, startDetached } from './helpers.js';
import { AGENT_BODY, providerBed, randomToken, SELF_DUMP, type ProviderBed } from './provider-kit.js';
import { PLACEHOLDER } from '../src/providers/common.js';

describe('codex template in a bottle', () => {
  let bed: ProviderBed;

  before(async () => {
    bed = await providerBed('openai', 'codex', randomToken('sk-proj-'));
  });

  after(async () => {
    await bed.close();
  });

  it('runs a headless prompt: the host token reaches the API, the tool call runs in the bottle, refusals come back as its output', async () => {
    const { h, standIn, token } = bed;
    const r = await run(['start', 'coder', '--headless', '--prompt', 'run the check'], { env: h.env, cwd: h.cwd });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /FINAL: [\s\S]*tool ran as agent in coder-[a-z0-9]+\n/, 'start --headless printed the final message built from the tool output');

    const responses = standIn.requests.filter((q) => q.path === '/v1/responses');
    assert.ok(responses.length >= 2, 'a tool turn and a final turn');
    for (const q of standIn.requests) {
      assert.equal(q.headers.authorization, `Bearer ${token}`, `${q.method} ${q.path} carries the host's key`);
      assert.ok(!JSON.stringify(q.headers).includes(PLACEHOLDER) && !q.body.includes(token));
    }
    assert.ok(responses.some((q) => q.body.includes(AGENT_BODY)), "the agent file's body reaches the model as instructions");

    const tool = standIn.toolOutputs.join('\n');
    assert.match(tool, /tool ran as agent in coder-/);
    assert.match(tool, /SKILL\.md/, 'the skill was copied where the client reads it');
    assert.match(tool, /bot-bottle egress denied: GET https:\/\/unrouted\.example\/\nreason: no-route/);
    assert.match(tool, /CONNECT tunnel failed, response 403/, 'a CONNECT-time refusal comes back as the tool output');
    assert.match(tool, /tool-done/);
  });

  it('passes --output-format json through as JSON lines', async () => {
    const { h, standIn } = bed;
    standIn.setScript({ command: 'echo json-run', finalPrefix: 'FINAL: ' });
    const r = await run(['start', 'coder', '--headless', '--prompt', 'again', '--output-format', 'json'], { env: h.env, cwd: h.cwd });
    assert.equal(r.code, 0, r.stderr);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type?: string });
    assert.ok(events.some((e) => e.type === 'turn.completed'), r.stdout);
  });

  describe('a detached codex bottle', () => {
    let id: string;
    before(async () => {
      id = await startDetached(bed.h, 'coder');
    });

    it('holds only a placeholder: no token in env, home, config files or docker inspect', async () => {
      const dump = await agentSh(bed.h, id, SELF_DUMP);
      assert.ok(dump.stdout.includes(`CODEX_API_KEY=${PLACEHOLDER}`), 'the client gets a placeholder');
      assert.ok(dump.stdout.includes('.codex/config.toml'), 'the dump covered the home');
      assert.ok(!dump.stdout.includes(bed.token), 'the token is nowhere in the agent');
      assert.ok(!(await docker(['inspect', `bot-bottle-${id}-agent`])).includes(bed.token));
      const user = await agentSh(bed.h, id, 'id -u; codex --version');
      assert.match(user.stdout, /^1000\ncodex-cli \d+\.\d+\.\d+/);
    });

    it('the real client lists supervise and calls its MCP tool', async () => {
      const list = await agentSh(bed.h, id, 'codex mcp list 2>&1');
      assert.match(list.stdout, /supervise\s.*http:\/\/bundle:8765\/mcp/, list.stdout);
      bed.standIn.setScript({ command: '', finalPrefix: 'ROUTES: ', toolName: 'mcp__supervise__list-egress-routes' });
      const before = bed.standIn.toolOutputs.length;
      const r = await agentSh(bed.h, id, 'codex exec --skip-git-repo-check --dangerously-bypass-approvals-and-sandbox "which routes do I have?" </dev/null');
      assert.equal(r.code, 0, r.stderr);
      assert.ok(bed.standIn.requests.some((q) => q.body.includes('mcp__supervise__')), 'the client lists the supervise tools to the model');
      assert.match(bed.standIn.toolOutputs.slice(before).join('\n'), /api\.openai\.com/, 'the MCP tool answered with the routes');
    });
  });
});
