/**
 * A writer for the "newc" cpio format, the one format the Linux kernel
 * unpacks as an initramfs. Small enough to own: no host `cpio` needed.
 */

export interface CpioEntry {
  /** Path inside the archive, without a leading slash. */
  readonly path: string;
  readonly kind: 'file' | 'dir' | 'symlink';
  /** Permission bits (e.g. 0o755). */
  readonly mode: number;
  /** File content, or the link target for a symlink. */
  readonly data?: Buffer | string;
}

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function pad4(len: number): Buffer {
  return Buffer.alloc((4 - (len % 4)) % 4);
}

function record(ino: number, mode: number, name: string, data: Buffer): Buffer[] {
  const nameBuf = Buffer.from(name + '\0');
  const header =
    '070701' +
    [ino, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, nameBuf.length, 0].map(hex8).join('');
  const head = Buffer.concat([Buffer.from(header, 'ascii'), nameBuf]);
  return [head, pad4(head.length), data, pad4(data.length)];
}

/** The archive for `entries`, parents before children as the kernel needs. */
export function cpioArchive(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  for (const e of entries) {
    const path = e.path.replace(/^\/+/, '');
    if (!path || path.split('/').includes('..')) throw new Error(`bad cpio path ${e.path}`);
    const type = e.kind === 'dir' ? S_IFDIR : e.kind === 'symlink' ? S_IFLNK : S_IFREG;
    const data = e.kind === 'dir' ? Buffer.alloc(0) : Buffer.isBuffer(e.data) ? e.data : Buffer.from(e.data ?? '');
    parts.push(...record(ino++, type | (e.mode & 0o7777), path, data));
  }
  parts.push(...record(0, 0, 'TRAILER!!!', Buffer.alloc(0)));
  return Buffer.concat(parts);
}
