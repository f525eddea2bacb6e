import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeywordMatcher } from './keywords.js';
import { RULES } from './rules.js';

void test('the keyword automaton finds what a case-insensitive substring search finds', () => {
  const keywords = [...new Set(RULES.flatMap((r) => r.keywords))];
  const m = new KeywordMatcher(keywords);
  const alphabet = 'aAkKiIsS_-.:/ 29yYxXoObBeEjJpPtT\né';
  let seed = 7;
  const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff) % n);
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

void test('presentAndRuns: the keywords present() sees, and every long enough run, one ending the text too', () => {
  const keywords = [...new Set(RULES.flatMap((r) => r.keywords))];
  const m = new KeywordMatcher(keywords);
  const cls = new Uint8Array(65536);
  for (const ch of 'abcxyzABC0123') cls[ch.charCodeAt(0)] = 1;
  /** Maximal runs of class characters, `long` long, or `short` long with only blanks before them on their line. */
  const reference = (t: string, long: number, short: number): number[] => {
    const out: number[] = [];
    for (const r of t.matchAll(/[abcxyzABC0123]+/g)) {
      const len = r[0].length;
      const lineStart = t.lastIndexOf('\n', r.index - 1) + 1;
      if (len >= long || (len >= short && /^[ \t]*$/.test(t.slice(lineStart, r.index)))) out.push(r.index, r.index + len);
    }
    return out;
  };
  let seed = 11;
  const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff) % n);
  const alphabet = 'abcxyzABC0123 \t\n.=sk_';
  const texts = ['', 'abc', 'abcxyzabc', '  abcx', 'x\n  abcabc', 'AKIA0123abc', 'abc\nabcabcabcabc'];
  for (let i = 0; i < 600; i++) texts.push(Array.from({ length: rand(80) }, () => alphabet[rand(alphabet.length)]).join(''));
  for (const t of texts) {
    const runs: number[] = [];
    assert.deepEqual(m.presentAndRuns(t, cls, 8, 4, runs), m.present(t), JSON.stringify(t));
    assert.deepEqual(runs, reference(t, 8, 4), JSON.stringify(t));
  }
});

void test('a keyword with a line break is refused (presentAndRuns steps over one past each text as one)', () => {
  assert.throws(() => new KeywordMatcher(['a\nb']), /no line break/);
});

void test('the automaton is right for keywords that overlap in every way (random sets over a two-letter alphabet)', () => {
  let seed = 5;
  // Math.imul: a product past 2^53 would lose the low bits the mask keeps (the sequence would fall to zeros).
  const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff) % n);
  const word = (max: number) => Array.from({ length: 1 + rand(max) }, () => 'abAB'[rand(4)]).join('');
  for (let round = 0; round < 200; round++) {
    const m = new KeywordMatcher(Array.from({ length: 1 + rand(8) }, () => word(6).toLowerCase()));
    for (let i = 0; i < 30; i++) {
      const t = word(24);
      const got = m.present(t);
      m.keywords.forEach((k, id) => assert.equal(got[id], t.toLowerCase().includes(k), `${JSON.stringify(m.keywords)} in ${JSON.stringify(t)}: ${k}`));
    }
  }
});
