/**
 * Where the agent image comes from, resolved once for every backend (so one
 * recipe serves the container and the micro-VM alike): the newest of a
 * committed snapshot and an approved capability change wins over the
 * bottle's own Dockerfile and the provider template's. Reads, never writes.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { AgentImage } from '../bottle/backend.js';
import type { BottleState } from '../bottle/state.js';
import { BottleError, errnoCode } from '../errors.js';
import type { Bottle } from '../manifest/types.js';
import type { Provider } from '../providers/index.js';

export async function resolveAgentImage(provider: Provider, state: BottleState, bottle: Bottle): Promise<AgentImage> {
  const image = provider.image;
  const recipe = (repository: string, contextDir: string, dockerfile: string, source: string, inline: boolean, proposed = false): Promise<AgentImage> =>
    recipeOf({ repository, contextDir, dockerfile, source, inline, provider: provider.name, buildArgs: image.buildArgs, bases: image.bases, proposed });
  const perBottle = state.dockerfile;
  const committed = state.committedImageFile;
  const [perBottleTime, committedTime] = await Promise.all([mtime(perBottle), mtime(committed)]);
  if (committedTime >= 0 && committedTime >= perBottleTime) {
    return { kind: 'snapshot', tag: ((await readFile(committed, 'utf8')).split('\n')[0] ?? '').trim(), provider: provider.name };
  }
  if (perBottleTime >= 0) {
    // The template's folder stays the build context, so its COPY lines still work.
    // Derived Dockerfiles keep the template's build args and base images, so `FROM ${AGENT_BASE}` still resolves.
    // An agent proposed it: it builds confined (backends build it with the bottle's routes and package mirrors only).
    return recipe(`bot-bottle/bottle-${state.identity}`, image.dir, 'Dockerfile.bot-bottle', perBottle, true, true);
  }
  const own = bottle.agent_provider.dockerfile;
  if (own) return recipe(customRepository(provider.name, own), dirname(own), basename(own), own, false);
  return recipe(image.repository, image.dir, image.dockerfile, join(image.dir, image.dockerfile), false);
}

/**
 * One repository per Dockerfile: a build prunes older tags of its repository,
 * so two bottles with Dockerfiles of their own under one repository removed
 * each other's images, and every switch between them rebuilt from scratch.
 */
export function customRepository(provider: string, dockerfile: string): string {
  return `bot-bottle/agent-${provider}-custom-${createHash('sha256').update(resolve(dockerfile)).digest('hex').slice(0, 10)}`;
}

type RecipeFields = Omit<Extract<AgentImage, { kind: 'recipe' }>, 'kind' | 'text'>;

async function recipeOf(r: RecipeFields): Promise<AgentImage> {
  const { source } = r;
  let text: string;
  try {
    text = await readFile(source, 'utf8');
  } catch (e) {
    throw new BottleError('usage', `cannot read the agent's Dockerfile ${source} (${errnoCode(e) ?? String(e)})`, {
      fix: 'check agent_provider.dockerfile in the bottle, or the provider template',
    });
  }
  return { kind: 'recipe', ...r, text };
}

async function mtime(path: string): Promise<number> {
  try {
    return (await stat(path)).mtimeMs;
  } catch {
    return -1;
  }
}
