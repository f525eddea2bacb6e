/** A provider's ImageSpec as engine images: its base images first, then itself, each cached by content. */
import type { ImageSpec } from '../../providers/index.js';
import type { Progress } from '../../progress.js';
import type { Engine } from './engine.js';
import { type EnsureImageOptions, ensureImage, type ImageRecipe } from './images.js';

export function specRecipe(spec: ImageSpec, baseTags: Readonly<Record<string, string>>): ImageRecipe {
  const inline = spec.dockerfileText !== undefined;
  return {
    repository: spec.repository,
    dockerfile: spec.dockerfile,
    // An inline Dockerfile (an approved capability change) joins the template's folder under its own name.
    context: [{ at: '.', from: spec.dir }, ...(inline ? [{ at: spec.dockerfile, content: spec.dockerfileText ?? '' }] : [])],
    buildArgs: { ...spec.buildArgs, ...baseTags },
  };
}

/** Build what is missing; resolves to the image tag. `opts.network` confines this image's own build, not its (template) bases. */
export async function ensureImageSpec(engine: Engine, spec: ImageSpec, progress: Progress, opts: EnsureImageOptions = {}): Promise<string> {
  const baseOpts: EnsureImageOptions = { ...opts, network: undefined };
  const bases = await Promise.all(Object.entries(spec.bases).map(async ([arg, base]) => [arg, await ensureImageSpec(engine, base, progress, baseOpts)] as const));
  return ensureImage(engine, specRecipe(spec, Object.fromEntries(bases)), progress, opts);
}
