/**
 * `validate`: agent and bottle files checked as a launch would load them
 * (schema, names, `extends` chains, the bottles an agent names, engine
 * limits), with the secrets each will need reported and none asked for or
 * read. Nothing is started or created. For editors and CI.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { BottleError, ManifestError } from '../errors.js';
import { loadBottle, loadBottlesFor, manifestFiles, readAgentFile, readBottleFile } from '../manifest/index.js';
import { MANIFEST_FILE } from '../manifest/rules.js';
import type { Bottle } from '../manifest/types.js';
import { getProvider } from '../providers/index.js';
import type { Settings } from '../settings.js';
import { type SecretNeed, secretNeeds } from './plan.js';

export type ManifestKind = 'agent' | 'bottle';

export interface FileCheck {
  readonly file: string;
  readonly kind: ManifestKind;
  /** The kind came from the file's keys, not its folder or `--kind`. */
  readonly kind_guessed: boolean;
  readonly ok: boolean;
  /** The first problem, as a launch would report it (file, line, key path, fix). */
  readonly error: { readonly message: string; readonly fix: string | undefined; readonly exit_code: number } | undefined;
  /** Secrets the (merged) bottle needs at launch; never their values. */
  readonly needs: readonly SecretNeed[];
}

const BOTTLE_ONLY = ['extends', 'env', 'agent_provider', 'egress', 'supervise', 'runtime'];

/** Which kind a file is: its folder (`agents/`, `bottles/`), then `--kind`, then a guess from its keys. */
async function kindOf(file: string, given: ManifestKind | undefined): Promise<{ kind: ManifestKind; guessed: boolean }> {
  const folder = basename(dirname(file));
  if (given) return { kind: given, guessed: false };
  if (folder === 'agents') return { kind: 'agent', guessed: false };
  if (folder === 'bottles') return { kind: 'bottle', guessed: false };
  const { readFile } = await import('node:fs/promises');
  const head = await readFile(file, 'utf8').catch(() => '');
  const bottleKey = new RegExp(`^(${BOTTLE_ONLY.join('|')}):`, 'm');
  return { kind: bottleKey.test(head) ? 'bottle' : 'agent', guessed: true };
}

async function checkBottle(settings: Settings, file: string): Promise<Bottle> {
  const name = basename(file, '.md');
  const home = resolve(settings.home, 'bottles');
  // A bottle in the home is checked with its whole `extends` chain, as a launch loads it.
  if (resolve(dirname(file)) === home) return loadBottle(settings, name);
  const { bottle, data } = await readBottleFile(name, file, settings.userHome);
  if (data.extends !== undefined) await loadBottle(settings, data.extends);
  return bottle;
}

/** What a launch would find out next about a loaded bottle: its provider template exists. */
async function checkProvider(settings: Settings, bottle: Bottle, file: string): Promise<Bottle> {
  try {
    await getProvider(settings, bottle.agent_provider.template);
  } catch (e) {
    if (!(e instanceof BottleError)) throw e;
    throw new ManifestError(bottle.files.at(-1) ?? file, e.message, { keyPath: 'agent_provider.template', ...(e.fix === undefined ? {} : { fix: e.fix }) });
  }
  return bottle;
}

async function checkOne(settings: Settings, file: string, kind: ManifestKind): Promise<readonly SecretNeed[]> {
  if (!MANIFEST_FILE.test(basename(file))) {
    throw new ManifestError(file, `file name must match ${MANIFEST_FILE.source} (lower-case letters, digits and -, ending .md)`, { fix: 'rename it, e.g. my-bottle.md' });
  }
  if (kind === 'bottle') return secretNeeds(await checkProvider(settings, await checkBottle(settings, file), file), settings.hostEnv, existsSync);
  const agent = await readAgentFile(basename(file, '.md'), file);
  // The bottles it names must load too: that is what `start` would do next.
  if (agent.bottles.length === 0) return [];
  return secretNeeds(await checkProvider(settings, await loadBottlesFor(settings, agent, []), file), settings.hostEnv, existsSync);
}

/** Check the given files, or (none given) every agent and bottle this home and working directory would load. */
export async function validateManifests(settings: Settings, files: readonly string[] = [], opts: { kind?: ManifestKind } = {}): Promise<FileCheck[]> {
  const targets: { file: string; kind: ManifestKind; guessed: boolean }[] = [];
  if (files.length === 0) {
    const all = await manifestFiles(settings);
    for (const b of all.bottles) targets.push({ file: b.file, kind: 'bottle', guessed: false });
    for (const a of all.agents) targets.push({ file: a.file, kind: 'agent', guessed: false });
  } else {
    for (const f of files) {
      const file = resolve(settings.cwd, f);
      targets.push({ file, ...(await kindOf(file, opts.kind)) });
    }
  }
  const out: FileCheck[] = [];
  for (const t of targets) {
    try {
      const needs = await checkOne(settings, t.file, t.kind);
      out.push({ file: t.file, kind: t.kind, kind_guessed: t.guessed, ok: true, error: undefined, needs });
    } catch (e) {
      if (!(e instanceof BottleError)) throw e;
      // Every report names the file it is about, first, even for a bottle it names that is missing.
      const message = e instanceof ManifestError ? e.message : `${t.file}: ${e.message.replace(` (named in ${t.file})`, '')}`;
      out.push({ file: t.file, kind: t.kind, kind_guessed: t.guessed, ok: false, error: { message, fix: e.fix, exit_code: e.exitCode }, needs: [] });
    }
  }
  return out;
}
