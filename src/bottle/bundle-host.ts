/**
 * The sidecar bundle as a container, for a backend whose agent is not one
 * (the micro-VM): the bundle runs exactly as on the Docker backend (same
 * image, networks, mounts, tmpfs secrets, readiness), only without an agent
 * container beside it. Implemented by the Docker backend; the backend
 * registry hands it over, so no backend imports another.
 */
import type { ProposedBuildEgress } from './agent-setup.js';
import type { AgentImage, GitUpstream, RunningBottle } from './backend.js';
import type { Progress } from '../progress.js';
import type { BundleServiceSpec } from './sidecar.js';
import type { BackendName } from './spec.js';
import type { BottleState } from './state.js';

export interface BundleLaunch {
  readonly identity: string;
  /** The backend the bottle belongs to: labelled on the bundle's resources, so list and cleanup keep backends apart. */
  readonly backend: BackendName;
  readonly state: BottleState;
  readonly services: readonly BundleServiceSpec[];
  /** Host folders of sidecars, mounted into the bundle. */
  readonly mounts: readonly { readonly hostDir: string; readonly bundleDir: string }[];
  /** Secret values for the bundle's tmpfs: held in memory, never printed. */
  readonly secrets: Readonly<Record<string, string>>;
  /** Host files the running sidecars write for the agent (trust files): an earlier run's are removed before the bundle starts. */
  readonly outputs: readonly string[];
}

export interface BundleHost {
  /**
   * Build (cached by content) the agent image from the recipe every backend
   * shares; resolves to its reference. An agent-proposed Dockerfile builds
   * with no more network than `scope.egress` and the package mirror.
   */
  buildAgentImage(agent: AgentImage, scope: { readonly identity: string; readonly egress: ProposedBuildEgress }, progress: Progress): Promise<string>;
  /** Build (cached by content) the bundle image; resolves to its reference. */
  buildBundleImage(progress: Progress): Promise<string>;
  /**
   * Create and start the bundle (its networks, its container), write its
   * secrets and wait until it is ready. On failure it removes what it created
   * and rethrows.
   */
  launch(launch: BundleLaunch, bundleImage: string, progress: Progress): Promise<void>;
  /** Remove the bundle's container and networks; unless preserving, the bottle's own images too. Idempotent. */
  teardown(identity: string, opts: { preserving: boolean }): Promise<void>;
  /** Bundles of this home labelled for `backend`: `services` holds `bundle` and the networks. */
  list(backend: BackendName): Promise<RunningBottle[]>;
  /** For `demo`: an SSH git upstream that only a bottle's bundle can reach. */
  demoGitUpstream(alias: string, progress: Progress): Promise<GitUpstream>;
}
