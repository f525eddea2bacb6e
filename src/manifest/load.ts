/**
 * Where manifests come from, and the trust boundary between them. Bottles
 * carry credentials, egress routes and git remotes, so they are read only
 * from the user's own `<home>/bottles/`. Agents may also come from the
 * working directory (a cloned repository); they can only *name* a bottle.
 */
import { readdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { BottleError, errnoCode, ManifestError } from '../errors.js';
import type { Settings } from '../settings.js';
import { mergeBottles, overlay } from './merge.js';
import { readAgentFile, readBottleFile } from './read.js';
import { MANIFEST_FILE, MANIFEST_NAME } from './rules.js';
import type { Agent, Bottle } from './types.js';

export interface AgentSummary {
  readonly name: string;
  readonly file: string;
  readonly description?: string;
  readonly bottles: readonly string[];
}

export interface ManifestEntry {
  readonly name: string;
  readonly file: string;
}

const homeBottles = (s: Settings): string => join(s.home, 'bottles');
const homeAgents = (s: Settings): string => join(s.home, 'agents');
const repoDir = (s: Settings): string => join(s.cwd, '.bot-bottle');

interface Listing {
  readonly entries: ManifestEntry[];
  /** `.md` files whose names are not manifest names. */
  readonly ignored: string[];
}

async function listDir(dir: string): Promise<Listing> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return { entries: [], ignored: [] };
    throw new BottleError('state', `${dir} cannot be listed (${errnoCode(e) ?? 'error'})`);
  }
  const entries: ManifestEntry[] = [];
  const ignored: string[] = [];
  for (const n of names.sort()) {
    if (MANIFEST_FILE.test(n)) entries.push({ name: n.slice(0, -3), file: join(dir, n) });
    else if (n.endsWith('.md')) ignored.push(join(dir, n));
  }
  return { entries, ignored };
}

async function realOrSelf(p: string): Promise<string | undefined> {
  try {
    return await realpath(p);
  } catch {
    return undefined;
  }
}

/** The agent folders, once each: with cwd = $HOME the two are the same folder. */
async function agentDirs(s: Settings): Promise<string[]> {
  const home = homeAgents(s);
  const repo = join(repoDir(s), 'agents');
  const [a, b] = await Promise.all([realOrSelf(home), realOrSelf(repo)]);
  return a !== undefined && a === b ? [home] : [home, repo];
}

/** The warning for a repository that ships bottles, or undefined. */
async function repoBottlesWarning(s: Settings): Promise<string | undefined> {
  const repo = join(repoDir(s), 'bottles');
  const [real, trusted] = await Promise.all([realOrSelf(repo), realOrSelf(homeBottles(s))]);
  if (real === undefined || real === trusted) return undefined;
  return (
    `ignoring ${repo}/: bottles are loaded only from ${homeBottles(s)}/, ` +
    'so a cloned repository cannot add egress hosts or redirect secrets; copy a bottle there if you trust it'
  );
}

async function agentFiles(s: Settings): Promise<{ byName: Map<string, string[]>; ignored: string[] }> {
  const byName = new Map<string, string[]>();
  const ignored: string[] = [];
  for (const dir of await agentDirs(s)) {
    const listing = await listDir(dir);
    ignored.push(...listing.ignored);
    for (const e of listing.entries) byName.set(e.name, [...(byName.get(e.name) ?? []), e.file]);
  }
  return { byName, ignored };
}

const clashMessage = (name: string, files: readonly string[]): string =>
  `agent "${name}" is defined twice: ${files.join(' and ')}`;

const describeError = (e: unknown): string => (e instanceof BottleError ? e.userMessage : String(e));

export async function listAgents(settings: Settings): Promise<{ agents: AgentSummary[]; warnings: string[] }> {
  const warnings: string[] = [];
  const repoWarning = await repoBottlesWarning(settings);
  if (repoWarning !== undefined) warnings.push(repoWarning);
  const { byName, ignored } = await agentFiles(settings);
  for (const f of ignored) warnings.push(`ignoring ${f}: agent file names match ${MANIFEST_FILE.source}`);
  const agents: AgentSummary[] = [];
  for (const [name, files] of [...byName].sort(([a], [b]) => a.localeCompare(b))) {
    const [file] = files;
    if (file === undefined) continue;
    if (files.length > 1) {
      // One clash should not hide every other agent from the picker; loading it fails.
      warnings.push(`${clashMessage(name, files)}; rename or remove one`);
      continue;
    }
    try {
      const agent = await readAgentFile(name, file);
      agents.push({
        name,
        file,
        bottles: agent.bottles,
        ...(agent.description !== undefined ? { description: agent.description } : {}),
      });
    } catch (e) {
      if (!(e instanceof BottleError)) throw e;
      warnings.push(`skipping agent ${name}: ${describeError(e)}`);
    }
  }
  return { agents, warnings };
}

/** Every agent and bottle file this home and working directory would load, for `validate`. */
export async function manifestFiles(settings: Settings): Promise<{ agents: ManifestEntry[]; bottles: ManifestEntry[] }> {
  const { byName } = await agentFiles(settings);
  const agents = [...byName].flatMap(([name, files]) => files.map((file) => ({ name, file })));
  return { agents, bottles: await listBottles(settings) };
}

export async function listBottles(settings: Settings): Promise<ManifestEntry[]> {
  return (await listDir(homeBottles(settings))).entries;
}

function checkName(kind: 'agent' | 'bottle', name: string): void {
  if (!MANIFEST_NAME.test(name)) {
    throw new BottleError('usage', `"${name}" is not a valid ${kind} name: names are lower-case letters, digits and -`, {
      fix: `name the file like ${kind === 'agent' ? 'my-agent' : 'my-bottle'}.md`,
    });
  }
}

export async function loadAgent(settings: Settings, name: string): Promise<{ agent: Agent; warnings: string[] }> {
  checkName('agent', name);
  const warnings: string[] = [];
  const repoWarning = await repoBottlesWarning(settings);
  if (repoWarning !== undefined) warnings.push(repoWarning);
  const { byName } = await agentFiles(settings);
  const files = byName.get(name) ?? [];
  const [file, other] = files;
  if (file === undefined) {
    const known = [...byName.keys()].sort();
    throw new BottleError(
      'not-found',
      `no agent named "${name}"; ${known.length > 0 ? `agents: ${known.join(', ')}` : 'there are no agents yet'}`,
      { fix: `create ${join(homeAgents(settings), `${name}.md`)}` },
    );
  }
  if (other !== undefined) {
    throw new ManifestError(file, clashMessage(name, files), { fix: 'rename or remove one of them' });
  }
  return { agent: await readAgentFile(name, file), warnings };
}

interface Referrer {
  readonly file: string;
  readonly line?: number;
}

async function notFound(settings: Settings, name: string, referrer: Referrer | undefined): Promise<BottleError> {
  const by = referrer === undefined ? '' : ` (named in ${referrer.file}${referrer.line ? `:${referrer.line}` : ''})`;
  const known = (await listBottles(settings)).map((b) => b.name);
  const have = known.length > 0 ? `bottles: ${known.join(', ')}` : 'there are no bottles yet';
  const inRepo = (await listDir(join(repoDir(settings), 'bottles'))).entries.some((e) => e.name === name);
  const repoNote = inRepo ? `; ${join(repoDir(settings), 'bottles', `${name}.md`)} is ignored: bottles load only from your home` : '';
  return new BottleError('not-found', `no bottle named "${name}"${by}; ${have}${repoNote}`, {
    fix: `create ${join(homeBottles(settings), `${name}.md`)}`,
  });
}

export async function loadBottle(settings: Settings, name: string): Promise<Bottle> {
  return loadChain(settings, name, [], undefined);
}

async function loadChain(settings: Settings, name: string, chain: readonly string[], referrer?: Referrer): Promise<Bottle> {
  checkName('bottle', name);
  const entry = (await listBottles(settings)).find((e) => e.name === name);
  if (entry === undefined) throw await notFound(settings, name, referrer);
  const { bottle, fm, data } = await readBottleFile(name, entry.file, settings.userHome);
  if (data.extends === undefined) return bottle;
  const line = fm.lineOf(['extends']);
  const here = [...chain, name];
  if (here.includes(data.extends)) {
    const cycle = [...here.slice(here.indexOf(data.extends)), data.extends].join(' -> ');
    throw new ManifestError(entry.file, `extends cycle: ${cycle}`, {
      keyPath: 'extends',
      ...(line !== undefined ? { line } : {}),
      fix: 'remove `extends` from one bottle in the cycle',
    });
  }
  const base = await loadChain(settings, data.extends, here, { file: entry.file, ...(line !== undefined ? { line } : {}) });
  // The result is still this bottle: its name, its documentation.
  return { ...overlay(base, bottle), name, doc: bottle.doc };
}

export async function loadBottlesFor(settings: Settings, agent: Agent, explicit: readonly string[]): Promise<Bottle> {
  const fromAgent = explicit.length === 0;
  const names = [...new Set(fromAgent ? agent.bottles : explicit)];
  if (names.length === 0) {
    throw new BottleError('usage', `agent ${agent.name} names no bottle`, {
      fix: 'pass --bottle NAME or add `bottle:` to its front matter',
    });
  }
  const bottles: Bottle[] = [];
  for (const n of names) bottles.push(await loadChain(settings, n, [], fromAgent ? { file: agent.file } : undefined));
  return mergeBottles(bottles);
}
