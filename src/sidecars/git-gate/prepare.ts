/**
 * Host-side *prepare* of the git-gate: the bottle's `git-gate.repos` become
 * the gate's config file (no secret in it), the SSH identities, pinned host
 * keys and HTTPS tokens become bundle secrets (tmpfs only), and the agent gets
 * a git config that rewrites every upstream spelling to the gate. No repos:
 * an empty plan, no service at all. Writes nothing.
 */
import { readFile } from 'node:fs/promises';
import { BottleError } from '../../errors.js';
import { AGENT, BUNDLE_HOST, BUNDLE_SECRETS_DIR, sidecarCommand, inBundle, SERVICE_FILES } from '../../bottle/layout.js';
import type { GitUser } from '../../manifest/types.js';
import { idleSidecar, type SidecarPlan, type SidecarPrepareInput } from '../../bottle/sidecar.js';
import { DEFAULT_HOLD_TIMEOUT_MS, GIT_GATE_CONFIG_ENV, GIT_GATE_PORT, KNOWN_SECRETS_SECRET, secretNames, type GateRepo } from './config.js';
import { knownHostsLine, parseUpstream, upstreamSpellings, UpstreamUrlError } from './urls.js';
import { INSIDE } from '../net-scope.js';

export const AGENT_GITCONFIG_PATH = AGENT.gitconfig;
export const CONFIG_FILE = SERVICE_FILES['git-gate'].config;
const GATE_BASE = `http://${BUNDLE_HOST}:${GIT_GATE_PORT}/`;

export interface GitGateOptions {
  /** The bottle's proposal queue as the bundle sees it; default the bundle layout's. */
  readonly proposalsDir?: string;
  /** Where the gate reads its secrets; default the bundle's tmpfs. */
  readonly secretsDir?: string;
  readonly holdTimeoutMs?: number;
  readonly fetchTimeoutMs?: number;
  readonly pushTimeoutMs?: number;
  readonly connectTimeoutS?: number;
  readonly mirrorRoot?: string;
}


/** The contract entry point (see bottle/sidecar.ts). */
export function prepare(input: SidecarPrepareInput): Promise<SidecarPlan> {
  return prepareGitGate(input);
}

export async function prepareGitGate(input: SidecarPrepareInput, opts: GitGateOptions = {}): Promise<SidecarPlan> {
  const { bottle } = input;
  const entries = Object.entries(bottle.git_gate.repos).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length === 0) {
    // No repositories, but commits made in the bottle still carry the chosen identity.
    const user = input.agent.git_gate_user ?? bottle.git_gate.user;
    if (user === undefined) return idleSidecar();
    return { ...idleSidecar(), agentFiles: [{ path: AGENT_GITCONFIG_PATH, content: agentGitConfig([], GATE_BASE, user), mode: 0o644, owner: 'agent' }], describe: { user: `${user.name} <${user.email}>` } };
  }
  const file = bottle.files.at(-1) ?? 'the bottle';

  const repos: Record<string, GateRepo> = {};
  const secrets: Record<string, string> = {};
  const gateUrls: Record<string, string> = {};
  const describeRepos: Record<string, unknown> = {};
  const tokens: string[] = [];
  for (const [name, r] of entries) {
    const where = `git-gate repo ${name}`;
    let parsed;
    try {
      parsed = parseUpstream(r.url);
    } catch (e) {
      throw new BottleError('usage', `${where}: ${e instanceof UpstreamUrlError ? e.message : String(e)}`, { fix: `fix its url in ${file}` });
    }
    const names = secretNames(name);
    gateUrls[name] = `${GATE_BASE}${name}.git`;
    if (parsed.transport === 'ssh') {
      if (!r.identity) {
        throw new BottleError('usage', `${where}: an ssh upstream needs \`identity\` (the private key the gate pushes with)`, { fix: `add identity: ~/.ssh/<key> to it in ${file}` });
      }
      if (!r.host_key) {
        // Never trust on first use: an unpinned host is a man in the middle waiting to happen.
        throw new BottleError('usage', `${where}: an ssh upstream needs a pinned \`host_key\``, {
          fix: `ssh-keyscan -t ed25519${parsed.port ? ` -p ${parsed.port}` : ''} ${parsed.host}   (check it out of band), then host_key: "ssh-ed25519 AAAA…" in ${file}`,
        });
      }
      let key: string;
      try {
        // Planning reads no secret: the key is needed at launch, not to describe the plan.
        key = input.planning ? '' : await readFile(r.identity, 'utf8');
      } catch (e) {
        throw new BottleError('usage', `${where}: cannot read the identity file ${r.identity} (${(e as NodeJS.ErrnoException).code ?? String(e)})`, {
          fix: `check the path in ${file}, or make the file readable by this user`,
        });
      }
      secrets[names.sshKey] = key.endsWith('\n') ? key : `${key}\n`;
      secrets[names.knownHosts] = knownHostsLine(r.host_key, parsed);
      repos[name] = { url: r.url, transport: 'ssh', sshKeySecret: names.sshKey, knownHostsSecret: names.knownHosts, tokenSecret: undefined };
    } else {
      let tokenSecret: string | undefined;
      if (r.token_ref) {
        const token = input.hostEnv[r.token_ref];
        if (!token) {
          throw new BottleError('usage', `${where}: token_ref ${r.token_ref} is not set in the host environment`, {
            fix: `export ${r.token_ref}=… before starting, or remove token_ref from it in ${file}`,
          });
        }
        secrets[names.token] = token;
        tokens.push(token);
        tokenSecret = names.token;
      }
      repos[name] = { url: r.url, transport: 'https', sshKeySecret: undefined, knownHostsSecret: undefined, tokenSecret };
    }
    describeRepos[name] = {
      upstream: r.url,
      transport: parsed.transport,
      gate_url: gateUrls[name],
      credential: parsed.transport === 'ssh' ? `identity ${r.identity ?? ''}, pinned host key` : r.token_ref ? `token from $${r.token_ref}` : 'none (fetch only)',
    };
  }

  // The bottle's own secrets (and the HTTPS tokens) are findings wherever a push carries them.
  secrets[KNOWN_SECRETS_SECRET] = JSON.stringify([...new Set([...(input.knownSecrets ?? []), ...tokens])]);

  const config = {
    identity: input.identity,
    listen: { host: INSIDE, port: GIT_GATE_PORT },
    ...(opts.mirrorRoot ? { mirrorRoot: opts.mirrorRoot } : {}),
    // On the state mount: the bundle's /tmp tmpfs may be noexec, and git skips a hook it cannot run.
    hooksDir: inBundle('git-gate', 'hooks'),
    secretsDir: opts.secretsDir ?? BUNDLE_SECRETS_DIR,
    knownSecretsSecret: KNOWN_SECRETS_SECRET,
    auditLog: inBundle('git-gate', 'audit'),
    proposalsDir: opts.proposalsDir ?? inBundle('supervise', 'queue'),
    holdTimeoutMs: opts.holdTimeoutMs ?? DEFAULT_HOLD_TIMEOUT_MS,
    rewrites: bottle.git_gate.rewrites ?? 'refuse',
    ...(opts.fetchTimeoutMs ? { fetchTimeoutMs: opts.fetchTimeoutMs } : {}),
    ...(opts.pushTimeoutMs ? { pushTimeoutMs: opts.pushTimeoutMs } : {}),
    ...(opts.connectTimeoutS ? { connectTimeoutS: opts.connectTimeoutS } : {}),
    repos,
  };

  const user = input.agent.git_gate_user ?? bottle.git_gate.user;
  return {
    services: [
      {
        name: 'git-gate',
        command: sidecarCommand('git-gate'),
        env: { [GIT_GATE_CONFIG_ENV]: inBundle('git-gate', 'config') },
        restart: 'always',
        readyProbe: { tcpPort: GIT_GATE_PORT },
      },
    ],
    agentEnv: {},
    agentFiles: [
      {
        path: AGENT_GITCONFIG_PATH,
        content: agentGitConfig(
          entries.map(([name, r]) => ({ gateUrl: gateUrls[name] ?? '', spellings: upstreamSpellings(r.url) })),
          GATE_BASE,
          user,
        ),
        mode: 0o644,
        owner: 'agent',
      },
    ],
    bundleSecrets: secrets,
    stateDirs: [],
    stateFiles: [{ path: CONFIG_FILE, content: JSON.stringify(config, null, 2) + '\n', mode: 0o600 }],
    agentTrust: [],
    describe: { port: GIT_GATE_PORT, repos: describeRepos, user: user ? `${user.name} <${user.email}>` : null },
  };
}

/** A git config value or subsection, always quoted (`"`, `\` escaped); newlines cannot be written. */
function q(v: string): string {
  if (/[\r\n\0]/.test(v)) throw new BottleError('usage', `git-gate: ${JSON.stringify(v)} cannot be written into a git config (line break)`);
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function agentGitConfig(repos: readonly { gateUrl: string; spellings: readonly string[] }[], gateBase: string, user: GitUser | undefined): string {
  const lines = ['# Written by bot-bottle. Every upstream below is reached through the git-gate,', '# which scans each push; this bottle holds no upstream credential.'];
  if (user) lines.push('[user]', `\tname = ${q(user.name)}`, `\temail = ${q(user.email)}`);
  for (const r of repos) {
    lines.push(`[url ${q(r.gateUrl)}]`);
    for (const s of r.spellings) lines.push(`\tinsteadOf = ${q(s)}`);
  }
  // The gate is on the bottle's own network: never through the egress proxy (HTTP_PROXY).
  lines.push(`[http ${q(gateBase)}]`, '\tproxy = ""');
  return lines.join('\n') + '\n';
}
