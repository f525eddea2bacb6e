/**
 * The Docker backend's *prepare* step: every name, image recipe, limit and
 * setting resolved on the host into a frozen plan. Nothing is created in the
 * engine and nothing is written or read from disk, so `--dry-run` is exactly
 * this.
 */
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import type { AgentImage, Plan, PrepareInput } from '../../bottle/backend.js';
import { agentEnv, agentFiles, agentLimits, agentTrees, agentTrust, type Limits, type ProposedBuildEgress, proposedBuildEgress, type TrustFile } from '../../bottle/agent-setup.js';
import type { AgentFile, BundleServiceSpec, PreparedSidecar } from '../../bottle/sidecar.js';
import type { BottleState } from '../../bottle/state.js';
import { packageRoot } from '../../paths.js';
import type { ImageSpec } from '../../bottle/provider.js';
import type { AgentTree } from '../../bottle/tree.js';
import type { ImageRecipe } from './images.js';
import { specRecipe } from './image-spec.js';
import { nodeImage } from '../../providers/images.js';
import { EGRESS_NODE_FLAGS, SIDECAR_NODE_FLAGS } from '../../bottle/layout.js';
import { type BottleNames, bottleNames } from './names.js';

/**
 * The sidecar bundle's own limits: a flooding agent (huge uploads held for
 * DLP, a push of a giant repository, thousands of connections) must not take
 * the host down with it. Memory covers the 512 MiB /tmp tmpfs (mirrors,
 * certificates, secrets: charged to the same cgroup) and the proxy's
 * buffers; hitting it kills a sidecar, which the init restarts and reports
 * (egress fails closed meanwhile).
 */
export function bundleLimits(hostCpus = availableParallelism()): Limits {
  return { nanoCpus: Math.min(2, hostCpus) * 1e9, memoryBytes: 1536 * 1024 * 1024, pids: 512 };
}

export type BundleService = BundleServiceSpec;

export interface DockerPlan extends Plan {
  readonly backend: 'docker';
  readonly identity: string;
  readonly names: BottleNames;
  /** The bot-bottle home this bottle belongs to (labelled on every resource). */
  readonly home: string;
  readonly state: BottleState;
  /** The image recipe to build, or the committed snapshot to boot from. */
  /** `proposed`: an agent wrote the Dockerfile (an approved capability change); it builds with no more network than `buildEgress`. */
  readonly agentImage:
    | { readonly kind: 'spec'; readonly spec: ImageSpec; readonly source: string; readonly proposed: boolean }
    | { readonly kind: 'tag'; readonly tag: string; readonly source: string };
  /** What a proposed Dockerfile's build may reach. */
  readonly buildEgress: ProposedBuildEgress;
  readonly provider: string;
  /** `--cwd`: host folder layered into the workspace. */
  readonly copyCwd: string | undefined;
  /** Trees written into the created agent before it starts: skills, and the `--cwd` workspace (into its volume, never an image layer). */
  readonly agentTrees: readonly AgentTree[];
  readonly bundleImage: ImageRecipe;
  readonly limits: Limits;
  /** The sidecar bundle's limits (bundleLimits). */
  readonly bundleLimits: Limits;
  /** Literal env for the agent (manifest values and proxy URLs): not secret. */
  readonly agentEnv: Readonly<Record<string, string>>;
  /** Names of secret env entries (values stay in memory until launch). */
  readonly secretEnvNames: readonly string[];
  readonly bundleServices: readonly BundleService[];
  /** Host folders of sidecars, bind-mounted into the bundle. */
  readonly sidecarMounts: readonly { readonly hostDir: string; readonly bundleDir: string }[];
  /** Files written into the agent at launch (git config, clients). */
  readonly agentFiles: readonly AgentFile[];
  /** Certificates the agent must trust: host files the running sidecars write, and where the agent gets them. */
  readonly agentTrust: readonly TrustFile[];
  /** Secret values for the bundle's tmpfs: held in memory, never printed. */
  readonly bundleSecrets: Readonly<Record<string, string>>;
  readonly sidecars: readonly PreparedSidecar[];
  readonly resuming: boolean;
  readonly headlessPrompt: string | undefined;
  readonly providerDescribe: Readonly<Record<string, unknown>>;
  readonly workspaceVolume: string;
}

/** The sidecar bundle image: the Dockerfile, the esbuild-bundled sidecars, an ESM marker. */
export function bundleImageRecipe(repository = 'bot-bottle/bundle', labels?: Record<string, string>): ImageRecipe {
  const root = packageRoot();
  return {
    repository,
    dockerfile: 'Dockerfile',
    context: [
      { at: 'Dockerfile', from: join(root, 'images', 'bundle', 'Dockerfile') },
      { at: 'bundle', from: join(root, 'dist', 'bundle') },
      { at: 'package.json', content: '{"type":"module","private":true}\n' },
    ],
    // The sidecars run on the pinned Node LTS of the agent images' build stage, not on Debian's (end-of-life) nodejs.
    bases: { NODE_IMAGE: specRecipe(nodeImage()) },
    // The compile cache is made with the flags the sidecars run with (images/bundle/Dockerfile).
    buildArgs: { SIDECAR_NODE_FLAGS: SIDECAR_NODE_FLAGS.join(' '), EGRESS_NODE_FLAGS: EGRESS_NODE_FLAGS.join(' ') },
    ...(labels ? { labels } : {}),
  };
}

export function prepareDockerPlan(input: PrepareInput): DockerPlan {
  const { settings, identity, bottle, spec, state } = input;
  const names = bottleNames(identity);
  const agentImage = dockerAgentImage(input.agentImage);
  const plan: DockerPlan = {
    backend: 'docker',
    identity,
    names,
    home: settings.home,
    state,
    agentImage,
    buildEgress: proposedBuildEgress(input),
    provider: input.agentImage.provider,
    agentTrees: agentTrees(input),
    copyCwd: spec.copyCwd,
    bundleImage: bundleImageRecipe(),
    bundleLimits: bundleLimits(),
    limits: agentLimits(bottle.runtime),
    agentEnv: agentEnv(input),
    secretEnvNames: Object.keys(input.env.secrets).sort(),
    bundleServices: input.sidecars.flatMap((s) => s.plan.services),
    sidecarMounts: input.sidecars.map((s) => ({ hostDir: s.hostDir, bundleDir: s.bundleDir })),
    agentFiles: agentFiles(input),
    agentTrust: agentTrust(input.sidecars),
    bundleSecrets: Object.assign({}, ...input.sidecars.map((s) => s.plan.bundleSecrets)) as Record<string, string>,
    sidecars: input.sidecars,
    resuming: input.resuming,
    headlessPrompt: spec.prompt,
    providerDescribe: input.providerSetup.describe,
    workspaceVolume: names.workspaceVolume,
    describe: () => describePlan(plan, bottle.name),
  };
  return Object.freeze(plan);
}

export function dockerAgentImage(image: AgentImage): DockerPlan['agentImage'] {
  if (image.kind === 'snapshot') return { kind: 'tag', tag: image.tag, source: 'committed snapshot' };
  const spec: ImageSpec = {
    repository: image.repository,
    dir: image.contextDir,
    dockerfile: image.dockerfile,
    ...(image.inline ? { dockerfileText: image.text } : {}),
    buildArgs: image.buildArgs,
    bases: image.bases,
  };
  return { kind: 'spec', spec, source: image.source, proposed: image.proposed };
}

function describePlan(plan: DockerPlan, bottleName: string): Record<string, unknown> {
  return {
    backend: plan.backend,
    identity: plan.identity,
    bottle: bottleName,
    provider: plan.provider,
    agent_image: plan.agentImage.kind === 'tag' ? plan.agentImage.tag : `${plan.agentImage.spec.repository} (from ${plan.agentImage.source})`,
    bundle_image: plan.bundleImage.repository,
    copy_cwd: plan.copyCwd ?? null,
    containers: { agent: plan.names.agent, bundle: plan.names.bundle },
    networks: { internal: plan.names.internalNetwork, egress: plan.names.egressNetwork },
    workspace_volume: plan.workspaceVolume,
    runtime: 'chosen at build: runsc (gVisor) when its probe passes, else runc',
    limits: plan.limits,
    bundle_limits: plan.bundleLimits,
    env: Object.keys(plan.agentEnv).sort(),
    secret_env: plan.secretEnvNames,
    bundle_services: plan.bundleServices.map((s) => s.name),
    bundle_secrets: Object.keys(plan.bundleSecrets).sort(),
    agent_files: plan.agentFiles.map((f) => f.path),
    agent_trees: plan.agentTrees.map((t) => `${t.what} -> ${t.at} (${t.entries.filter((e) => e.kind === 'file').length} files)`),
    provider_setup: plan.providerDescribe,
    agent_trust: plan.agentTrust.map((t) => t.agentPath),
    sidecars: Object.fromEntries(plan.sidecars.map((s) => [s.name, s.plan.describe])),
    state_dir: plan.state.dir,
    resuming: plan.resuming,
  };
}
