/**
 * The real `claude` binary (Claude Code from npm) in a real bottle, against
 * an HTTPS stand-in of the Anthropic Messages API reached through the
 * bottle's egress proxy.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { agentSh, docker, run, startDetached } from './helpers.js';
import { AGENT_BODY, providerBed, randomToken, SELF_DUMP, type ProviderBed } from './provider-kit.js';
import { PLACEHOLDER } from '../src/providers/common.js';

describe('claude template in a bottle', () => {
  let bed: ProviderBed;

  before(async () => {
    bed = await providerBed('anthropic', 'claude', randomToken('sk-ant-api03-'));
  });

  after(async () => {
    await bed.close();
  });

  it('runs a headless prompt: the host token reaches the API, the tool call runs in the bottle, refusals come back as its output', async () => {
    const { h, standIn, token } = bed;
    const r = await run(['start', 'coder', '--headless', '--prompt', 'run the check', '--output-format', 'json'], { env: h.env, cwd: h.cwd });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { result?: string; is_error?: boolean };
    assert.equal(out.is_error, false, r.stdout);
    assert.match(out.result ?? '', /^FINAL: tool ran as agent in coder-[a-z0-9]+\n/, 'start --headless printed the final message built from the tool output');

    const messages = standIn.requests.filter((q) => q.path.startsWith('/v1/messages'));
    assert.ok(messages.length >= 2, 'a tool turn and a final turn');
    for (const q of standIn.requests) {
      assert.equal(q.headers['x-api-key'], token, `${q.method} ${q.path} carries the host's key`);
      assert.equal(q.headers.authorization, undefined, 'an API key goes as x-api-key only');
      assert.ok(!JSON.stringify(q.headers).includes(PLACEHOLDER) && !q.body.includes(token));
    }
    assert.ok(messages.some((q) => q.body.includes(AGENT_BODY)), "the agent file's body is in the system prompt");

    const tool = standIn.toolOutputs.join('\n');
    assert.match(tool, /tool ran as agent in coder-/);
    assert.match(tool, /SKILL\.md/, 'the skill was copied where the client reads it');
    assert.match(tool, /bot-bottle egress denied: GET https:\/\/unrouted\.example\/\nreason: no-route/, 'a host without a route: the refusal, with the route to add');
    assert.match(tool, /- host: "unrouted\.example"/);
    assert.match(tool, /CONNECT tunnel failed, response 403/, 'a CONNECT-time refusal comes back as the tool output');
    assert.match(tool, /tool-done/, 'the agent kept working');
  });

  describe('a detached claude bottle', () => {
    let id: string;
    before(async () => {
      id = await startDetached(bed.h, 'coder');
    });

    it('holds only a placeholder: no token in env, home, config files or docker inspect', async () => {
      const dump = await agentSh(bed.h, id, SELF_DUMP);
      assert.ok(dump.stdout.includes(`ANTHROPIC_API_KEY=${PLACEHOLDER}`), 'the client gets a placeholder');
      assert.ok(dump.stdout.includes('.claude.json'), 'the dump covered the home');
      assert.ok(!dump.stdout.includes(bed.token), 'the token is nowhere in the agent');
      const inspect = await docker(['inspect', `bot-bottle-${id}-agent`]);
      assert.ok(!inspect.includes(bed.token));
      const image = await docker(['inspect', '--format', '{{.Config.Image}}', `bot-bottle-${id}-agent`]);
      assert.ok(!(await docker(['history', '--no-trunc', image])).includes(bed.token));
      const user = await agentSh(bed.h, id, 'id -u; command -v claude; claude --version');
      assert.match(user.stdout, /^1000\n\/usr\/local\/bin\/claude\n\d+\.\d+\.\d+ \(Claude Code\)/);
    });

    it("the label and colour are Claude Code's status line", async () => {
      const labelled = await startDetached(bed.h, 'coder', ['--label', 'bug 7', '--color', 'cyan']);
      const r = await agentSh(bed.h, labelled, 'cmd=$(sed -n \'s/.*"command": "\\(.*\\)".*/\\1/p\' ~/.claude/settings.json); echo "$cmd"; echo "{}" | "$cmd"; echo; printenv CLAUDE_CODE_DISABLE_TERMINAL_TITLE');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, '/home/agent/.claude/bot-bottle-status-line.sh\n\u001b[1;36m[bug 7]\u001b[0m\n1\n');
    });

    it('the real client lists supervise and calls its MCP tool', async () => {
      const list = await agentSh(bed.h, id, 'claude mcp list 2>&1');
      assert.match(list.stdout, /supervise: http:\/\/bundle:8765\/mcp \(HTTP\) - . Connected/, list.stdout);
      bed.standIn.setScript({ command: '', finalPrefix: 'ROUTES: ', toolName: 'mcp__supervise__list-egress-routes' });
      const before = bed.standIn.toolOutputs.length;
      const r = await agentSh(bed.h, id, 'claude -p --dangerously-skip-permissions "which routes do I have?" </dev/null');
      assert.equal(r.code, 0, r.stderr);
      assert.ok(bed.standIn.requests.some((q) => q.body.includes('mcp__supervise__request-egress')), 'the client lists the supervise tools to the model');
      const answer = bed.standIn.toolOutputs.slice(before).join('\n');
      assert.match(answer, /api\.anthropic\.com/, 'the MCP tool answered with the routes, the provider route among them');
      assert.match(r.stdout, /^ROUTES: /);
    });
  });

  it('refuses a bottle route for the provider host, naming file and line', async () => {
    const { h } = bed;
    h.writeBottle('clash', '---\nagent_provider: {template: claude}\negress:\n  routes:\n    - host: example.org\n    - host: api.anthropic.com\n---\n');
    h.writeAgent('clasher', '---\nbottle: clash\n---\n');
    const r = await run(['start', 'clasher', '--dry-run'], { env: h.env, cwd: h.cwd });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /clash\.md:6: egress\.routes\[1\]\.host: api\.anthropic\.com is a host of the claude template/);
  });
});
