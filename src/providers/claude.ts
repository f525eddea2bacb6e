/**
 * The `claude` template: Claude Code from npm, authenticated by the egress
 * proxy. The agent holds a placeholder; the proxy injects the host's token
 * for api.anthropic.com, as `x-api-key` for an API key and as
 * `Authorization: Bearer` for an OAuth token (`claude setup-token`), which is
 * how the client itself would send each.
 */
import { AGENT } from '../bottle/layout.js';
import type { RouteAuth } from '../manifest/types.js';
import type { AgentFile } from '../bottle/sidecar.js';
import { ansiColor, hostToken, PLACEHOLDER, providerRoute, providerTokenRef, safeLabel, shQuote, skillTrees } from './common.js';
import { templateImage } from './images.js';
import { titled } from './session.js';
import type { Provider, ProviderContext, ProviderSetup } from './types.js';
import { VERSIONS } from './versions.js';

export const ANTHROPIC_API_HOST = 'api.anthropic.com';
const HOME = AGENT.home;
const CONFIG_DIR = `${HOME}/.claude`;
const SYSTEM_PROMPT_FILE = `${CONFIG_DIR}/bot-bottle-system-prompt.md`;
const STATUS_LINE_FILE = `${CONFIG_DIR}/bot-bottle-status-line.sh`;
const WORKSPACE = AGENT.workspace;
const OUTPUT_FORMATS = ['text', 'json', 'stream-json'] as const;

export type ClaudeCredential = 'api-key' | 'oauth';

/** OAuth tokens (`sk-ant-oat…`, or the variable Claude Code itself reads them from) go as Bearer. */
export function claudeCredentialKind(variable: string, value: string): ClaudeCredential {
  return variable === 'CLAUDE_CODE_OAUTH_TOKEN' || value.startsWith('sk-ant-oat') ? 'oauth' : 'api-key';
}

export function claudeProvider(): Provider {
  return {
    name: 'claude',
    image: templateImage('claude', { CLAUDE_VERSION: VERSIONS.claude }),
    user: 'agent',
    home: HOME,
    outputFormats: OUTPUT_FORMATS,
    setup: claudeSetup,
  };
}

async function claudeSetup(ctx: ProviderContext): Promise<ProviderSetup> {
  const token = hostToken(ctx, 'Anthropic');
  const kind = token === undefined ? undefined : claudeCredentialKind(token.name, token.value);
  const ref = providerTokenRef('claude');
  const auth: RouteAuth | undefined =
    kind === undefined ? undefined : kind === 'oauth' ? { header: 'Authorization', scheme: 'Bearer', token_ref: ref } : { header: 'x-api-key', scheme: '', token_ref: ref };
  const label = safeLabel(ctx.label);

  const agentEnv: Record<string, string> = {};
  if (kind === 'oauth') agentEnv.CLAUDE_CODE_OAUTH_TOKEN = PLACEHOLDER;
  if (kind === 'api-key') agentEnv.ANTHROPIC_API_KEY = PLACEHOLDER;
  // Our title names the bottle; Claude Code's own would overwrite it.
  if (label !== undefined) agentEnv.CLAUDE_CODE_DISABLE_TERMINAL_TITLE = '1';

  const files: AgentFile[] = [
    { path: `${HOME}/.claude.json`, owner: 'agent', mode: 0o600, content: JSON.stringify(claudeState(ctx, kind), null, 2) + '\n' },
    { path: `${CONFIG_DIR}/settings.json`, owner: 'agent', mode: 0o600, content: JSON.stringify(claudeSettings(label), null, 2) + '\n' },
  ];
  const prompt = ctx.agent.prompt.trim();
  if (prompt !== '') files.push({ path: SYSTEM_PROMPT_FILE, owner: 'agent', mode: 0o644, content: prompt + '\n' });
  if (label !== undefined) files.push({ path: STATUS_LINE_FILE, owner: 'agent', mode: 0o755, content: statusLineScript(label, ansiColor(ctx.color)) });

  const base = ['claude', '--dangerously-skip-permissions', ...(prompt !== '' ? ['--append-system-prompt-file', SYSTEM_PROMPT_FILE] : [])];
  return {
    routes: [providerRoute(ANTHROPIC_API_HOST, auth)],
    tokens: token === undefined ? {} : { [ref]: token.value },
    agentEnv,
    agentFiles: files,
    agentTrees: await skillTrees(ctx, HOME),
    session: {
      interactive: titled(base, label),
      headless: (promptFile, format) => [
        'sh',
        '-c',
        // The prompt arrives on stdin: no argv length limit, nothing on a command line.
        `exec "$@" < ${shQuote(promptFile)}`,
        'claude-headless',
        ...base,
        '-p',
        ...(format === undefined ? [] : ['--output-format', format]),
        // stream-json in print mode needs --verbose (the client refuses otherwise).
        ...(format === 'stream-json' ? ['--verbose'] : []),
      ],
    },
    describe: {
      api_host: ANTHROPIC_API_HOST,
      credential: token === undefined ? 'none (log in inside the bottle)' : `${kind === 'oauth' ? 'OAuth token (Authorization: Bearer)' : 'API key (x-api-key)'} from ${token.name}`,
      mcp: ctx.mcpUrl ?? null,
      skills: ctx.agent.skills,
      system_prompt: prompt !== '',
    },
  };
}

/** `~/.claude.json`: onboarding done, the placeholder key approved, the workspace trusted, supervise registered. */
function claudeState(ctx: ProviderContext, kind: ClaudeCredential | undefined): Record<string, unknown> {
  return {
    hasCompletedOnboarding: true,
    bypassPermissionsModeAccepted: true,
    // The one-time "make auto mode your default?" offer would stand in front of the first prompt, and
    // accepting it would put a classifier in place of the bottle's own permission system.
    hasSeenAutoDefaultNudge: true,
    autoUpdates: false,
    theme: 'dark',
    ...(kind === 'api-key' ? { customApiKeyResponses: { approved: [PLACEHOLDER.slice(-20)], rejected: [] } } : {}),
    projects: { [WORKSPACE]: { hasTrustDialogAccepted: true, hasCompletedProjectOnboarding: true, allowedTools: [] } },
    ...(ctx.mcpUrl === undefined ? {} : { mcpServers: { supervise: { type: 'http', url: ctx.mcpUrl } } }),
  };
}

function claudeSettings(label: string | undefined): Record<string, unknown> {
  return {
    // The bottle is the sandbox; its egress proxy and git-gate are the permission system.
    permissions: { defaultMode: 'bypassPermissions' },
    includeCoAuthoredBy: true,
    env: { DISABLE_AUTOUPDATER: '1', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', DISABLE_TELEMETRY: '1', DISABLE_ERROR_REPORTING: '1' },
    ...(label === undefined ? {} : { statusLine: { type: 'command', command: STATUS_LINE_FILE, padding: 0 } }),
  };
}

/** Prints the bottle's label (in its colour) as Claude Code's status line. */
function statusLineScript(label: string, color: number | undefined): string {
  const open = color === undefined ? '' : `\\033[1;${color}m`;
  const close = color === undefined ? '' : '\\033[0m';
  return `#!/bin/sh\n# bot-bottle: the bottle's label as the status line (stdin is the session JSON, unused)\ncat >/dev/null\nprintf '${open}%s${close}' ${shQuote(`[${label}]`)}\n`;
}
