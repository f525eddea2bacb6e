/**
 * BundleHost over the Engine API (see bottle/bundle-host.ts): the sidecar
 * bundle of a bottle whose agent is not a container, run exactly as the
 * Docker backend runs its own (the same functions, without the agent part).
 */
import type { AgentImage, GitUpstream, RunningBottle } from '../../bottle/backend.js';
import { startGitUpstream } from './demo-upstream.js';
import type { BundleHost, BundleLaunch } from '../../bottle/bundle-host.js';
import type { BackendName } from '../../bottle/spec.js';
import type { Progress } from '../../progress.js';
import type { Settings } from '../../settings.js';
import type { ProposedBuildEgress } from '../../bottle/agent-setup.js';
import { ensureAgentImage } from './agent-image.js';
import { ensureBaseImage } from './base-image.js';
import { connectEngine, type Engine, engineFailure } from './engine.js';
import { ensureImage } from './images.js';
import { launchBundle } from './launch.js';
import { listLabelled } from './list.js';
import { bottleNames } from './names.js';
import { bundleImageRecipe, dockerAgentImage } from './plan.js';
import { teardownBottle } from './teardown.js';

export class DockerBundleHost implements BundleHost {
  private engine: Engine | undefined;
  constructor(private readonly settings: Settings) {}

  private async connect(): Promise<Engine> {
    this.engine ??= await connectEngine();
    return this.engine;
  }

  async buildAgentImage(agentImage: AgentImage, scope: { identity: string; egress: ProposedBuildEgress }, progress: Progress): Promise<string> {
    const engine = await this.connect();
    await ensureBaseImage(engine, this.settings, progress);
    return ensureAgentImage(engine, this.settings, dockerAgentImage(agentImage), { ...scope, bundleImage: () => this.buildBundleImage(progress) }, progress, this.caOpts());
  }

  async buildBundleImage(progress: Progress): Promise<string> {
    const engine = await this.connect();
    await ensureBaseImage(engine, this.settings, progress);
    return ensureImage(engine, bundleImageRecipe(), progress, this.caOpts());
  }

  private caOpts(): { hostCaBundle?: string } {
    return this.settings.hostCaBundle ? { hostCaBundle: this.settings.hostCaBundle } : {};
  }

  async launch(l: BundleLaunch, bundleImage: string, progress: Progress): Promise<void> {
    const parts = {
      identity: l.identity,
      backend: l.backend,
      names: bottleNames(l.identity),
      home: this.settings.home,
      state: l.state,
      bundleServices: l.services,
      sidecarMounts: l.mounts,
      bundleSecrets: l.secrets,
      outputs: l.outputs,
    };
    await launchBundle(await this.connect(), parts, bundleImage, progress);
  }

  async teardown(identity: string, opts: { preserving: boolean }): Promise<void> {
    try {
      await teardownBottle(await this.connect(), identity, { keepWorkspace: opts.preserving });
    } catch (e) {
      throw engineFailure(`removing the bundle of ${identity}`, e);
    }
  }

  async list(backend: BackendName): Promise<RunningBottle[]> {
    return listLabelled(await this.connect(), this.settings.home, backend);
  }

  async demoGitUpstream(alias: string, progress: Progress): Promise<GitUpstream> {
    return startGitUpstream(alias, progress, await this.connect(), this.settings.home);
  }
}
