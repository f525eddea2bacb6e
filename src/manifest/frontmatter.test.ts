import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManifestError } from '../errors.js';
import { parseFrontMatter } from './frontmatter.js';

const lineOfError = (text: string): number | undefined => {
  try {
    parseFrontMatter('f.md', text);
  } catch (e) {
    assert.ok(e instanceof ManifestError, String(e));
    return e.line;
  }
  assert.fail('expected a ManifestError');
};

void test('front matter and body are split; lines are file lines', () => {
  const fm = parseFrontMatter('f.md', '---\na: 1\nb:\n  c: [x, y]\n---\n# Body\n\ntext\n');
  assert.deepEqual(fm.data, { a: 1, b: { c: ['x', 'y'] } });
  assert.equal(fm.body, '# Body\n\ntext\n');
  assert.equal(fm.lineOf(['a']), 2);
  assert.equal(fm.lineOf(['b', 'c']), 4);
  assert.equal(fm.lineOf(['b', 'c', 1]), 4);
  assert.equal(fm.lineOf(['b', 'nope']), 3);
});

void test('CRLF, a BOM, an empty block and no front matter at all', () => {
  const crlf = parseFrontMatter('f.md', '\uFEFF---\r\na: 1\r\n---\r\nbody\r\n');
  assert.deepEqual(crlf.data, { a: 1 });
  assert.equal(crlf.body, 'body\r\n');
  assert.deepEqual(parseFrontMatter('f.md', '---\n---\n').data, {});
  const none = parseFrontMatter('f.md', '# Just a prompt\n');
  assert.deepEqual(none.data, {});
  assert.equal(none.body, '# Just a prompt\n');
});

void test('broken front matter is a ManifestError with a line', () => {
  assert.equal(lineOfError('---\na: 1\n'), 1);
  assert.equal(lineOfError('---\na: 1\nb: [1, 2\n---\n'), 4);
  assert.equal(lineOfError('---\n- a\n- b\n---\n'), 2);
  assert.equal(lineOfError('---\na: *nowhere\n---\n'), 2);
  assert.equal(lineOfError('---\nok: 1\nx:\n  __proto__: {polluted: true}\n---\n'), 4);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

void test('a huge front matter is refused before parsing; duplicate keys are found in one pass', () => {
  // 90,000 keys took 76 s with the YAML library's own (quadratic) duplicate check.
  const many = Array.from({ length: 90_000 }, (_, i) => `k${i}: 1`).join('\n');
  assert.equal(lineOfError(`---\n${many}\n---\n`), 1);
  try {
    parseFrontMatter('f.md', `---\n${many}\n---\n`);
  } catch (e) {
    assert.match(String(e), /front matter is [0-9]+ KiB; at most 64 KiB/);
  }
  const dups = Array.from({ length: 5000 }, (_, i) => `k${i}: 1`).join('\n') + '\nk17: 2\n';
  assert.equal(lineOfError(`---\n${dups}---\n`), 5002);
  assert.equal(lineOfError('---\na:\n  b: 1\n  c: [{d: 1, d: 2}]\n---\n'), 4);
  assert.deepEqual(parseFrontMatter('f.md', '---\na: {b: 1}\nc: {b: 2}\n---\n').data, { a: { b: 1 }, c: { b: 2 } }, 'the same key in two mappings is fine');
});

void test('a NUL written as a YAML escape is refused with its key path and line', () => {
  for (const esc of ['\\0', '\\x00', '\\u0000']) {
    try {
      parseFrontMatter('f.md', `---\nenv:\n  OK: fine\n  BAD: "a${esc}b"\n---\n`);
      assert.fail('accepted a NUL');
    } catch (e) {
      assert.ok(e instanceof ManifestError);
      assert.equal(e.line, 4);
      assert.equal(e.keyPath, 'env.BAD');
      assert.match(e.message, /contains a NUL byte/);
    }
  }
});
