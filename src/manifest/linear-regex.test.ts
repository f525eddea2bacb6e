import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileWhole, linearRegexProblem } from './linear-regex.js';

void test('whole-string matching, as the policy means it', () => {
  const re = compileWhole('/api/v[0-9]+/.*');
  assert.equal(re.test('/api/v2/users'), true);
  assert.equal(re.test('/x/api/v2/users'), false, 'anchored at the start');
  assert.equal(compileWhole('/a|/b').test('/b'), true, 'alternation inside the anchors');
  assert.equal(compileWhole('/a|/b').test('/a/b'), false);
});

void test('a catastrophic pattern for a backtracking engine answers a 10 KB crafted input at all', () => {
  // V8 would take longer than the age of the universe on this (2^10000 paths); RE2 walks the input once.
  const re = compileWhole('/(a+)+');
  assert.equal(re.test(`/${'a'.repeat(10_000)}!`), false);
  assert.equal(re.test(`/${'a'.repeat(10_000)}`), true);
  assert.equal(compileWhole('(x+x+)+y').test('x'.repeat(10_000)), false);
});

void test('lookaround and backreferences are refused with the reason, never the pattern quoted back', () => {
  for (const source of ['/(?=admin)', '/(?!x).*', '(a)\\1', '(?<=a)b']) {
    const p = linearRegexProblem(source);
    assert.ok(p, source);
    assert.match(p, /^regex does not compile: .*no lookaround and no backreferences$/, p);
    assert.doesNotMatch(p, /\^\(\?:/, 'our anchors are not shown');
  }
  assert.equal(linearRegexProblem('/repos/[^/]+/issues'), undefined);
  assert.match(linearRegexProblem('/api/(v1') ?? '', /^regex does not compile: missing closing \)$/);
});
