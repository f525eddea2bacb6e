/**
 * What every backend gives the agent, and how it gets there once the agent
 * runs: the env (literal values in the engine's config; secrets in a file
 * on the agent's tmpfs that a tiny `sh` prelude loads before each command, so
 * they are never on a command line or in the engine's view of the agent), the
 * limits, the provider's and sidecars' files, the certificates to trust, and
 * trees (skills, the `--cwd` workspace). Each backend feeds these over its own
 * exec channel; contents always travel on stdin, never on argv.
 */
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { join } from 'node:path';
import type { Runtime, ResolvedEnv } from '../manifest/types.js';
import type { PrepareInput } from './backend.js';
import { AGENT, BUNDLE_HEARTBEAT_PORT, BUNDLE_HOST } from './layout.js';
import type { AgentFile, PreparedSidecar } from './sidecar.js';
import { type TarEntry, tarStream } from './tar.js';
import type { AgentTree } from './tree.js';

const DEFAULT_PIDS = 1024;
/** The agent user of every agent image (the provider templates create it). */
export const AGENT_UID = 1000;

// A missing command is named as the user typed it (sh's own message would blame the prelude).
const PRELUDE =
  `set -a; [ -r ${AGENT.secretEnv} ] && . ${AGENT.secretEnv}; set +a; ` +
  `command -v "$1" >/dev/null 2>&1 || { printf '%s: command not found in the bottle\\n' "$1" >&2; exit 127; }; exec "$@"`;

/** argv wrapped so the command starts with the bottle's secret env loaded. */
export function withEnvPrelude(argv: readonly string[]): string[] {
  return ['sh', '-c', PRELUDE, 'bot-bottle', ...argv];
}

/** `export NAME='value'` lines, single-quote escaped for POSIX sh. */
export function shellEnvFile(vars: Readonly<Record<string, string>>): string {
  return Object.entries(vars)
    .map(([k, v]) => `export ${k}='${v.replace(/'/g, `'\\''`)}'\n`)
    .join('');
}

/** The literal env every backend gives the agent: not secret. */
export function agentEnv(input: PrepareInput): Record<string, string> {
  const sidecarEnv = Object.assign({}, ...input.sidecars.map((s) => s.plan.agentEnv)) as Record<string, string>;
  return {
    BOT_BOTTLE_IDENTITY: input.identity,
    BOT_BOTTLE_BUNDLE: `${BUNDLE_HOST}:${BUNDLE_HEARTBEAT_PORT}`,
    ...input.env.literals,
    // The provider's placeholders and switches win over literals; sidecar settings (proxy URLs) over both.
    ...input.providerSetup.agentEnv,
    ...sidecarEnv,
  };
}

/** The provider's config files, then the sidecars' (git config, clients). */
export function agentFiles(input: PrepareInput): AgentFile[] {
  return [...input.providerSetup.agentFiles, ...input.sidecars.flatMap((s) => s.plan.agentFiles)];
}

/** Skills, then the `--cwd` workspace. */
export function agentTrees(input: PrepareInput): AgentTree[] {
  return [...input.providerSetup.agentTrees, ...(input.workspace ? [input.workspace] : [])];
}

/** A certificate the agent must trust: a file the running sidecar writes on the host, and where the agent gets it. */
export interface TrustFile {
  readonly hostFile: string;
  readonly agentPath: string;
}

/** Only a sidecar that runs writes what the agent must trust. */
export function agentTrust(sidecars: readonly PreparedSidecar[]): TrustFile[] {
  return sidecars.flatMap((s) =>
    s.plan.services.length === 0 ? [] : s.plan.agentTrust.map((t) => ({ hostFile: join(s.hostDir, ...t.stateFile.split('/')), agentPath: t.agentPath })),
  );
}

/**
 * What an agent-proposed Dockerfile's build may reach (an approved capability
 * change: its RUN steps are the agent's code): the bottle's routes (host:port)
 * and its egress.hosts; the backend adds the package mirror. Every backend
 * that builds such an image confines it to this.
 */
export interface ProposedBuildEgress {
  readonly routes: readonly { readonly host: string; readonly port: number }[];
  readonly hosts: Readonly<Record<string, string>>;
}

export function proposedBuildEgress(input: PrepareInput): ProposedBuildEgress {
  return { routes: input.bottle.egress.routes.map((r) => ({ host: r.host, port: r.port })), hosts: input.bottle.egress.hosts };
}

export interface Limits {
  readonly nanoCpus: number | undefined;
  readonly memoryBytes: number | undefined;
  readonly pids: number;
}

/** The agent's limits from the bottle's runtime section. */
export function agentLimits(runtime: Runtime): Limits {
  return {
    nanoCpus: runtime.cpus === undefined ? undefined : Math.round(runtime.cpus * 1e9),
    memoryBytes: runtime.memory,
    pids: runtime.pids ?? DEFAULT_PIDS,
  };
}

/** One setup step: argv run in the agent as `owner` (no env prelude, from /), fed `input`; it must exit 0. */
export interface SetupStep {
  readonly owner: 'root' | 'agent';
  readonly argv: readonly string[];
  /** The bytes, or a stream of them (a workspace tree can be large). */
  readonly input: string | Buffer | (() => Readable);
  /** For the error message when it fails. */
  readonly what: string;
}

/** The secret env file: always written (possibly empty) so the prelude's file exists. */
export function secretEnvStep(env: ResolvedEnv): SetupStep {
  return { owner: 'agent', argv: ['sh', '-c', `umask 077; cat > ${AGENT.secretEnv}`], input: shellEnvFile(env.secrets), what: 'writing the secret env file' };
}

/** Reads the agent's current system trust store (as root); an absent one reads as empty. */
export type ReadSystemBundle = () => Promise<Buffer>;

/**
 * The agent's files as tar archives, one per owner, unpacked by `tar` in the
 * agent as that owner (the agent runs without capabilities: root may write
 * only what root owns). Each sidecar CA is installed at its path and joins
 * the system bundle (curl, git, Python, OpenSSL; Node reads
 * NODE_EXTRA_CA_CERTS).
 */
export async function agentFileSteps(files: readonly AgentFile[], trust: readonly TrustFile[], readSystemBundle: ReadSystemBundle): Promise<SetupStep[]> {
  const all: { entry: TarEntry; owner: AgentFile['owner'] }[] = files.map((f) => ({ entry: fileEntry(f.path, Buffer.from(f.content), f.mode), owner: f.owner }));
  if (trust.length > 0) {
    const cas = await Promise.all(trust.map(async (t) => ({ t, pem: await readFile(t.hostFile) })));
    for (const { t, pem } of cas) all.push({ entry: fileEntry(t.agentPath, pem, 0o644), owner: 'root' });
    const system = await readSystemBundle().catch(() => Buffer.alloc(0));
    all.push({ entry: fileEntry(AGENT.systemCaBundle, Buffer.concat([system, ...cas.map((c) => c.pem)]), 0o644), owner: 'root' });
  }
  const steps: SetupStep[] = [];
  for (const owner of ['root', 'agent'] as const) {
    const mine = all.filter((f) => f.owner === owner).map((f) => f.entry);
    if (mine.length === 0) continue;
    steps.push({ owner, argv: ['tar', '-x', '-p', '--no-same-owner', '-f', '-', '-C', '/'], input: await archive(mine), what: `writing ${mine.map((e) => `/${e.path}`).join(', ')}` });
  }
  return steps;
}

/** A tree's entries for a tar archive, owned by the agent user; file bytes read when the archive is written. */
export function treeEntries(tree: AgentTree): TarEntry[] {
  const owner = { uid: AGENT_UID, gid: AGENT_UID };
  return tree.entries.map((e): TarEntry => {
    if (e.kind === 'dir') return { type: 'dir', path: e.path, mode: e.mode, ...owner };
    if (e.kind === 'symlink') return { type: 'symlink', path: e.path, mode: e.mode, target: e.target ?? '', ...owner };
    const content = e.content;
    const source = e.source ?? '';
    return { type: 'file', path: e.path, mode: e.mode, data: content ?? (() => readFile(source)), ...owner };
  });
}

/** A tree as a step: unpacked under its folder by the agent user. */
export function treeStep(tree: AgentTree): SetupStep {
  return {
    owner: 'agent',
    argv: ['sh', '-c', `mkdir -p "$1" && exec tar -x -p --no-same-owner -f - -C "$1"`, 'tree', tree.at],
    input: () => tarStream(treeEntries(tree)),
    what: `copying ${tree.what} into ${tree.at}`,
  };
}

function fileEntry(path: string, data: Buffer, mode: number): TarEntry {
  return { type: 'file', path: path.replace(/^\/+/, ''), mode, data };
}

async function archive(entries: readonly TarEntry[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of tarStream(entries)) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}
