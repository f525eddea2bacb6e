import assert from 'node:assert/strict';
import { test } from 'node:test';
import { customRepository } from './agent-image.js';

void test("each bottle's own Dockerfile gets its own repository, so one's build never prunes another's image", () => {
  const a = customRepository('shell', '/home/u/.bot-bottle/bottles/a/Dockerfile');
  const b = customRepository('shell', '/home/u/.bot-bottle/bottles/b/Dockerfile');
  assert.notEqual(a, b);
  assert.equal(a, customRepository('shell', '/home/u/.bot-bottle/bottles/x/../a/Dockerfile'), 'the same file, however it is spelled');
  assert.notEqual(a, customRepository('claude', '/home/u/.bot-bottle/bottles/a/Dockerfile'));
  // A valid Docker repository name: lower case, digits, separators.
  assert.match(a, /^bot-bottle\/agent-shell-custom-[0-9a-f]{10}$/);
});
