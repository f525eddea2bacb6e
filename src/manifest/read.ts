/**
 * Reading one manifest file: text -> front matter -> validated data. Knows
 * nothing about where files live; `load.ts` decides which files are trusted.
 */
import { readFile } from 'node:fs/promises';
import { errnoCode, ManifestError } from '../errors.js';
import { bottleFromFile } from './bottle-file.js';
import { parseFrontMatter, type FrontMatter } from './frontmatter.js';
import { manifestErrorFrom, type CrossKeys } from './issues.js';
import { agentFrontMatter, bottleFrontMatter, type BottleFrontMatter } from './schema.js';
import type { Agent, Bottle } from './types.js';

// A key in the wrong kind of file is a misunderstanding, not a typo: say so.
const BOTTLE_KEYS: CrossKeys = {
  keys: ['extends', 'env', 'agent_provider', 'egress', 'supervise', 'runtime', 'backend'],
  note: 'belongs in a bottle (~/.bot-bottle/bottles/), not an agent; name the bottle with `bottle:`',
};
const AGENT_KEYS: CrossKeys = {
  keys: ['bottle', 'skills', 'name', 'description', 'model', 'color', 'memory', 'tools'],
  note: 'belongs in an agent file, not a bottle',
};

/** A manifest is settings and a prompt: anything larger is not one (and would be slow to parse). */
export const MAX_MANIFEST_BYTES = 256 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The file as text, refused when it is too large, binary or not UTF-8. */
export async function readText(file: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new ManifestError(file, `cannot be read (${errnoCode(e) ?? 'error'})`);
  }
  if (bytes.length > MAX_MANIFEST_BYTES) {
    throw new ManifestError(file, `is ${Math.ceil(bytes.length / 1024)} KiB; a manifest is at most ${MAX_MANIFEST_BYTES / 1024} KiB`, {
      fix: 'is this the right file? long documentation belongs beside it, not in it',
    });
  }
  const nul = bytes.indexOf(0);
  if (nul !== -1) {
    const line = bytes.subarray(0, nul).toString('latin1').split('\n').length;
    throw new ManifestError(file, 'is a binary file (a NUL byte), not Markdown', { line, fix: 'a manifest is a Markdown text file with YAML front matter' });
  }
  try {
    return utf8.decode(bytes);
  } catch {
    throw new ManifestError(file, 'is not UTF-8 text', { fix: 'save it as UTF-8' });
  }
}

export async function readAgentFile(name: string, file: string): Promise<Agent> {
  const fm = parseFrontMatter(file, await readText(file));
  const parsed = agentFrontMatter.safeParse(fm.data);
  if (!parsed.success) throw manifestErrorFrom(file, fm, agentFrontMatter, parsed.error.issues, BOTTLE_KEYS);
  const data = parsed.data;
  const bottles = data.bottle === undefined ? [] : typeof data.bottle === 'string' ? [data.bottle] : data.bottle;
  return {
    name,
    file,
    bottles: [...new Set(bottles)],
    skills: [...new Set(data.skills ?? [])],
    git_gate_user: data['git-gate']?.user,
    prompt: fm.body.trim(),
    description: data.description,
  };
}

export interface BottleFile {
  readonly bottle: Bottle;
  readonly fm: FrontMatter;
  readonly data: BottleFrontMatter;
}

/** One bottle file on its own, before its `extends` is applied. */
export async function readBottleFile(name: string, file: string, userHome: string): Promise<BottleFile> {
  const fm = parseFrontMatter(file, await readText(file));
  if (!fm.present) {
    // Without settings it would silently be an all-defaults bottle: refuse instead.
    throw new ManifestError(file, 'has no front matter: a bottle starts with a `---` line, its YAML settings, then another `---`', {
      line: 1,
      fix: 'put at the top: ---, agent_provider: {template: shell}, --- (each on its own line)',
    });
  }
  const parsed = bottleFrontMatter.safeParse(fm.data);
  if (!parsed.success) throw manifestErrorFrom(file, fm, bottleFrontMatter, parsed.error.issues, AGENT_KEYS);
  return { bottle: await bottleFromFile(name, file, fm, parsed.data, userHome), fm, data: parsed.data };
}
