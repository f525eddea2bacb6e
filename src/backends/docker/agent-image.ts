/**
 * The agent image on the engine, for every backend that boots one (the Docker
 * backend runs it; the micro-VM backend turns it into a root disk). An image
 * an agent proposed (an approved capability change) builds on a network of
 * its own whose only way out is the bottle's routes and the package mirror;
 * a template's image builds as any other.
 */
import type { ProposedBuildEgress } from '../../bottle/agent-setup.js';
import type { Progress } from '../../progress.js';
import type { Settings } from '../../settings.js';
import { findDebianMirror } from './base-image.js';
import { withBuildNetwork } from './build-network.js';
import type { Engine } from './engine.js';
import { ensureImageSpec } from './image-spec.js';
import type { EnsureImageOptions } from './images.js';
import type { DockerPlan } from './plan.js';

export interface AgentBuildScope {
  /** The bottle whose build this is (names its build network). */
  readonly identity: string;
  readonly egress: ProposedBuildEgress;
  /** The bundle image: the build proxy runs in it. */
  readonly bundleImage: () => Promise<string>;
}

export async function ensureAgentImage(
  engine: Engine,
  settings: Settings,
  image: DockerPlan['agentImage'],
  scope: AgentBuildScope,
  progress: Progress,
  opts: EnsureImageOptions,
): Promise<string> {
  if (image.kind === 'tag') return image.tag;
  if (!image.proposed) return ensureImageSpec(engine, image.spec, progress, opts);
  const bundleImage = await scope.bundleImage();
  const mirrors = [settings.debianMirror ?? (await findDebianMirror())];
  return withBuildNetwork(engine, { identity: scope.identity, home: settings.home, bundleImage, egress: { ...scope.egress, mirrors } }, progress, (network) =>
    ensureImageSpec(engine, image.spec, progress, { ...opts, network }),
  );
}
