/**
 * The Docker backend's *prepare* step: every name, image recipe, limit and
 * setting resolved on the host into a frozen plan. Nothing is created in the
 * engine and nothing is written to disk, so `--dry-run` is exactly this.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Plan, PrepareInput } from '../../bottle/backend.js';
import { BUNDLE_HEARTBEAT_PORT, BUNDLE_HOST } from '../../bottle/layout.js';
import type { AgentFile, BundleServiceSpec, PreparedSidecar } from '../../bottle/sidecar.js';
import { BottleState } from '../../bottle/state.js';
import { packageRoot } from '../../paths.js';
import { getProvider, type Provider } from '../../providers/index.js';
import type { ImageRecipe } from './images.js';
import { type BottleNames, bottleNames } from './names.js';
import type { ContainerRuntime } from './runtime-probe.js';

const DEFAULT_PIDS = 1024;

export interface Limits {
  readonly nanoCpus: number | undefined;
  readonly memoryBytes: number | undefined;
  readonly pids: number;
}

export type BundleService = BundleServiceSpec;

export interface DockerPlan extends Plan {
  readonly backend: 'docker';
  readonly identity: string;
  readonly names: BottleNames;
  /** The bot-bottle home this bottle belongs to (labelled on every resource). */
  readonly home: string;
  readonly state: BottleState;
  readonly provider: Provider;
  /** A committed snapshot to boot from instead of building. */
  readonly agentImage: { readonly kind: 'recipe'; readonly recipe: ImageRecipe; readonly source: string } | { readonly kind: 'tag'; readonly tag: string; readonly source: string };
  /** `--cwd`: host folder layered into the workspace. */
  readonly copyCwd: string | undefined;
  readonly bundleImage: ImageRecipe;
  /** Filled in by the runtime probe during build; `runc` until then. */
  runtime: ContainerRuntime;
  readonly limits: Limits;
  /** Literal env for the agent (manifest values and proxy URLs): not secret. */
  readonly agentEnv: Readonly<Record<string, string>>;
  /** Names of secret env entries (values stay in memory until launch). */
  readonly secretEnvNames: readonly string[];
  readonly bundleServices: readonly BundleService[];
  /** Host folders of sidecars, bind-mounted into the bundle. */
  readonly sidecarMounts: readonly { readonly hostDir: string; readonly bundleDir: string }[];
  /** Files written into the agent at launch (git config, trust store, clients). */
  readonly agentFiles: readonly AgentFile[];
  /** Secret values for the bundle's tmpfs: held in memory, never printed. */
  readonly bundleSecrets: Readonly<Record<string, string>>;
  /** The egress proxy's CA certificate on the host, once the bundle wrote it. */
  readonly egressCaHostPath: string | undefined;
  readonly sidecars: readonly PreparedSidecar[];
  readonly resuming: boolean;
  readonly headlessPrompt: string | undefined;
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
    ...(labels ? { labels } : {}),
  };
}

export function prepareDockerPlan(input: PrepareInput): DockerPlan {
  const { settings, identity, bottle, spec } = input;
  const provider = getProvider(settings, bottle.agent_provider.template);
  const names = bottleNames(identity);
  const state = new BottleState(settings.home, identity);
  const agentImage = resolveAgentImage(state, provider, bottle.agent_provider.dockerfile);
  const bundleImage = bundleImageRecipe();
  const sidecarEnv = Object.assign({}, ...input.sidecars.map((s) => s.plan.agentEnv)) as Record<string, string>;
  const agentEnv: Record<string, string> = {
    BOT_BOTTLE_IDENTITY: identity,
    BOT_BOTTLE_BUNDLE: `${BUNDLE_HOST}:${BUNDLE_HEARTBEAT_PORT}`,
    ...input.env.literals,
    // Sidecar settings (proxy URLs, placeholders) win over the manifest's literals.
    ...sidecarEnv,
  };
  const egress = input.sidecars.find((s) => s.name === 'egress' && s.plan.services.length > 0);
  const plan: DockerPlan = {
    backend: 'docker',
    identity,
    names,
    home: settings.home,
    state,
    provider,
    agentImage,
    copyCwd: spec.copyCwd,
    bundleImage,
    runtime: 'runc',
    limits: {
      nanoCpus: bottle.runtime.cpus === undefined ? undefined : Math.round(bottle.runtime.cpus * 1e9),
      memoryBytes: bottle.runtime.memory,
      pids: bottle.runtime.pids ?? DEFAULT_PIDS,
    },
    agentEnv,
    secretEnvNames: Object.keys(input.env.secrets).sort(),
    bundleServices: [
      ...input.sidecars.flatMap((s) => s.plan.services),
    ],
    sidecarMounts: input.sidecars.map((s) => ({ hostDir: s.hostDir, bundleDir: s.bundleDir })),
    agentFiles: input.sidecars.flatMap((s) => s.plan.agentFiles),
    bundleSecrets: Object.assign({}, ...input.sidecars.map((s) => s.plan.bundleSecrets)) as Record<string, string>,
    egressCaHostPath: egress ? state.file('egress', 'caCert') : undefined,
    sidecars: input.sidecars,
    resuming: input.resuming,
    headlessPrompt: spec.prompt,
    workspaceVolume: names.workspaceVolume,
    agentDockerfile: agentImage.kind === 'tag' ? undefined : agentImage.source,
    describe: () => describePlan(plan, bottle.name),
  };
  return plan;
}

function resolveAgentImage(state: BottleState, provider: Provider, bottleDockerfile: string | undefined): DockerPlan['agentImage'] {
  // The newest of a committed snapshot and an approved capability change wins
  // over the bottle's and the template's recipe.
  const perBottle = state.dockerfile;
  const committed = state.committedImageFile;
  const mtime = (p: string) => (existsSync(p) ? statSync(p).mtimeMs : -1);
  if (mtime(committed) >= 0 && mtime(committed) >= mtime(perBottle)) {
    return { kind: 'tag', tag: readFirstLine(committed), source: 'committed snapshot' };
  }
  if (mtime(perBottle) >= 0) {
    // The template's folder stays the build context, so its COPY lines still work.
    return {
      kind: 'recipe',
      recipe: {
        repository: `bot-bottle/bottle-${state.identity}`,
        dockerfile: 'Dockerfile.bot-bottle',
        context: [{ at: '.', from: provider.imageDir }, { at: 'Dockerfile.bot-bottle', content: readFileSync(perBottle, 'utf8') }],
      },
      source: perBottle,
    };
  }
  if (bottleDockerfile) {
    return { kind: 'recipe', recipe: dirRecipe(`bot-bottle/agent-${provider.name}-custom`, dirname(bottleDockerfile), bottleDockerfile.slice(dirname(bottleDockerfile).length + 1)), source: bottleDockerfile };
  }
  return { kind: 'recipe', recipe: dirRecipe(`bot-bottle/agent-${provider.name}`, provider.imageDir, 'Dockerfile'), source: join(provider.imageDir, 'Dockerfile') };
}

function dirRecipe(repository: string, dir: string, dockerfile: string): ImageRecipe {
  return { repository, dockerfile, context: [{ at: '.', from: dir }] };
}

function readFirstLine(path: string): string {
  // Synchronous on purpose: prepare is pure host resolution and this file is one line.
  return (readFileSync(path, 'utf8').split('\n')[0] ?? '').trim();
}

function describePlan(plan: DockerPlan, bottleName: string): Record<string, unknown> {
  return {
    backend: plan.backend,
    identity: plan.identity,
    bottle: bottleName,
    provider: plan.provider.name,
    agent_image: plan.agentImage.kind === 'tag' ? plan.agentImage.tag : `${plan.agentImage.recipe.repository} (from ${plan.agentImage.source})`,
    bundle_image: plan.bundleImage.repository,
    copy_cwd: plan.copyCwd ?? null,
    containers: { agent: plan.names.agent, bundle: plan.names.bundle },
    networks: { internal: plan.names.internalNetwork, egress: plan.names.egressNetwork },
    workspace_volume: plan.workspaceVolume,
    runtime: plan.runtime,
    limits: plan.limits,
    env: Object.keys(plan.agentEnv).sort(),
    secret_env: plan.secretEnvNames,
    bundle_services: plan.bundleServices.map((s) => s.name),
    bundle_secrets: Object.keys(plan.bundleSecrets).sort(),
    agent_files: plan.agentFiles.map((f) => f.path),
    sidecars: Object.fromEntries(plan.sidecars.map((s) => [s.name, s.plan.describe])),
    state_dir: plan.state.dir,
    resuming: plan.resuming,
  };
}
