/**
 * The HTTP content codings the proxy can undo, in one place: the request DLP
 * decodes whole bodies, the response scrubber decodes streams, and the
 * Accept-Encoding the proxy forwards names only these. zstd depends on the
 * runtime: the bundle's Node 22 decodes it (Codex compresses request bodies
 * with it); the host's `egress serve` on Node 20 cannot, and there zstd stays
 * an encoding the DLP refuses rather than one it lets through unread.
 */
import type { Transform } from 'node:stream';
import * as zlib from 'node:zlib';

interface ZstdRuntime {
  zstdDecompressSync(buf: Buffer, opts: { maxOutputLength: number }): Buffer;
  createZstdDecompress(): Transform;
}

const runtime = zlib as unknown as Partial<ZstdRuntime>;
const zstd: ZstdRuntime | undefined = typeof runtime.zstdDecompressSync === 'function' && typeof runtime.createZstdDecompress === 'function' ? (runtime as ZstdRuntime) : undefined;

/** Lower-case coding names this runtime decodes (`identity` is no coding at all). */
export const DECODABLE_CODINGS: ReadonlySet<string> = new Set(['gzip', 'x-gzip', 'deflate', 'br', ...(zstd ? ['zstd'] : [])]);

/** For messages: what an agent may send instead. */
export const DECODABLE_LIST = `${[...DECODABLE_CODINGS].filter((c) => c !== 'x-gzip').join(', ')} or none`;

/** The codings of a Content-Encoding value, in the order they were applied; `identity` and empty entries dropped. */
export function codingsOf(contentEncoding: string | undefined): string[] {
  if (contentEncoding === undefined) return [];
  return contentEncoding
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
}

/** Undo one coding of a whole buffer, never producing more than `maxOutputLength` bytes (zlib throws ERR_BUFFER_TOO_LARGE past it). */
export function decodeOnce(coding: string, buf: Buffer, maxOutputLength: number): Buffer | undefined {
  const opts = { maxOutputLength };
  switch (coding) {
    case 'gzip':
    case 'x-gzip':
      return zlib.gunzipSync(buf, opts);
    case 'deflate':
      // RFC 9110 says zlib-wrapped; some clients send raw deflate.
      try {
        return zlib.inflateSync(buf, opts);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw e;
        return zlib.inflateRawSync(buf, opts);
      }
    case 'br':
      return zlib.brotliDecompressSync(buf, opts);
    case 'zstd':
      return zstd?.zstdDecompressSync(buf, opts);
    default:
      return undefined;
  }
}

/** A streaming decoder for one coding other than deflate (whose wrapping is sniffed by the caller). */
export function streamDecoder(coding: string): Transform {
  if (coding === 'br') return zlib.createBrotliDecompress();
  if (coding === 'zstd' && zstd) return zstd.createZstdDecompress();
  return zlib.createGunzip();
}
