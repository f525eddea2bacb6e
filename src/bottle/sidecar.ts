/**
 * The contract between a sidecar's host-side *prepare* and the backends.
 * prepare turns the bottle's manifest into plain data and config files in the
 * sidecar's own state folder (mounted into the bundle); the backend adds the
 * services to the bundle init, the env and files to the agent, and writes the
 * secrets into the bundle's in-memory tmpfs at launch (never on the host disk,
 * never on argv). These types live in bottle/, the layer both sides share.
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
  /** Host folder of this sidecar (`<state>/<identity>/<sidecar>/`), created, mode 700. */
  readonly hostDir: string;
  /** The same folder as the bundle sees it, e.g. `/run/bot-bottle/git-gate`. */
  readonly bundleDir: string;
  /** Where secrets appear inside the bundle: `<bundleSecretsDir>/<name>` (tmpfs). */
  readonly bundleSecretsDir: string;
  /** The host's environment: the source of token_ref values. */
  readonly hostEnv: Readonly<Record<string, string>>;
  /** The bottle's own secret values (forwarded and prompted env): DLP looks for them. */
  readonly knownSecrets: readonly string[];
  /** The bundle's name on the agent's network. */
  readonly bundleHost: string;
  /** Where bundled sidecar entry files live in the bundle image, e.g. `/opt/bot-bottle`. */
  readonly bundleCodeDir: string;
}

export interface AgentFile {
  /** Absolute path inside the agent. */
  readonly path: string;
  readonly content: string;
  readonly mode: number;
  /** Written as root (e.g. into /etc) or as the agent user. */
  readonly owner: 'root' | 'agent';
}

export interface SidecarPlan {
  readonly services: readonly BundleServiceSpec[];
  /** Non-secret env for the agent (proxy URLs, placeholders). */
  readonly agentEnv: Readonly<Record<string, string>>;
  /** Files for the agent, written at launch (git config, client scripts). */
  readonly agentFiles: readonly AgentFile[];
  /** name -> content, written to `<bundleSecretsDir>/<name>` mode 600 in the bundle. */
  readonly bundleSecrets: Readonly<Record<string, string>>;
  /** For `--dry-run`: what this sidecar will do, no secret values. */
  readonly describe: Readonly<Record<string, unknown>>;
}

/** A sidecar's plan with the folders it is mounted from and at. */
export interface PreparedSidecar {
  readonly name: SidecarName;
  readonly hostDir: string;
  readonly bundleDir: string;
  readonly plan: SidecarPlan;
}
