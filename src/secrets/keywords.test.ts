import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeywordMatcher } from './keywords.js';
import { RULES } from './rules.js';

void test('the keyword automaton finds what a case-insensitive substring search finds', () => {
  const keywords = [...new Set(RULES.flatMap((r) => r.keywords))];
  const m = new KeywordMatcher(keywords);
  const alphabet = 'aAkKiIsS_-.:/ 29yYxXoObBeEjJpPtT\né';
  let seed = 7;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  const texts = ['', 'AKIA', 'xxsk_live_', 'ya29.', 'Private Key', 'https://', 'eyJ', 'sk-ant-api03', 'GHP_'];
  for (let i = 0; i < 400; i++) texts.push(Array.from({ length: rand(60) }, () => alphabet[rand(alphabet.length)]).join(''));
  for (const k of keywords) texts.push(`..${k.toUpperCase()}..`, k.slice(0, -1), `${k.slice(0, 1)} ${k.slice(1)}`);
  for (const t of texts) {
    const got = m.present(t);
    m.keywords.forEach((k, id) => assert.equal(got[id], t.toLowerCase().includes(k), `${JSON.stringify(t)} ${k}`));
  }
});

void test('keywords that end inside one another are all seen (sk inside sk_live_, key inside private key)', () => {
  const m = new KeywordMatcher(['sk_live_', 'sk', 'private key', 'key', 'ke']);
  assert.deepEqual(m.present('SK_LIVE_'), [true, true, false, false, false]);
  assert.deepEqual(m.present('a private key'), [false, false, true, true, true]);
});
