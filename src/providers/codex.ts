/**
 * The `codex` template: the Codex CLI from npm, authenticated by the egress
 * proxy. Two credential sources:
 *  - `auth_token`: a host variable holding an API key; the agent gets
 *    `CODEX_API_KEY` set to a placeholder (Codex sends a key only from that
 *    variable or from its auth file; OPENAI_API_KEY alone sends nothing).
 *  - `forward_host_credentials`: the host's `$CODEX_HOME/auth.json` is read
 *    into the egress sidecar only; the agent gets an auth file of the same
 *    shape whose secrets are placeholders (JWT-shaped where Codex decodes
 *    them, carrying only the non-secret claims it reads).
 * Either way the proxy injects `Authorization: Bearer <real>` on the provider
 * host. Codex's other default traffic (model discovery on chatgpt.com,
 * metrics, plugin fetches from GitHub, update checks) is switched off.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AGENT } from '../bottle/layout.js';
import { BottleError, errnoCode } from '../errors.js';
import type { EgressRoute } from '../manifest/types.js';
import type { AgentFile } from '../bottle/sidecar.js';
import { hostToken, PLACEHOLDER, providerRoute, providerTokenRef, safeLabel, shQuote, skillTrees } from './common.js';
import { templateImage } from './images.js';
import { titled } from './session.js';
import type { Provider, ProviderContext, ProviderSetup } from './types.js';
import { VERSIONS } from './versions.js';

export const OPENAI_API_HOST = 'api.openai.com';
export const CHATGPT_HOST = 'chatgpt.com';
const HOME = AGENT.home;
const CODEX_HOME = `${HOME}/.codex`;
const WORKSPACE = AGENT.workspace;

export function codexProvider(): Provider {
  return {
    name: 'codex',
    image: templateImage('codex', { CODEX_VERSION: VERSIONS.codex }),
    user: 'agent',
    home: HOME,
    outputFormats: ['text', 'json', 'stream-json'],
    setup: codexSetup,
  };
}

interface CodexAuth {
  /** What the agent's $CODEX_HOME/auth.json holds (placeholders only), if anything. */
  readonly agentAuthFile: string | undefined;
  readonly routes: readonly EgressRoute[];
  readonly tokens: Readonly<Record<string, string>>;
  readonly agentEnv: Readonly<Record<string, string>>;
  readonly describe: string;
  readonly secretFiles?: readonly { readonly key: string; readonly path: string }[];
}

async function codexSetup(ctx: ProviderContext): Promise<ProviderSetup> {
  const auth = await codexAuth(ctx);
  const label = safeLabel(ctx.label);
  const files: AgentFile[] = [{ path: `${CODEX_HOME}/config.toml`, owner: 'agent', mode: 0o600, content: codexConfig(ctx.mcpUrl) }];
  if (auth.agentAuthFile !== undefined) files.push({ path: `${CODEX_HOME}/auth.json`, owner: 'agent', mode: 0o600, content: auth.agentAuthFile });
  const prompt = ctx.agent.prompt.trim();
  // Codex's global instructions file: the agent's body, read before the project's AGENTS.md.
  if (prompt !== '') files.push({ path: `${CODEX_HOME}/AGENTS.md`, owner: 'agent', mode: 0o644, content: prompt + '\n' });
  const base = ['codex', '--dangerously-bypass-approvals-and-sandbox'];
  return {
    routes: auth.routes,
    tokens: auth.tokens,
    agentEnv: auth.agentEnv,
    agentFiles: files,
    agentTrees: await skillTrees(ctx, HOME, '.codex/skills'),
    session: {
      // The bottle is the sandbox: Codex's own (Landlock/seccomp) is off.
      interactive: titled(base, label),
      headless: (promptFile, format) => [
        'sh',
        '-c',
        // The prompt is positional, as `codex exec` expects; stdin is closed (Codex reads a non-terminal stdin).
        `p="$(cat ${shQuote(promptFile)})"; exec "$@" -- "$p" </dev/null`,
        'codex-headless',
        'codex',
        'exec',
        '--dangerously-bypass-approvals-and-sandbox',
        '--skip-git-repo-check',
        ...(format === 'json' || format === 'stream-json' ? ['--json'] : []),
      ],
    },
    describe: { api_host: auth.routes.map((r) => r.host), credential: auth.describe, mcp: ctx.mcpUrl ?? null, skills: ctx.agent.skills, instructions: prompt !== '' },
    ...(auth.secretFiles === undefined ? {} : { secretFiles: auth.secretFiles }),
  };
}

async function codexAuth(ctx: ProviderContext): Promise<CodexAuth> {
  const ap = ctx.bottle.agent_provider;
  if (ap.forward_host_credentials && ap.auth_token !== undefined) {
    throw new BottleError('usage', 'agent_provider sets both auth_token and forward_host_credentials: the codex template takes one credential', {
      fix: `remove one of them from ${ctx.bottle.files.at(-1) ?? 'the bottle'}`,
    });
  }
  const ref = providerTokenRef('codex');
  const bearer = { header: 'Authorization', scheme: 'Bearer', token_ref: ref };
  if (ap.forward_host_credentials) return forwardHostAuth(ctx, ref);
  const token = hostToken(ctx, 'OpenAI');
  if (token === undefined) {
    return { agentAuthFile: undefined, routes: [providerRoute(OPENAI_API_HOST, undefined)], tokens: {}, agentEnv: {}, describe: 'none (log in inside the bottle)' };
  }
  return {
    // `codex exec` reads the key from CODEX_API_KEY, but the interactive TUI only from its auth file
    // (without one it stops at the sign-in screen): both hold the placeholder.
    agentAuthFile: JSON.stringify({ auth_mode: 'apikey', OPENAI_API_KEY: PLACEHOLDER, tokens: null, last_refresh: new Date().toISOString() }, null, 2) + '\n',
    routes: [providerRoute(OPENAI_API_HOST, bearer)],
    tokens: { [ref]: token.value },
    agentEnv: { CODEX_API_KEY: PLACEHOLDER },
    describe: `API key from ${token.name} (Authorization: Bearer)`,
  };
}

/** The host's Codex auth file: `$CODEX_HOME/auth.json`, else `~/.codex/auth.json`. */
export function hostCodexAuthPath(hostEnv: Readonly<Record<string, string>>, userHome: string): string {
  const home = hostEnv.CODEX_HOME;
  return join(home !== undefined && home !== '' ? home : join(userHome, '.codex'), 'auth.json');
}

async function forwardHostAuth(ctx: ProviderContext, ref: string): Promise<CodexAuth> {
  const path = hostCodexAuthPath(ctx.hostEnv, ctx.userHome);
  const secretFiles = [{ key: 'agent_provider.forward_host_credentials', path }];
  const bearer = { header: 'Authorization', scheme: 'Bearer', token_ref: ref };
  if (ctx.planning) {
    // Which of the two the file holds is known only by reading it, and planning reads no credentials.
    return {
      agentAuthFile: JSON.stringify({ OPENAI_API_KEY: PLACEHOLDER, tokens: null }, null, 2) + '\n',
      routes: [providerRoute(CHATGPT_HOST, bearer, ['/backend-api/']), providerRoute(OPENAI_API_HOST, bearer)],
      tokens: { [ref]: '<read at launch>' },
      agentEnv: {},
      describe: `forwarded from ${path}, read at launch (ChatGPT sign-in: Authorization: Bearer on ${CHATGPT_HOST}; API key: on ${OPENAI_API_HOST})`,
      secretFiles,
    };
  }
  const fix = `run \`codex login\` on this host (or set CODEX_HOME), or use auth_token in ${ctx.bottle.files.at(-1) ?? 'the bottle'}`;
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8')) as unknown;
  } catch (e) {
    // Never the parser's message: it may quote the file, and the file is credentials.
    const why = errnoCode(e) ?? 'not valid JSON';
    throw new BottleError('usage', `forward_host_credentials: cannot read the host's Codex auth file ${path} (${why})`, { fix });
  }
  const obj = isObj(raw) ? raw : {};
  const apiKey = typeof obj.OPENAI_API_KEY === 'string' && obj.OPENAI_API_KEY !== '' ? obj.OPENAI_API_KEY : undefined;
  const tokens = isObj(obj.tokens) ? obj.tokens : undefined;
  const access = typeof tokens?.access_token === 'string' && tokens.access_token !== '' ? tokens.access_token : undefined;
  const now = new Date().toISOString();
  if (access !== undefined && tokens !== undefined) {
    // ChatGPT sign-in: Codex talks to chatgpt.com's backend with the access token.
    const agentFile = {
      ...(typeof obj.auth_mode === 'string' ? { auth_mode: obj.auth_mode } : {}),
      OPENAI_API_KEY: null,
      tokens: {
        id_token: placeholderJwt(jwtClaims(tokens.id_token)),
        access_token: placeholderJwt(pick(jwtClaims(access), ['exp', 'iat', 'https://api.openai.com/auth'])),
        refresh_token: PLACEHOLDER,
        ...(typeof tokens.account_id === 'string' ? { account_id: tokens.account_id } : {}),
      },
      // A fresh date: Codex refreshes old tokens itself, and the refresh token here is a placeholder.
      last_refresh: now,
    };
    return {
      agentAuthFile: JSON.stringify(agentFile, null, 2) + '\n',
      routes: [providerRoute(CHATGPT_HOST, bearer, ['/backend-api/']), providerRoute(OPENAI_API_HOST, undefined)],
      tokens: { [ref]: access },
      agentEnv: {},
      describe: `ChatGPT sign-in forwarded from ${path} (Authorization: Bearer on ${CHATGPT_HOST})`,
      secretFiles,
    };
  }
  if (apiKey !== undefined) {
    return {
      agentAuthFile: JSON.stringify({ ...(typeof obj.auth_mode === 'string' ? { auth_mode: obj.auth_mode } : {}), OPENAI_API_KEY: PLACEHOLDER, tokens: null, last_refresh: now }, null, 2) + '\n',
      routes: [providerRoute(OPENAI_API_HOST, bearer)],
      tokens: { [ref]: apiKey },
      agentEnv: {},
      describe: `API key forwarded from ${path} (Authorization: Bearer)`,
      secretFiles,
    };
  }
  throw new BottleError('usage', `forward_host_credentials: ${path} holds neither an API key nor ChatGPT tokens`, { fix });
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The claims of a JWT, unverified (only non-secret ones are ever copied). */
function jwtClaims(token: unknown): Record<string, unknown> {
  if (typeof token !== 'string') return {};
  const part = token.split('.')[1];
  if (part === undefined) return {};
  try {
    const v = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
    return isObj(v) ? v : {};
  } catch {
    return {};
  }
}

function pick(o: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => k in o).map((k) => [k, o[k]]));
}

/** A JWT-shaped placeholder: Codex decodes these for plan and account, never verifies them. */
export function placeholderJwt(claims: Record<string, unknown>): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.${Buffer.from('bot-bottle-placeholder').toString('base64url')}`;
}

const tomlString = (s: string): string => JSON.stringify(s);

/** `$CODEX_HOME/config.toml`: no approvals or sandbox (the bottle is both), no non-essential traffic, supervise registered. */
export function codexConfig(mcpUrl: string | undefined): string {
  const lines = [
    '# Written by bot-bottle at launch.',
    'approval_policy = "never"',
    'sandbox_mode = "danger-full-access"',
    'check_for_update_on_startup = false',
    '',
    '[analytics]',
    'enabled = false',
    '',
    '[feedback]',
    'enabled = false',
    '',
    '[features]',
    'api_key_model_discovery = false',
    'plugins = false',
    'remote_plugin = false',
    'apps = false',
    // With a ChatGPT sign-in Codex zstd-compresses request bodies. The bundle's DLP decodes zstd (Node 22),
    // but `egress serve` on a host's Node 20 cannot and refuses them, so compression stays off.
    'enable_request_compression = false',
    '',
    `[projects.${tomlString(WORKSPACE)}]`,
    'trust_level = "trusted"',
  ];
  if (mcpUrl !== undefined) lines.push('', '[mcp_servers.supervise]', `url = ${tomlString(mcpUrl)}`);
  return lines.join('\n') + '\n';
}
