import assert from 'node:assert/strict';
import { test } from 'node:test';
import { base58Check } from './financial.js';

void test('Base58Check: a checksum that matches the double SHA-256 of the body, and none that does not', () => {
  // The Bitcoin wiki's example private key in wallet import format.
  const wif = '5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ';
  assert.equal(base58Check(wif), true);
  assert.equal(base58Check(wif.slice(0, -1) + 'K'), false);
  assert.equal(base58Check(wif.slice(0, 10) + 'z' + wif.slice(11)), false);
  assert.equal(base58Check('1111'), false);
});
