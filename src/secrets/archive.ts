/**
 * Archives a push may hide a file in: gzip or zlib streams, tar and zip
 * members (nested as `.tar.gz` is), unpacked within a size budget. Past the
 * budget the answer is `too-large`, never a silent pass: the caller turns it
 * into a finding.
 */
import { inflateSniff } from './decoders.js';

export interface Member {
  /** `name` inside the archive (`a/b.txt`), or `` for a bare gzip/zlib stream. */
  readonly name: string;
  readonly data: Uint8Array;
}

const MAX_DEPTH = 3;

function isTar(b: Uint8Array): boolean {
  return b.length >= 512 && Buffer.from(b.subarray(257, 262)).toString('latin1') === 'ustar';
}

function isZip(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04;
}

function tarMembers(b: Uint8Array): Member[] {
  const out: Member[] = [];
  let at = 0;
  while (at + 512 <= b.length) {
    const h = Buffer.from(b.subarray(at, at + 512));
    if (h.every((x) => x === 0)) break;
    const name = h.subarray(0, 100).toString('latin1').replace(/\0.*$/s, '');
    const prefix = h.subarray(345, 500).toString('latin1').replace(/\0.*$/s, '');
    const size = parseInt(h.subarray(124, 136).toString('latin1').replace(/[\0 ]/g, '') || '0', 8);
    const type = String.fromCharCode(h[156] ?? 0);
    at += 512;
    if (!Number.isFinite(size) || size < 0) break;
    if (type === '0' || type === '\0') out.push({ name: prefix ? `${prefix}/${name}` : name, data: b.subarray(at, Math.min(b.length, at + size)) });
    at += Math.ceil(size / 512) * 512;
  }
  return out;
}

/**
 * The files inside `buf` when it is an archive or a compressed stream,
 * undefined when it is neither, `too-large` when unpacking would pass `budget` bytes.
 *
 * The zip reader (fflate) is loaded at the first zip: building its tables
 * when the module loads was a few ms of every `bot-bottle scan`, and most
 * pushes carry no zip.
 */
export async function unpack(buf: Uint8Array, budget: number, depth = 0): Promise<Member[] | 'too-large' | undefined> {
  if (depth >= MAX_DEPTH) return undefined;
  let members: Member[] | undefined;
  const inflated = inflateSniff(buf, budget);
  if (inflated === 'too-large') return 'too-large';
  if (inflated !== undefined) members = [{ name: '', data: inflated }];
  else if (isTar(buf)) members = tarMembers(buf);
  else if (isZip(buf)) {
    const { unzipSync } = await import('fflate');
    let total = 0;
    let over = false;
    try {
      const files = unzipSync(buf, {
        filter: (f) => {
          total += f.originalSize;
          if (total > budget) over = true;
          return !over && !f.name.endsWith('/');
        },
      });
      if (over) return 'too-large';
      members = Object.entries(files).map(([name, data]) => ({ name, data }));
    } catch {
      return undefined;
    }
  }
  if (members === undefined) return undefined;
  const out: Member[] = [];
  let used = 0;
  for (const m of members) {
    used += m.data.length;
    if (used > budget) return 'too-large';
    const inner = await unpack(m.data, budget - used, depth + 1);
    if (inner === 'too-large') return 'too-large';
    if (inner === undefined) out.push(m);
    else for (const x of inner) out.push({ name: [m.name, x.name].filter(Boolean).join('/'), data: x.data });
  }
  return out;
}
