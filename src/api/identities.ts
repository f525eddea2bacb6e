/**
 * Identities as users type them: the whole identity or any unique prefix of
 * one, as docker accepts ids. The candidates are the bottles this home knows
 * of: recorded state, engine resources carrying its labels and, for readers
 * of the record (`logs`), the archive of bottles already torn down.
 */
import { getBackend } from '../backends/index.js';
import { BACKENDS } from '../bottle/spec.js';
import { listStateIdentities } from '../bottle/state.js';
import { BottleError } from '../errors.js';
import type { Settings } from '../settings.js';
import { listArchivedIdentities } from '../bottle/archive.js';

export interface ResolveOptions {
  /** Also ask the engine (bottles with resources but no state: orphans). */
  readonly engine?: boolean;
  /** Also match bottles known only from the archive. */
  readonly archived?: boolean;
}

/** Every identity the options allow, sorted, once each. */
export async function knownIdentities(settings: Settings, opts: ResolveOptions = {}): Promise<string[]> {
  const all = new Set(await listStateIdentities(settings.home));
  if (opts.archived) for (const id of await listArchivedIdentities(settings.home)) all.add(id);
  if (opts.engine) for (const b of BACKENDS) for (const r of await getBackend(settings, b).list()) all.add(r.identity);
  return [...all].sort();
}

/** The one identity `text` names: itself, or the only one it is a prefix of. Exit 4 for none, 2 when ambiguous. */
export async function resolveIdentity(settings: Settings, text: string, opts: ResolveOptions = {}): Promise<string> {
  // A recorded identity needs no engine round trip.
  const recorded = await listStateIdentities(settings.home);
  if (recorded.includes(text)) return text;
  return pickIdentity(text, await knownIdentities(settings, opts));
}

export function pickIdentity(text: string, known: readonly string[]): string {
  if (known.includes(text)) return text;
  const matches = text === '' ? [] : known.filter((id) => id.startsWith(text));
  const [only, second] = matches;
  if (only !== undefined && second === undefined) return only;
  if (only === undefined) {
    throw new BottleError('not-found', `no bottle ${JSON.stringify(text)}`, { fix: 'see `bot-bottle list` for the identities of this home' });
  }
  const shown = matches.slice(0, 5).join(', ') + (matches.length > 5 ? `, … (${matches.length} in all)` : '');
  throw new BottleError('usage', `${JSON.stringify(text)} matches several bottles: ${shown}`, { fix: 'type more of the identity' });
}
