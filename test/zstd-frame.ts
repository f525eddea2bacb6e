/**
 * A zstd frame of stored (raw) blocks, written by hand: the tests run on the
 * host's Node 20, whose zlib has no zstd encoder, while the bundle's Node 22
 * must decode what an agent sends. Raw blocks are valid zstd (RFC 8878 §3.1.1)
 * and every decoder reads them.
 */
const MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
const MAX_BLOCK = 128 * 1024;

export function zstdStored(data: Buffer | string): Buffer {
  const body = Buffer.isBuffer(data) ? data : Buffer.from(data);
  // Single segment, 4-byte content size, no checksum, no dictionary.
  const header = Buffer.alloc(5);
  header[0] = 0b1010_0000;
  header.writeUInt32LE(body.length, 1);
  const parts: Buffer[] = [MAGIC, header];
  let at = 0;
  do {
    const chunk = body.subarray(at, at + MAX_BLOCK);
    at += chunk.length;
    const last = at >= body.length ? 1 : 0;
    const h = (chunk.length << 3) | last; // block type 0: raw
    parts.push(Buffer.from([h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff]), chunk);
  } while (at < body.length);
  return Buffer.concat(parts);
}
