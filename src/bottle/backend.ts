/**
 * The contract every backend implements. The lifecycle code in `api/` talks
 * only to this; backends never import each other (see ARCHITECTURE.md).
 *
 * A start runs, in this order (api/start.ts):
 *
 * 1. The caller resolves the spec: manifests, env, identity, the agent image
 *    source (`AgentImage`: the same recipe for every backend) and each
 *    sidecar's plan (`PreparedSidecar`, pure).
 * 2. `prepare(input)` is pure: it returns a plan and creates nothing, writes
 *    nothing, asks nothing. `--dry-run` prints `plan.describe()` and stops.
 * 3. The caller writes the bottle's host state: metadata, and what the
 *    sidecars' plans ask their state folders to hold
 *    (`BottleState.writeSidecarState`).
 * 4. `build(plan)` makes what the launch needs (images, cached by content;
 *    host probes) and *returns* it. It creates no bottle resource.
 * 5. `launch(plan, built, env)` creates and starts the bottle from those two
 *    values and nothing else (no state kept in the backend between calls).
 *    It runs the sidecar bundle with each sidecar's state folder
 *    (`hostDir`) available at its `bundleDir`, the plans' services under the
 *    bundle init, the plans' `bundleSecrets` in the bundle's tmpfs; the
 *    agent with the plans' `agentEnv` and `agentFiles`, the env's secrets
 *    only in memory, and every `agentTrust` certificate (written by the
 *    running sidecar into its state folder) installed once the bundle is
 *    ready. The agent's only network path is the bundle. On any failure it
 *    removes what it created and rethrows: never a partial bottle.
 *
 * Everything else is by identity, from engine labels and recorded state:
 * `exec`, `teardown` (idempotent), `list`, `commit`, `doctor`.
 *
 * A backend reads the sidecars' plans generically: it never knows a sidecar
 * by name. A second backend needs a registry entry in backends/index.ts and a
 * name in spec.ts; api/ and the sidecars are unchanged.
 */
import type { Progress } from '../progress.js';
import type { Settings } from '../settings.js';
import type { Agent, Bottle, ResolvedEnv } from '../manifest/types.js';
import type { PreparedSidecar } from './sidecar.js';
import type { ImageSpec, ProviderSetup } from './provider.js';
import type { AgentTree } from './tree.js';
import type { BackendName, BottleSpec } from './spec.js';
import type { BottleState } from './state.js';

/**
 * Where the agent image comes from, resolved once for every backend: the
 * newest of a committed snapshot and an approved capability change, else the
 * bottle's own Dockerfile, else the provider template's.
 */
export type AgentImage =
  | {
      readonly kind: 'snapshot';
      /** The image tag `commit` made. */
      readonly tag: string;
      readonly provider: string;
    }
  | {
      readonly kind: 'recipe';
      /** Image repository, e.g. `bot-bottle/agent-shell`. */
      readonly repository: string;
      /** The build context folder on the host. */
      readonly contextDir: string;
      /** The Dockerfile's path inside the context. */
      readonly dockerfile: string;
      /** True when the Dockerfile is not in contextDir and is added to the context from `text`. */
      readonly inline: boolean;
      readonly text: string;
      /** Where the Dockerfile came from on the host (for people). */
      readonly source: string;
      readonly provider: string;
      /** Build args of the template (pinned versions), kept by derived Dockerfiles. */
      readonly buildArgs: Readonly<Record<string, string>>;
      /** Build args naming images built first (`FROM ${AGENT_BASE}`). */
      readonly bases: Readonly<Record<string, ImageSpec>>;
      /** An agent wrote this Dockerfile (an approved capability change): build it with no more network than the bottle's routes and package mirrors. */
      readonly proposed: boolean;
    };

export interface PrepareInput {
  readonly settings: Settings;
  readonly spec: BottleSpec;
  readonly identity: string;
  /** The bottle's host state: read, never written, by prepare. */
  readonly state: BottleState;
  readonly agent: Agent;
  readonly bottle: Bottle;
  /** The bottle's env: prepare uses the literals and the secret *names*; launch writes the values. */
  readonly env: ResolvedEnv;
  /** True when resuming a bottle whose workspace must be kept. */
  readonly resuming: boolean;
  readonly agentImage: AgentImage;
  /** Each sidecar's plan and state folder (services, agent env and files, secrets, trust). */
  readonly sidecars: readonly PreparedSidecar[];
  /** What the agent's provider template adds to this bottle: env, config files, skills (its routes are in the sidecars' plans). */
  readonly providerSetup: ProviderSetup;
  /** `--cwd`: the working tree to write into the workspace volume (never an image layer). */
  readonly workspace: AgentTree | undefined;
}

/** A resolved plan: printable, no secrets, no engine resources created yet. */
export interface Plan {
  readonly backend: BackendName;
  readonly identity: string;
  /** A JSON-safe description for `--dry-run` (never secret values). */
  describe(): Record<string, unknown>;
}

export interface ExecIO {
  readonly stdin: NodeJS.ReadableStream | undefined;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly tty: boolean;
}

/** What the engine says about one bottle (read from labels, never names). */
export interface RunningBottle {
  readonly identity: string;
  readonly backend: BackendName;
  /**
   * Service -> state, e.g. { agent: 'running', bundle: 'running',
   * 'volume-workspace': 'present' }. `agent` and `bundle` running means up;
   * an agent or workspace present but not running means work to keep.
   */
  readonly services: Readonly<Record<string, string>>;
  readonly createdAt: Date | undefined;
}

export interface Backend<P extends Plan = Plan, B = unknown> {
  readonly name: BackendName;
  /** Pure: resolve everything on the host into a plan; create nothing, write nothing. */
  prepare(input: PrepareInput, progress: Progress): Promise<P>;
  /** Make what launch needs (images, cached by content; host probes) and return it. */
  build(plan: P, progress: Progress): Promise<B>;
  /** Create and start from the plan and what build returned; on failure remove what was created and rethrow. */
  launch(plan: P, built: B, env: ResolvedEnv, progress: Progress): Promise<void>;
  /** Run a command in the agent (the env's secrets loaded); resolves to its exit code. */
  exec(identity: string, argv: readonly string[], io: ExecIO): Promise<number>;
  /**
   * Run a command over the kept workspace of a bottle whose agent is not
   * running (a preserved bottle): read-only, no network, nothing of the
   * agent's mounted on the host. Optional: without it, `export` needs the
   * bottle running.
   */
  execOnKeptWorkspace?(identity: string, argv: readonly string[], io: ExecIO): Promise<number>;
  /** Remove every engine resource of the bottle; keep the workspace when preserving. Idempotent. */
  teardown(identity: string, opts: { keepWorkspace: boolean }): Promise<void>;
  /** Every bottle of this home the engine knows of, by label. */
  list(): Promise<RunningBottle[]>;
  /** Snapshot the agent as the image the next resume boots from. */
  commit(identity: string, tag: string): Promise<void>;
  /** Host facts for `doctor`. */
  doctor(opts: { network: boolean }): Promise<DoctorCheck[]>;
  /** Optional, for `demo`: an SSH git upstream that only a bottle's sidecar bundle can reach. */
  demoGitUpstream?(alias: string, progress: Progress): Promise<GitUpstream>;
}

/** A git server the demo pushes to through the git-gate. */
export interface GitUpstream {
  /** Private key file on the host, for the bottle's `identity`. */
  readonly identityFile: string;
  /** `<alias> ssh-ed25519 AAAA…`: the pinned host key line. */
  readonly hostKey: string;
  readonly url: string;
  /** Make the upstream reachable from this bottle's bundle. */
  attach(identity: string): Promise<void>;
  /** The commit a branch points at upstream, or '' when absent. */
  head(branch: string): Promise<string>;
  stop(): Promise<void>;
}

export interface DoctorCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  readonly fix: string | undefined;
}
