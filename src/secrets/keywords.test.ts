import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { KeywordPass } from './keyword-pass.js';
import { KeywordMatcher } from './keywords.js';
import { RULES } from './rules.js';

void test('the keyword automaton finds what a case-insensitive substring search finds (short texts and long)', () => {
  const keywords = [...new Set(RULES.flatMap((r) => r.keywords))];
  const m = new KeywordMatcher(keywords);
  const alphabet = 'aAkKiIsS_-.:/ 29yYxXoObBeEjJpPtT\né';
  let seed = 7;
  const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff) % n);
  const texts = ['', 'AKIA', 'xxsk_live_', 'ya29.', 'Private Key', 'https://', 'eyJ', 'sk-ant-api03', 'GHP_'];
  for (let i = 0; i < 400; i++) texts.push(Array.from({ length: rand(60) }, () => alphabet[rand(alphabet.length)]).join(''));
  for (const k of keywords) texts.push(`..${k.toUpperCase()}..`, k.slice(0, -1), `${k.slice(0, 1)} ${k.slice(1)}`);
  // Long texts (the WebAssembly pass reads those), with a keyword or not, and with a character above 0xff.
  for (let i = 0; i < 60; i++) {
    const k = keywords[rand(keywords.length)];
    const filler = Array.from({ length: 300 + rand(300) }, () => alphabet[rand(alphabet.length)]).join('');
    texts.push(filler, `${filler}${k.toUpperCase()}`, `${k}${filler}\u2019`, `${filler.slice(0, 100)}${k}${filler}`);
  }
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

void test('the WebAssembly pass finds what the JavaScript loop finds (keywords, runs, keyword lines), in windows of any size', () => {
  const keywords = [...new Set(RULES.flatMap((r) => r.keywords))];
  const js = new KeywordMatcher(keywords, { webAssembly: false });
  const passes = [{}, { window: 1 }, { window: 2 }, { window: 7 }, { window: 64 }].map((o) => new KeywordMatcher(keywords, o));
  const cls = new Uint8Array(65536);
  for (const ch of 'abcxyzABC0123_') cls[ch.charCodeAt(0)] = 1;
  const lineOf = new Uint8Array(keywords.length);
  keywords.forEach((_, i) => (lineOf[i] = i % 2));
  let seed = 23;
  const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff) % n);
  const pieces = [...keywords.slice(0, 40), 'abc', 'x', '0123', ' ', '\t', '\n', '\n', '.', '=', 'é', '\xff', '\u2019'];
  const texts = ['', '\n', 'abcxyz', 'sk_live_abc'];
  for (let i = 0; i < 500; i++) texts.push(Array.from({ length: rand(40) }, () => pieces[rand(pieces.length)]).join(''));
  let wide = 0;
  let withLines = 0;
  for (const t of texts) {
    const want = { runs: [] as number[], lines: [] as number[], seen: [] as boolean[] };
    want.seen = js.presentAndRuns(t, cls, 8, 3, want.runs, lineOf, want.lines);
    if (/[\u0100-\uffff]/.test(t)) wide++;
    if (want.lines.length > 0) withLines++;
    for (const m of passes) {
      const runs: number[] = [];
      const lines: number[] = [];
      assert.deepEqual(m.presentAndRuns(t, cls, 8, 3, runs, lineOf, lines), want.seen, JSON.stringify(t));
      assert.deepEqual(runs, want.runs, JSON.stringify(t));
      assert.deepEqual(lines, want.lines, JSON.stringify(t));
    }
  }
  assert.ok(wide > 20 && withLines > 100, `${wide} texts with a wide character, ${withLines} with keyword lines`);
});

void test('the WebAssembly pass runs on one-byte text only, and its module is built from keyword-pass.wat', () => {
  const m = new KeywordMatcher(['key']);
  const pass = KeywordPass.create(new Uint8Array(128), new Int32Array(1));
  assert.ok(pass, 'this Node runs WebAssembly');
  assert.equal(pass.run('caf\xe9 key', new Uint8Array(65536), 1, 8, 4, [], () => undefined), true);
  assert.equal(pass.run('caf\u00e9 \u2019key', new Uint8Array(65536), 1, 8, 4, [], () => undefined), false);
  assert.deepEqual(m.present('a \u2019key'), [true]);
  const check = spawnSync(process.execPath, [join(import.meta.dirname, '..', '..', 'scripts', 'build-wasm.mjs'), '--check'], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stderr);
});
