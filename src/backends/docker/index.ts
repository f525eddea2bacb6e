/** The Docker backend: the Backend interface over the Engine API. */
import { join } from 'node:path';
import type { Backend, DoctorCheck, ExecIO, GitUpstream, PrepareInput, RunningBottle } from '../../bottle/backend.js';
import { startGitUpstream } from './demo-upstream.js';
import { homeDirs } from '../../bottle/state.js';
import type { ResolvedEnv } from '../../manifest/types.js';
import type { Progress } from '../../progress.js';
import type { Settings } from '../../settings.js';
import { ensureAgentImage } from './agent-image.js';
import { ensureBaseImage } from './base-image.js';
import { connectEngine, type Engine, engineFailure, LABEL_MANAGED } from './engine.js';
import { listLabelled } from './list.js';
import { execIn } from './exec.js';
import { ensureImage } from './images.js';
import { abandonLaunch, beginLaunch, type DockerBuild, launchBottle } from './launch.js';
import { bottleNames } from './names.js';
import { type DockerPlan, prepareDockerPlan } from './plan.js';
import { chooseRuntime, type EngineRuntimes } from './runtime-probe.js';
import { teardownBottle } from './teardown.js';
import { execOnKeptWorkspace } from './workspace-exec.js';
import { dockerDoctor } from './doctor.js';

export class DockerBackend implements Backend<DockerPlan, DockerBuild> {
  readonly name = 'docker' as const;
  private engine: Engine | undefined;

  constructor(private readonly settings: Settings) {}

  private async connect(): Promise<Engine> {
    this.engine ??= await connectEngine();
    return this.engine;
  }

  prepare(input: PrepareInput): Promise<DockerPlan> {
    return Promise.resolve(prepareDockerPlan(input));
  }

  async build(plan: DockerPlan, progress: Progress): Promise<DockerBuild> {
    const engine = await this.connect();
    const dirs = homeDirs(this.settings.home);
    const imageOpts = { ...(this.settings.hostCaBundle ? { hostCaBundle: this.settings.hostCaBundle } : {}), hashCache: join(dirs.cache, 'image-hashes.json') };
    // Asked now, read after the images: one engine round trip off the start's path.
    const info = engine.info() as Promise<EngineRuntimes>;
    info.catch(() => undefined);
    const early = beginLaunch(engine, plan);
    try {
      // A proposed image builds on a network labelled with this bottle: the orphan check must not see it.
      if (plan.agentImage.kind === 'spec' && plan.agentImage.proposed) await early.clear.catch(() => undefined);
      await ensureBaseImage(engine, this.settings, progress);
      // The workspace (`--cwd`) is not an image layer: launch writes it into the workspace volume.
      const bundleImage = once(() => ensureImage(engine, plan.bundleImage, progress, imageOpts));
      const [agent, bundle] = await Promise.all([
        ensureAgentImage(engine, this.settings, plan.agentImage, { identity: plan.identity, egress: plan.buildEgress, bundleImage }, progress, imageOpts),
        bundleImage(),
      ]);
      const { runtime } = await chooseRuntime(engine, dirs.runtimeProbe, agent, progress, info);
      progress.detail(`images ready (${agent}, ${bundle}), runtime ${runtime}`);
      return { agentImage: agent, bundleImage: bundle, runtime, early };
    } catch (e) {
      await abandonLaunch(engine, plan, early);
      throw e;
    }
  }

  async launch(plan: DockerPlan, built: DockerBuild, env: ResolvedEnv, progress: Progress): Promise<void> {
    await launchBottle(await this.connect(), plan, built, env, progress);
  }

  async exec(identity: string, argv: readonly string[], io: ExecIO): Promise<number> {
    return execIn(await this.connect(), bottleNames(identity).agent, argv, io);
  }

  async execOnKeptWorkspace(identity: string, argv: readonly string[], io: ExecIO): Promise<number> {
    return execOnKeptWorkspace(await this.connect(), this.settings, identity, argv, io);
  }

  async teardown(identity: string, opts: { keepWorkspace: boolean }): Promise<void> {
    const engine = await this.connect();
    try {
      await teardownBottle(engine, identity, opts);
    } catch (e) {
      throw engineFailure(`removing ${identity}`, e);
    }
  }

  async list(): Promise<RunningBottle[]> {
    return listLabelled(await this.connect(), this.settings.home, 'docker');
  }

  async commit(identity: string, tag: string): Promise<void> {
    const engine = await this.connect();
    const [repo, version] = splitTag(tag);
    try {
      await engine.getContainer(bottleNames(identity).agent).commit({ repo, tag: version, pause: true, changes: [`LABEL ${LABEL_MANAGED}=true`] });
    } catch (e) {
      throw engineFailure(`committing ${identity}`, e);
    }
  }

  async doctor(opts: { network: boolean }): Promise<DoctorCheck[]> {
    return dockerDoctor(this.settings, opts);
  }

  async demoGitUpstream(alias: string, progress: Progress): Promise<GitUpstream> {
    return startGitUpstream(alias, progress, await this.connect(), this.settings.home);
  }
}

function splitTag(tag: string): [string, string] {
  const i = tag.lastIndexOf(':');
  return i > tag.lastIndexOf('/') ? [tag.slice(0, i), tag.slice(i + 1)] : [tag, 'latest'];
}

/** The first call's promise, for every caller. */
function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= fn());
}
