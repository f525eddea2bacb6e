/**
 * A test bed for a real provider client in a real bottle: a stand-in of the
 * provider's API (HTTPS, its streaming protocol) reached through the
 * bottle's egress proxy, a home whose bottle maps the provider's host to the
 * stand-in (`egress.hosts`) and trusts its CA (`egress.ca_certs`), and the
 * real token in a host variable only.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeHome, type TestHome } from './helpers.js';
import { startStandIn, type StandIn, type StandInScript } from './standins.js';

export const TOKEN_VAR = 'TEST_PROVIDER_TOKEN';
export const AGENT_BODY = 'You are the bot-bottle provider test agent; marker 4f1c2b.';
export const SKILL = 'demo-skill';

/** The command the stand-in's tool call runs: proves where it ran, and meets two refusals. */
export const TOOL_COMMAND = [
  // No command substitution: some clients' shell tools refuse it (Gemini CLI does).
  `printf 'tool ran as '; whoami | tr -d '\\n'; printf ' in %s\\n' "$BOT_BOTTLE_IDENTITY"`,
  `ls "$HOME"/.*/skills/${SKILL} 2>&1 | head -3`,
  // An unrouted host: refused inside the tunnel, with the route that would allow it.
  'curl -sS --max-time 20 https://unrouted.example/ 2>&1',
  // An IP literal: refused at CONNECT time, which is all curl can report.
  'curl -sS --max-time 20 https://203.0.113.7/ 2>&1',
  'echo tool-done',
].join('; ');

export interface ProviderBed {
  readonly h: TestHome;
  readonly standIn: StandIn;
  readonly token: string;
  close(): Promise<void>;
}

const API_HOST = { anthropic: 'api.anthropic.com', openai: 'api.openai.com', gemini: 'generativelanguage.googleapis.com' } as const;

export async function providerBed(kind: keyof typeof API_HOST, template: string, token: string, extraBottle = ''): Promise<ProviderBed> {
  const h = makeHome({ [TOKEN_VAR]: token });
  const script: StandInScript = { command: TOOL_COMMAND, finalPrefix: 'FINAL: ' };
  const standIn = await startStandIn(kind, script, h.home);
  try {
    const host = API_HOST[kind];
    const skillDir = join(h.env.HOME ?? '', '.claude', 'skills', SKILL);
    mkdirSync(skillDir, { recursive: true });
    writeFileSync(join(skillDir, 'SKILL.md'), `---\nname: ${SKILL}\ndescription: a test skill\n---\nSay hello.\n`);
    h.writeBottle(
      'prov',
      `---
agent_provider:
  template: ${template}
  auth_token: ${TOKEN_VAR}
supervise: true
egress:
  hosts: {${host}: ${standIn.address}}
  ca_certs: [${standIn.caFile}]
${extraBottle}---
`,
    );
    h.writeAgent('coder', `---\nbottle: prov\nskills: [${SKILL}]\n---\n${AGENT_BODY}\n`);
    return {
      h,
      standIn,
      token,
      close: async () => {
        await standIn.close();
        await h.cleanup();
      },
    };
  } catch (e) {
    await standIn.close();
    await h.cleanup();
    throw e;
  }
}

export const randomToken = (prefix: string): string => `${prefix}${randomBytes(36).toString('base64url')}`;

/** Everything an agent can read of itself: env, home, its run dir, workspace and tmp (small files). */
export const SELF_DUMP = 'env; for d in "$HOME" /run/bot-bottle /workspace /tmp; do find "$d" -type f -size -4M -readable 2>/dev/null | while read -r f; do echo "== $f"; cat "$f"; done; done';
