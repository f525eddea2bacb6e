/**
 * Nothing the proxy injected comes back into the bottle. An upstream that
 * echoes request headers (httpbin-style services, debug and error pages, a
 * reflected header) would hand the injected token to the agent, which could
 * then carry it anywhere under a light encoding. On routes with auth the
 * answer is therefore scrubbed: every form of every host token and of the
 * bottle's known secrets (raw, URL, hex, base64 at each alignment) in the
 * status text, the headers and the body, compressed or not, is overwritten
 * with `*` of the same length (so an uncompressed body keeps its
 * Content-Length and streams as before; a compressed one is decoded, scrubbed
 * and sent as identity).
 */
import { Transform, type TransformCallback } from 'node:stream';
import { createInflate, createInflateRaw } from 'node:zlib';
import { codingsOf, DECODABLE_CODINGS, streamDecoder } from './codings.js';
import { knownSecretForms, type KnownSecrets } from './dlp.js';

const STAR = 0x2a;

export class Scrubber {
  /** Longest first, so a longer form is blanked before a shorter one inside it. */
  private readonly needles: readonly Buffer[];
  private readonly texts: readonly string[];

  constructor(forms: Iterable<string>) {
    const unique = [...new Set(forms)].filter((f) => f.length > 0).sort((a, b) => b.length - a.length);
    this.texts = unique;
    this.needles = unique.map((f) => Buffer.from(f, 'latin1'));
  }

  get size(): number {
    return this.needles.length;
  }

  /** A header value or status text with every form blanked. */
  text(value: string): string {
    let v = value;
    for (const t of this.texts) if (v.includes(t)) v = v.split(t).join('*'.repeat(t.length));
    return v;
  }

  /** Blank every form in `buf`, in place; the number of forms blanked. */
  scrubInPlace(buf: Buffer): number {
    let n = 0;
    for (const needle of this.needles) {
      for (let at = buf.indexOf(needle); at !== -1; at = buf.indexOf(needle, at + needle.length)) {
        buf.fill(STAR, at, at + needle.length);
        n++;
      }
    }
    return n;
  }

  /**
   * How many bytes at the end of `buf` could be the start of a form (held
   * back until the next chunk shows whether it completes one). Usually 0, so
   * streamed answers (server-sent events) are not delayed.
   */
  holdback(buf: Buffer): number {
    let longest = 0;
    for (const needle of this.needles) {
      const from = Math.max(0, buf.length - needle.length + 1);
      // The earliest start wins: it is the longest suffix that could still become this needle.
      for (let p = from; p < buf.length && buf.length - p > longest; p++) {
        if (buf[p] !== needle[0]) continue;
        if (buf.compare(needle, 0, buf.length - p, p) === 0) {
          longest = buf.length - p;
          break;
        }
      }
    }
    return longest;
  }

  /** A stream that blanks every form, also across chunk boundaries. */
  stream(): Transform {
    let pending: Buffer | undefined;
    return new Transform({
      transform: (chunk: Buffer, _enc, done: TransformCallback) => {
        const buf = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
        this.scrubInPlace(buf);
        const keep = this.holdback(buf);
        pending = keep === 0 ? undefined : Buffer.from(buf.subarray(buf.length - keep));
        done(null, keep === 0 ? buf : buf.subarray(0, buf.length - keep));
      },
      flush: (done: TransformCallback) => {
        done(null, pending);
      },
    });
  }
}

/** The scrubber for a bottle's host tokens and known secrets. */
export function scrubberOf(tokens: Iterable<string>, known: KnownSecrets): Scrubber {
  const forms: string[] = known.forms.map((f) => f.form);
  for (const t of tokens) for (const f of knownSecretForms(t)) forms.push(f.form);
  return new Scrubber(forms);
}

/** The codings a response went through, outermost last; 'unsupported' when one cannot be decoded. */
export function responseCodings(contentEncoding: string | undefined): string[] | 'unsupported' {
  const codings = codingsOf(contentEncoding);
  return codings.every((c) => DECODABLE_CODINGS.has(c)) ? codings : 'unsupported';
}

/** Decoders for `codings`, in the order the bytes must pass through them. */
export function decoders(codings: readonly string[]): Transform[] {
  return [...codings].reverse().map((c) => (c === 'deflate' ? inflateEither() : streamDecoder(c)));
}

/** `deflate` is zlib-wrapped by the RFC, raw from some servers: decide on the first two bytes. */
function inflateEither(): Transform {
  let inner: Transform | undefined;
  const out = new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      if (inner === undefined) {
        const zlibHeader = chunk.length >= 2 && (chunk[0] & 0x0f) === 8 && ((chunk[0] << 8) | chunk[1]) % 31 === 0;
        const created = zlibHeader ? createInflate() : createInflateRaw();
        inner = created;
        created.on('data', (d: Buffer) => out.push(d));
        created.on('error', (e) => out.destroy(e));
      }
      if (inner.write(chunk)) done();
      else inner.once('drain', () => done());
    },
    flush(done: TransformCallback) {
      if (inner === undefined) return done();
      inner.once('end', () => done());
      inner.end();
    },
  });
  return out;
}
