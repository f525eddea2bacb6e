/**
 * A warm start must not re-read and re-hash every build context (the bundle's
 * is about 8 MB) only to learn the tag it already knows. This cache maps a
 * context's *fingerprint* (every input of the content hash, with each host
 * file's content stood in for by its device, inode, size, mtime and ctime) to
 * the hash and the base image ids it was computed with, like git's index.
 *
 * Rewriting a file changes its ctime (which no user call can set back), and
 * replacing it changes its inode: either gives a new fingerprint, so a changed
 * context is hashed afresh. Inline content (host CA bundle, an inline
 * Dockerfile) is hashed into the fingerprint itself. A hit is only used after
 * the engine confirms the tag exists and every base still has its recorded id
 * (see images.ts); anything unreadable here is a miss.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** The file types the fingerprint needs from a build context (structurally images.ts's ContextFile). */
export type FingerprintFile =
  | { readonly type: 'dir'; readonly path: string; readonly mode: number }
  | { readonly type: 'symlink'; readonly path: string; readonly mode: number; readonly target: string }
  | { readonly type: 'file'; readonly path: string; readonly mode: number; readonly source: string }
  | { readonly type: 'file'; readonly path: string; readonly mode: number; readonly data: Buffer | (() => Promise<Buffer>) };

export interface CachedHash {
  readonly hash: string;
  /** `[FROM reference, image id]` pairs the hash covers, in FROM order. */
  readonly bases: readonly (readonly [string, string])[];
}

/** Entries kept: a few images per repository and bot-bottle version. */
const MAX_ENTRIES = 64;

/** Every input of the content hash, with host files as their stat identity. */
export async function contextFingerprint(version: string, files: readonly FingerprintFile[], params: readonly string[]): Promise<string> {
  const h = createHash('sha256');
  const field = (s: string) => h.update(`${Buffer.byteLength(s)}:${s}\0`);
  field(`fingerprint ${version}`);
  for (const f of files) {
    field(f.type);
    field(f.path);
    field(f.mode.toString(8));
    if (f.type === 'symlink') field(f.target);
    if (f.type !== 'file') continue;
    if ('source' in f) {
      // Follows a symlink, as the read that hashes and builds does.
      const st = await stat(f.source, { bigint: true });
      field(`${f.source} ${st.dev} ${st.ino} ${st.size} ${st.mtimeNs} ${st.ctimeNs}`);
    } else {
      const data = Buffer.isBuffer(f.data) ? f.data : await f.data();
      field(`inline ${data.length}`);
      h.update(data);
    }
  }
  for (const p of params) field(p);
  return h.digest('hex');
}

type CacheFile = Record<string, CachedHash & { readonly at: number }>;

async function load(path: string): Promise<CacheFile> {
  try {
    const parsed: unknown = JSON.parse(await readFile(path, 'utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as CacheFile) : {};
  } catch {
    return {};
  }
}

function valid(e: unknown): e is CachedHash {
  if (typeof e !== 'object' || e === null) return false;
  const { hash, bases } = e as { hash?: unknown; bases?: unknown };
  return (
    typeof hash === 'string' &&
    /^[0-9a-f]{16}$/.test(hash) &&
    Array.isArray(bases) &&
    bases.every((b) => Array.isArray(b) && b.length === 2 && typeof b[0] === 'string' && typeof b[1] === 'string')
  );
}

export async function lookupHash(path: string, fingerprint: string): Promise<CachedHash | undefined> {
  const e = (await load(path))[fingerprint];
  return valid(e) ? { hash: e.hash, bases: e.bases } : undefined;
}

/** Best effort: a lost write (another process, a full disk) only costs the next start a rehash. */
export async function rememberHash(path: string, fingerprint: string, value: CachedHash): Promise<void> {
  try {
    const entries = Object.entries(await load(path)).filter(([k, e]) => k !== fingerprint && valid(e));
    entries.sort(([, a], [, b]) => (b.at ?? 0) - (a.at ?? 0));
    const kept = Object.fromEntries([[fingerprint, { ...value, at: Date.now() }], ...entries.slice(0, MAX_ENTRIES - 1)]);
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(kept) + '\n');
    await rename(tmp, path);
  } catch {
    // a miss next time
  }
}
