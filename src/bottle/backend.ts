/**
 * The interface every backend implements. The lifecycle code in `bottle/`
 * talks only to this; backends never import each other.
 */
import type { Progress } from '../progress.js';
import type { Settings } from '../settings.js';
import type { Agent, Bottle, ResolvedEnv } from '../manifest/types.js';
import type { PreparedSidecar } from './sidecar.js';
import type { BackendName, BottleSpec } from './spec.js';

export interface PrepareInput {
  readonly settings: Settings;
  readonly spec: BottleSpec;
  readonly identity: string;
  readonly agent: Agent;
  readonly bottle: Bottle;
  readonly env: ResolvedEnv;
  /** True when resuming a bottle whose workspace must be kept. */
  readonly resuming: boolean;
  /** Sidecar plans from their host-side prepare (services, agent env and files, secrets). */
  readonly sidecars: readonly PreparedSidecar[];
}

/** A resolved plan: printable, no secrets, no engine resources created yet. */
export interface Plan {
  readonly backend: BackendName;
  readonly identity: string;
  /** The Dockerfile the agent image is built from (none for a committed snapshot). */
  readonly agentDockerfile: string | undefined;
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
  /** Service -> state, e.g. { agent: 'running', bundle: 'running' }. */
  readonly services: Readonly<Record<string, string>>;
  readonly createdAt: Date | undefined;
}

export interface Backend<P extends Plan = Plan> {
  readonly name: BackendName;
  /** Resolve everything on the host; create nothing. */
  prepare(input: PrepareInput, progress: Progress): Promise<P>;
  /** Build images that are missing (cached by content). */
  build(plan: P, progress: Progress): Promise<void>;
  /** Create and start; on failure remove what was created and rethrow. */
  launch(plan: P, env: ResolvedEnv, progress: Progress): Promise<void>;
  /** Run a command in the agent; resolves to its exit code. */
  exec(identity: string, argv: readonly string[], io: ExecIO): Promise<number>;
  /** Remove every engine resource of the bottle; keep the workspace when preserving. Idempotent. */
  teardown(identity: string, opts: { keepWorkspace: boolean }): Promise<void>;
  /** Every bottle the engine knows of, by label. */
  list(): Promise<RunningBottle[]>;
  /** Snapshot the agent as the image the next resume boots from. */
  commit(identity: string, tag: string): Promise<void>;
  /** Host facts for `doctor`. */
  doctor(opts: { network: boolean }): Promise<DoctorCheck[]>;
}

export interface DoctorCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  readonly fix: string | undefined;
}
