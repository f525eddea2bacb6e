/**
 * Read a request body into memory, never more than `max` bytes: a body
 * declared or found larger is reported as too large (and, when asked, the
 * rest is drained within a bound so the client still reads the answer).
 *
 * Each chunk is copied out and freed as it arrives (buffer-release.ts): a
 * held chunk outlives scavenges and would wait for a major GC, so a burst of
 * bodies would otherwise cost about twice their size in RSS.
 */
import type { IncomingMessage } from 'node:http';
import { releaseBuffer } from './buffer-release.js';

export type BoundedBody = { readonly kind: 'ok'; readonly body: Buffer } | { readonly kind: 'too-large' } | { readonly kind: 'error' };

export function readBounded(req: IncomingMessage, max: number, opts: { drain?: boolean } = {}): Promise<BoundedBody> {
  return new Promise((resolve) => {
    const tooLarge = (): void => {
      if (opts.drain) drain(req);
      resolve({ kind: 'too-large' });
    };
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > max) return tooLarge();
    // A declared length (bounded above) is the body's size: one buffer, filled in place.
    const whole = Number.isFinite(declared) && declared >= 0 ? Buffer.allocUnsafeSlow(declared) : undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (c: Buffer) => {
      if (done) return;
      if (size + c.length > max || (whole !== undefined && size + c.length > whole.length)) {
        done = true;
        for (const b of chunks.splice(0)) releaseBuffer(b);
        releaseBuffer(whole);
        tooLarge();
        return;
      }
      if (whole === undefined) {
        chunks.push(c);
        size += c.length;
        return;
      }
      c.copy(whole, size);
      size += c.length;
      releaseBuffer(c);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      if (whole !== undefined) return resolve({ kind: 'ok', body: size === whole.length ? whole : whole.subarray(0, size) });
      if (chunks.length === 1) return resolve({ kind: 'ok', body: chunks[0] });
      const body = Buffer.concat(chunks, size);
      for (const b of chunks.splice(0)) releaseBuffer(b);
      resolve({ kind: 'ok', body });
    });
    req.on('error', () => {
      if (!done) resolve({ kind: 'error' });
      done = true;
    });
  });
}

/** Discard the rest of a refused body, but not forever. */
export function drain(req: IncomingMessage): void {
  let left = 64 * 1024 * 1024;
  req.on('data', (c: Buffer) => {
    left -= c.length;
    if (left < 0) req.destroy();
  });
  req.resume();
  setTimeout(() => req.destroy(), 10_000).unref();
}
