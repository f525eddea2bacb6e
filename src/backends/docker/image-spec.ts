/** A provider's ImageSpec as an engine image recipe: its base images first, then itself, each cached by content. */
import type { ImageSpec } from '../../providers/index.js';
import type { Progress } from '../../progress.js';
import type { Engine } from './engine.js';
import { type EnsureImageOptions, ensureImage, type ImageRecipe } from './images.js';

export function specRecipe(spec: ImageSpec): ImageRecipe {
  const inline = spec.dockerfileText !== undefined;
  return {
    repository: spec.repository,
    dockerfile: spec.dockerfile,
    // An inline Dockerfile (an approved capability change) joins the template's folder under its own name.
    context: [{ at: '.', from: spec.dir }, ...(inline ? [{ at: spec.dockerfile, content: spec.dockerfileText ?? '' }] : [])],
    buildArgs: { ...spec.buildArgs },
    bases: Object.fromEntries(Object.entries(spec.bases).map(([arg, base]) => [arg, specRecipe(base)])),
  };
}

/** Build what is missing; resolves to the image tag. `opts.network` confines this image's own build, not its (template) bases. */
export function ensureImageSpec(engine: Engine, spec: ImageSpec, progress: Progress, opts: EnsureImageOptions = {}): Promise<string> {
  return ensureImage(engine, specRecipe(spec), progress, opts);
}
