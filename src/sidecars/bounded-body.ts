/**
 * Read a request body into memory, never more than `max` bytes: a body
 * declared or found larger is reported as too large (and, when asked, the
 * rest is drained within a bound so the client still reads the answer).
 */
import type { IncomingMessage } from 'node:http';

export type BoundedBody = { readonly kind: 'ok'; readonly body: Buffer } | { readonly kind: 'too-large' } | { readonly kind: 'error' };

export function readBounded(req: IncomingMessage, max: number, opts: { drain?: boolean } = {}): Promise<BoundedBody> {
  return new Promise((resolve) => {
    const tooLarge = (): void => {
      if (opts.drain) drain(req);
      resolve({ kind: 'too-large' });
    };
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > max) return tooLarge();
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > max) {
        done = true;
        chunks.length = 0;
        tooLarge();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!done) resolve({ kind: 'ok', body: chunks.length === 1 ? (chunks[0]) : Buffer.concat(chunks, size) });
      done = true;
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
