import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parseSecrets, receiveSecrets, SecretsInputError } from './secrets.js';

void test('stdin secrets land in the folder, mode 600, folder 700, no temporary files left', async () => {
  const root = mkdtempSync(join(tmpdir(), 'bb-secrets-'));
  try {
    const dir = join(root, 'secrets');
    const n = await receiveSecrets(Readable.from([Buffer.from('{"egress-tokens.json":"{\\"a\\":'), Buffer.from('\\"tok\\"}","k":""}')]), dir);
    assert.equal(n, 2);
    assert.deepEqual(readdirSync(dir).sort(), ['egress-tokens.json', 'k']);
    assert.equal(readFileSync(join(dir, 'egress-tokens.json'), 'utf8'), '{"a":"tok"}');
    assert.equal(statSync(join(dir, 'k')).mode & 0o777, 0o600);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

void test('refuses what is not a flat object of plain names to strings, never echoing a value', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /no secrets on stdin/],
    ['{"a":', /not JSON/],
    ['["x"]', /must be a JSON object/],
    ['{"../escape":"v"}', /not a plain file name/],
    ['{".hidden":"v"}', /not a plain file name/],
    ['{"a/b":"v"}', /not a plain file name/],
    ['{"a":42}', /secret a is not a string/],
  ];
  for (const [text, re] of cases) {
    assert.throws(() => parseSecrets(text), (e: unknown) => e instanceof SecretsInputError && re.test(e.message) && !e.message.includes('"v"'), text);
  }
});

void test('an empty object is a valid hand-over (a bottle without bundle secrets)', async () => {
  const root = mkdtempSync(join(tmpdir(), 'bb-secrets-'));
  try {
    assert.equal(await receiveSecrets(Readable.from(['{}']), join(root, 's')), 0);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
