import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shannon } from './entropy.js';

/** The definition, with a Map per call: what `shannon` computed before its counting tables. */
function reference(s: string): number {
  const n = s.length;
  if (n === 0) return 0;
  const counts = new Map<number, number>();
  for (let i = 0; i < n; i++) counts.set(s.charCodeAt(i), (counts.get(s.charCodeAt(i)) ?? 0) + 1);
  let h = 0;
  for (const k of counts.values()) h -= (k / n) * Math.log2(k / n);
  return h;
}

void test('shannon is the reference bit for bit (the order of its sum included), and leaves no count behind', () => {
  const alphabets = [' ', 'ab', 'abcdef0123', 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-', '\u00e9\u2014\ud83d\ude00xyz'];
  let seed = 7;
  const rand = (n: number) => (((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n);
  for (let i = 0; i < 20000; i++) {
    const alphabet = alphabets[rand(alphabets.length)] ?? 'a';
    const s = Array.from({ length: rand(300) }, () => alphabet[rand(alphabet.length)]).join('');
    assert.ok(Object.is(shannon(s), reference(s)), JSON.stringify(s));
  }
  assert.equal(shannon(''), 0);
  assert.equal(shannon('aaaa'), 0);
  assert.equal(shannon('ab'), 1);
});
