/**
 * Tar archives (image build contexts, files and trees for the agent),
 * written by tar-stream. Deterministic: a fixed mtime and numeric owners,
 * so the same entries always give the same bytes.
 */
import { Readable } from 'node:stream';
import { pack } from 'tar-stream';

/** A fixed mtime (2000-01-01): identical inputs give identical archives. */
const TAR_MTIME = new Date(946684800 * 1000);

export type TarEntry =
  | { readonly type: 'dir'; readonly path: string; readonly mode: number; readonly uid?: number; readonly gid?: number }
  | { readonly type: 'symlink'; readonly path: string; readonly mode: number; readonly target: string; readonly uid?: number; readonly gid?: number }
  | { readonly type: 'file'; readonly path: string; readonly mode: number; readonly data: Buffer | (() => Promise<Buffer>); readonly uid?: number; readonly gid?: number };

/** The entries, in order, as a tar stream; file data is read one entry at a time. */
export function tarStream(entries: Iterable<TarEntry>): Readable {
  const tar = pack();
  const fill = async (): Promise<void> => {
    for (const e of entries) {
      const owner = { uid: e.uid ?? 0, gid: e.gid ?? 0, uname: '', gname: '' };
      if (e.type === 'dir') await add({ name: `${e.path}/`, type: 'directory', mode: e.mode, mtime: TAR_MTIME, ...owner });
      else if (e.type === 'symlink') await add({ name: e.path, type: 'symlink', linkname: e.target, mode: e.mode, mtime: TAR_MTIME, ...owner });
      else {
        const data = Buffer.isBuffer(e.data) ? e.data : await e.data();
        await add({ name: e.path, type: 'file', mode: e.mode, size: data.length, mtime: TAR_MTIME, ...owner }, data);
      }
    }
    tar.finalize();
  };
  const add = (header: Parameters<typeof tar.entry>[0], data?: Buffer): Promise<void> =>
    new Promise((resolve, reject) => {
      tar.entry(header, data ?? Buffer.alloc(0), (err) => (err ? reject(err) : resolve()));
    });
  fill().catch((e: unknown) => tar.destroy(e instanceof Error ? e : new Error(String(e))));
  // tar-stream's pack is a streamx stream: hand the engine client a Node one.
  return Readable.from(tar, { objectMode: false });
}
