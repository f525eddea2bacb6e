import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closest, editDistance, hintFor } from './hint.js';

void test('edit distance counts an adjacent swap as one edit', () => {
  assert.equal(editDistance('matches', 'matches'), 0);
  assert.equal(editDistance('matchs', 'matches'), 1);
  assert.equal(editDistance('mathces', 'matches'), 1);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('kitten', 'sitting'), 3);
});

void test('closest picks a plausible key or nothing', () => {
  const keys = ['extends', 'env', 'agent_provider', 'git-gate', 'egress', 'supervise', 'runtime'];
  assert.equal(closest('egres', keys), 'egress');
  assert.equal(closest('git_gate', keys), 'git-gate');
  assert.equal(closest('Supervise', keys), 'supervise');
  assert.equal(closest('agent-provider', keys), 'agent_provider');
  assert.equal(closest('banana', keys), undefined);
  assert.equal(hintFor('banana', ['a', 'b']), 'allowed: a, b');
  assert.equal(hintFor('envv', keys), 'did you mean `env`?');
});
