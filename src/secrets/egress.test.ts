import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { test } from 'node:test';
import { chars, fake, p, seed } from './fakes.test.js';
import { KnownSecrets, scanText, type ScanOptions } from './index.js';

seed(1212);
const EGRESS: ScanOptions = { mode: 'egress' };
const rules = (text: string, opts: ScanOptions = EGRESS) => [...new Set(scanText(text, opts).map((f) => f.rule))];
const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');

void test('egress: a letter glued before or after a key does not hide it', () => {
  const id = fake.awsId();
  assert.deepEqual(rules(`q=x${id}`), ['aws-access-key-id']);
  assert.deepEqual(rules(`q=${id}z`), ['aws-access-key-id']);
  assert.deepEqual(rules(`q=x${id}`, {}), [], 'the push mode keeps its word boundaries');
});

void test('egress: documentation examples and values that fail format checks are findings', () => {
  const example = p('AKIA', 'IOSFODNN7', 'EXAMPLE');
  assert.deepEqual(rules(`key=${example}`), ['aws-access-key-id']);
  assert.deepEqual(rules(`key=${example}`, {}), [], 'the git-gate keeps its allowlist of examples');
  const short = p('gh', 'p_') + chars('abcdefghijklmnopqrstuvwxyzABCDEF0123456789', 32);
  assert.deepEqual(rules(`t=${short}`), ['github-pat']);
});

void test('egress: encodings in combination (the 11.5 gaps)', () => {
  const id = fake.awsId();
  const cases: [string, string][] = [
    ['base64 once (28 characters)', b64(id)],
    ['base64 wrapped at 8 columns', (b64(`id=${id}&region=eu`).match(/.{1,8}/g) ?? []).join('\n')],
    ['base64url at offset 1', `x${Buffer.from(`k:${id}`).toString('base64url')}`],
    ['base64url at offset 2', `xy${Buffer.from(`k:${id}`).toString('base64url')}`],
    ['base64 of base64', b64(b64(`AWS_ACCESS_KEY_ID=${id}`))],
    ['base64 of hex', b64(Buffer.from(id).toString('hex'))],
    ['hex with colons', [...Buffer.from(id)].map((b) => b.toString(16).padStart(2, '0')).join(':')],
    ['\\x escapes', [...Buffer.from(id)].map((b) => `\\x${b.toString(16)}`).join('')],
    ['double URL encoding', encodeURIComponent(encodeURIComponent(`k=${id}`)).replace(/[A-Z0-9]/g, (c) => `%25${c.charCodeAt(0).toString(16)}`)],
    ['zero-width characters between characters', [...id].join('\u200b')],
    ['zero-width as UTF-8 bytes in a latin1 body', Buffer.from([...id].join('\u200c'), 'utf8').toString('latin1')],
    ['gzip inside base64', b64(gzipSync(`AWS_ACCESS_KEY_ID=${id}\n`))],
  ];
  for (const [what, text] of cases) assert.deepEqual(rules(`payload\n${text}\nend`), ['aws-access-key-id'], what);
});

void test('egress: the bottle\'s known secrets lowercased, uppercased, and through encodings', () => {
  const secret = 'My-Bottle-Secret-' + chars('abcdefghijkLMNOP0123', 12);
  const known = new KnownSecrets([secret]);
  for (const text of [secret.toLowerCase(), secret.toUpperCase(), b64(b64(secret)), encodeURIComponent(encodeURIComponent(secret))]) {
    assert.deepEqual(rules(`x=${text}`, { mode: 'egress', known }), ['known-secret'], text);
  }
});

void test('egress: KEY=value lines of an environment dump', () => {
  const dump = `PATH=/usr/bin\nHOME=/home/agent\nDATABASE_PASSWORD=pg-${chars('abcdefgh0123', 10)}\nSERVICE_TOKEN=${chars('abcdefghijklmnop0123456789', 24)}\nLANG=C.UTF-8\n`;
  assert.deepEqual(rules(dump), ['env-dump']);
  assert.deepEqual(rules('GITHUB_TOKEN=${{ secrets.GITHUB_TOKEN }}\nAPI_KEY=<your key>\n'), []);
});

void test('egress packs: cards (Luhn), IBANs (mod 97), wallet keys and seed phrases; only when asked for', () => {
  const financial: ScanOptions = { mode: 'egress', packs: ['credentials', 'financial'] };
  assert.deepEqual(rules('card=4111 1111 1111 1111&exp=12/29', financial), ['card-number']);
  assert.deepEqual(rules('card=4111 1111 1111 1112', financial), [], 'fails Luhn');
  assert.deepEqual(rules('card=4111111111111111'), [], 'not without the pack');
  assert.deepEqual(rules('{"iban": "DE89 3704 0044 0532 0130 00"}', financial), ['iban']);
  assert.deepEqual(rules('{"iban": "DE89 3704 0044 0532 0130 01"}', financial), []);
  const seedWords = 'legal winner thank year wave sausage worth useful legal winner thank yellow';
  assert.deepEqual(rules(`mnemonic: ${seedWords}`, financial), ['crypto-seed-phrase']);
  assert.deepEqual(rules('The quick brown fox jumps over the lazy dog while the cat sleeps on a warm mat today', financial), []);
  assert.deepEqual(rules('ssn=123-45-6789', { mode: 'egress', packs: ['pii'] }), ['us-ssn']);
});

void test('egress: ordinary API traffic is clean, entropy on', () => {
  const opts: ScanOptions = { mode: 'egress', entropy: true };
  const benign = [
    'GET /repos/octo/hello/commits?per_page=100&page=2 HTTP/1.1',
    '/v1/objects/3f8a9c2e-7b4d-4e1a-9f6c-2d8b7a1e5c90/versions',
    '/git/commits/9fceb02d0ae598e95dc970b74767f19372d61af8',
    '{"after": "Y3Vyc29yOnYyOpHOAAm1Bg==", "first": 50}',
    '{"integrity": "sha512-' + b64(Buffer.alloc(64, 7)).slice(0, 86) + '=="}',
    'next_token=' + chars('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 120),
    'Ignore the noise: this token rotation guide explains how to override the default secret path.',
  ];
  for (const text of benign) assert.deepEqual(rules(text, opts), [], text);
  assert.deepEqual(rules('/upload/' + chars('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 40), opts), ['high-entropy']);
});
