import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describe, it } from 'node:test';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { KnownSecrets, NO_KNOWN } from './dlp.js';
import { decoders, responseCodings, Scrubber, scrubberOf } from './response-scrub.js';
import { DECODABLE_CODINGS } from './codings.js';

const TOKEN = 'host-token-Value-4f2a9c7e1b';

async function through(s: Scrubber, chunks: readonly Buffer[]): Promise<string> {
  return text(Readable.from(chunks).pipe(s.stream()));
}

describe('response scrubbing', () => {
  const s = scrubberOf([TOKEN], NO_KNOWN);

  it('blanks every form of the token with asterisks of the same length', () => {
    const b64 = Buffer.from(`Bearer ${TOKEN}`).toString('base64');
    const forms = [TOKEN, encodeURIComponent(TOKEN), Buffer.from(TOKEN).toString('hex'), b64];
    for (const f of forms) {
      const buf = Buffer.from(`{"auth":"${f}"}`);
      const before = buf.length;
      assert.ok(s.scrubInPlace(buf) > 0, f);
      assert.equal(buf.length, before);
      assert.ok(!buf.toString().includes(TOKEN), f);
      assert.match(buf.toString(), /\*{8,}/);
    }
    assert.equal(s.text(`Bearer ${TOKEN}`), `Bearer ${'*'.repeat(TOKEN.length)}`);
  });

  it('finds the token split across chunks at every position, and holds nothing back otherwise', async () => {
    const body = `{"headers":{"Authorization":"Bearer ${TOKEN}"},"n":1}`;
    for (let cut = 1; cut < body.length; cut++) {
      const out = await through(s, [Buffer.from(body.slice(0, cut)), Buffer.from(body.slice(cut))]);
      assert.equal(out.length, body.length);
      assert.ok(!out.includes(TOKEN) && !out.includes(TOKEN.slice(0, 12)), `cut at ${cut}: ${out}`);
    }
    assert.equal(s.holdback(Buffer.from('data: {"type":"message_delta"}\n\n')), 0);
    assert.equal(s.holdback(Buffer.from(`x ${TOKEN.slice(0, 5)}`)), 5);
  });

  it('scrubs known secrets too, and leaves other text alone', () => {
    const k = scrubberOf([], new KnownSecrets(['bottle-known-secret-77']));
    const buf = Buffer.from('a bottle-known-secret-77 b');
    k.scrubInPlace(buf);
    assert.equal(buf.toString(), `a ${'*'.repeat(22)} b`);
    const plain = Buffer.from('nothing secret here');
    assert.equal(k.scrubInPlace(plain), 0);
    assert.equal(plain.toString(), 'nothing secret here');
  });

  it('decodes gzip, zlib and raw deflate, brotli and stacked codings', async () => {
    const body = `token=${TOKEN}`;
    const cases: [string, Buffer][] = [
      ['gzip', gzipSync(body)],
      ['deflate', deflateSync(body)],
      ['deflate', deflateRawSync(body)],
      ['br', brotliCompressSync(body)],
      ['gzip, br', brotliCompressSync(gzipSync(body))],
    ];
    for (const [enc, data] of cases) {
      const codings = responseCodings(enc);
      assert.ok(Array.isArray(codings));
      let stream: NodeJS.ReadableStream = Readable.from([data]);
      for (const d of decoders(codings)) stream = stream.pipe(d);
      const out = await text(stream.pipe(s.stream()));
      assert.equal(out, `token=${'*'.repeat(TOKEN.length)}`, enc);
    }
    assert.deepEqual(responseCodings('zstd'), DECODABLE_CODINGS.has('zstd') ? ['zstd'] : 'unsupported');
    assert.equal(responseCodings('gzip, compress'), 'unsupported');
    assert.deepEqual(responseCodings('identity'), []);
  });
});
