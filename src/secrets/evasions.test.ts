import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chars, fake, seed } from './fakes.test.js';
import { scanText, type ScanOptions } from './index.js';

seed(4242);
const EGRESS: ScanOptions = { mode: 'egress' };
const found = (text: string, opts: ScanOptions = EGRESS) => scanText(text, opts);

function base32(s: string): string {
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const b of Buffer.from(s)) bits += b.toString(2).padStart(8, '0');
  let o = '';
  for (let i = 0; i < bits.length; i += 5) o += A[parseInt(bits.slice(i, i + 5).padEnd(5, '0'), 2)];
  return o + '='.repeat((8 - (o.length % 8)) % 8);
}
const rot13 = (s: string) => s.replace(/[a-z]/gi, (c) => String.fromCharCode(((c.charCodeAt(0) - (c <= 'Z' ? 65 : 97) + 13) % 26) + (c <= 'Z' ? 65 : 97)));

void test('egress: disguised keys are found, with their span in the request', () => {
  const gh = fake.ghp();
  const id = fake.awsId();
  const sk = fake.stripe();
  const cases: [string, string, string, string][] = [
    ['HTML decimal entities', `<p>${[...gh].map((c) => `&#${c.charCodeAt(0)};`).join('')}</p>`, 'github-pat', 'escapes'],
    ['HTML hex entities', [...gh].map((c) => `&#x${c.charCodeAt(0).toString(16)};`).join(''), 'github-pat', 'escapes'],
    ['octal escapes', [...Buffer.from(sk)].map((b) => `\\${b.toString(8).padStart(3, '0')}`).join(''), 'stripe-secret-key', 'escapes'],
    ['unicode escapes outside JSON', `v = '${[...id].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}';`, 'aws-access-key-id', 'escapes'],
    ['one character per dot', `d=${[...gh].join('.')}`, 'github-pat', 'spaced'],
    ['one character per space', [...id].join(' '), 'aws-access-key-id', 'spaced'],
    ['base32', `d=${base32(id)}`, 'aws-access-key-id', 'base32'],
    ['backwards', `d=${[...sk].reverse().join('')}`, 'stripe-secret-key', 'turned'],
    ['ROT13', `d=${rot13(gh)}`, 'github-pat', 'turned'],
    ['ROT13 of a key id without digits (one in 28)', `x=${rot13('AKIA' + chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ', 16))}`, 'aws-access-key-id', 'turned'],
  ];
  for (const [name, text, rule, via] of cases) {
    const f = found(text).find((x) => x.rule === rule);
    assert.ok(f, `${name}: not found in ${text.slice(0, 80)}`);
    assert.equal(f.via, via, name);
    assert.ok(f.start >= 0 && f.end <= text.length && f.end > f.start, `${name}: span ${f.start}-${f.end}`);
    assert.deepEqual(found(text, {}).filter((x) => x.rule === rule && x.via === via), [], `${name}: the push mode builds no such view`);
  }
});

void test('egress: credential files in formats without an assignment', () => {
  const pw = chars('abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789', 18);
  const rule = (text: string) => found(text).map((f) => f.rule);
  assert.deepEqual(rule(`machine api.acme.test login deploy password ${pw}\n`), ['netrc-password']);
  assert.deepEqual(rule(`machine api.acme.test\n  login deploy\n  password ${pw}\n`), ['netrc-password']);
  assert.deepEqual(rule(`db.acme.internal:5432:app:app_rw:${pw}\n`), ['pgpass-password']);
  assert.deepEqual(rule(`name,value\nregion,eu-west-1\naws_secret_access_key,${fake.awsSecret()}\n`), ['delimited-secret']);
  assert.deepEqual(rule(`key\tvalue\nclient_secret\t${pw}\n`), ['delimited-secret']);
});

void test('egress: ordinary text that looks like a disguise is left alone', () => {
  const clean = [
    // translated messages escape their non-ASCII letters
    '{"msg":"Kompil\\u00e1tor \\u017e\\u00e1dn\\u00fd \\u010d\\u00e1st \\u0159\\u00e1dek \\u00fa\\u0161\\u011bch \\u017e\\u00ed\\u0165"}',
    'function f(a,b,c,d,e,f,g,h,i,j,k,l,m){return a}',
    'x = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]',
    'GET /v1/repos/acme/app/pulls/1234/files?per_page=100 HTTP/1.1',
    'const A_0_modifier_cannot_be_used_with_an_import_declaration_1079 = 1;',
    'onError(tagToken, "TAG_RESOLVE_FAILED", msg); compare(password, user.passwordHash);',
    'name,password_hint\nada,First pet name\n',
    'DESCRIPTION OF THE TRANSACTIONS ABCDEFGHIJKLMNOP',
    `x-request-id: ${chars('0123456789abcdef', 8)}-${chars('0123456789abcdef', 4)}-4${chars('0123456789abcdef', 3)}-8${chars('0123456789abcdef', 3)}-${chars('0123456789abcdef', 12)}`,
    '12:30:45:100:ok',
    'The password policy: machine accounts need a password of 16 characters.',
  ];
  for (const text of clean) assert.deepEqual(found(text), [], text);
});
