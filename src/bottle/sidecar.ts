/**
 * The contract between a sidecar's host-side *prepare* and the backends.
 *
 * prepare is pure: it turns the bottle's manifest into plain data and writes
 * nothing. Its plan names the processes the bundle init runs, the env and
 * files the agent gets, the secrets for the bundle's tmpfs, the files its
 * state folder must hold before the bundle starts, and the certificates the
 * agent must trust. The caller writes the state files (writeSidecarState),
 * the backend mounts each state folder into the bundle, adds the services,
 * env, files and trust to the agent, and writes the secrets into the
 * bundle's in-memory tmpfs at launch (never the host disk, never argv).
 *
 * Paths inside the bundle and the agent come from layout.ts. These types
 * live in bottle/, the layer sidecars and backends share.
 */
import type { Agent, Bottle } from '../manifest/types.js';

export type SidecarName = 'egress' | 'git-gate' | 'supervise';
export const SIDECARS: readonly SidecarName[] = ['egress', 'git-gate', 'supervise'];

/** A process the bundle init runs (see sidecars/init/config.ts). */
export interface BundleServiceSpec {
  readonly name: string;
  readonly command: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly restart: 'always' | 'never';
  readonly readyProbe?: { readonly tcpPort: number };
}

export interface SidecarPrepareInput {
  readonly identity: string;
  readonly bottle: Bottle;
  readonly agent: Agent;
  /** The host's environment: the source of token_ref values. */
  readonly hostEnv: Readonly<Record<string, string>>;
  /** Tokens of the provider's own routes (token_ref -> value), for the egress sidecar only. */
  readonly providerTokens?: Readonly<Record<string, string>>;
  /** The bottle's own secret values (forwarded and prompted env): DLP looks for them. */
  readonly knownSecrets: readonly string[];
  /** The Dockerfile the agent image is built from (its text); none for a committed snapshot. */
  readonly agentDockerfile: string | undefined;
  /**
   * Planning (`--dry-run`, the library's plan call): secret values are
   * placeholders and no secret file (an SSH identity) is read; the plan is
   * only described, never launched.
   */
  readonly planning?: boolean;
}

export interface AgentFile {
  /** Absolute path inside the agent. */
  readonly path: string;
  readonly content: string;
  readonly mode: number;
  /** Written as root (e.g. into /etc) or as the agent user. */
  readonly owner: 'root' | 'agent';
}

/** A file the sidecar's state folder holds before the bundle starts (the bundle sees it mounted). */
export interface StateFile {
  /** Path inside the sidecar's state folder, `/`-separated, e.g. `config.json` or `ca-certs/0.pem`. */
  readonly path: string;
  readonly content: string;
  readonly mode: number;
  /** Keep the file when it exists: state the running bottle changed (approved routes) survives a resume. */
  readonly keep?: boolean;
}

/** A certificate the running sidecar writes into its state folder and the agent must trust. */
export interface AgentTrust {
  /** Path inside the sidecar's state folder, available once the bundle is ready. */
  readonly stateFile: string;
  /** Where the agent gets it (it is also appended to the agent's system trust store). */
  readonly agentPath: string;
}

export interface SidecarPlan {
  readonly services: readonly BundleServiceSpec[];
  /** Non-secret env for the agent (proxy URLs, placeholders). */
  readonly agentEnv: Readonly<Record<string, string>>;
  /** Files for the agent, written at launch (git config, client scripts). */
  readonly agentFiles: readonly AgentFile[];
  /** name -> content, written to `bundleSecret(name)` mode 600 in the bundle. */
  readonly bundleSecrets: Readonly<Record<string, string>>;
  /** Folders (state-folder relative) created before the bundle starts, e.g. a queue others write into. */
  readonly stateDirs: readonly string[];
  readonly stateFiles: readonly StateFile[];
  readonly agentTrust: readonly AgentTrust[];
  /** For `--dry-run`: what this sidecar will do, no secret values. */
  readonly describe: Readonly<Record<string, unknown>>;
}

/** A plan of a sidecar that runs nothing in this bottle. */
export function idleSidecar(describe: Readonly<Record<string, unknown>> = {}): SidecarPlan {
  return { services: [], agentEnv: {}, agentFiles: [], bundleSecrets: {}, stateDirs: [], stateFiles: [], agentTrust: [], describe };
}

/** A sidecar's plan with its state folder on the host and where the bundle mounts it. */
export interface PreparedSidecar {
  readonly name: SidecarName;
  readonly hostDir: string;
  readonly bundleDir: string;
  readonly plan: SidecarPlan;
}
