import { randomBytes } from 'node:crypto';
import { BottleError } from '../errors.js';

const IDENTITY_RE = /^[a-z][a-z0-9-]{0,62}$/;
const ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';

/** `<agent>-<suffix>`: parallel starts of one agent never collide on names. */
export function mintIdentity(agent: string): string {
  const bytes = randomBytes(6);
  let suffix = '';
  for (const b of bytes) suffix += ALPHABET[b % ALPHABET.length];
  return `${agent}-${suffix}`;
}

/** Identities become engine names and folder names: refuse anything else. */
export function checkIdentity(identity: string): string {
  if (!IDENTITY_RE.test(identity)) {
    throw new BottleError('usage', `not a bottle identity: ${JSON.stringify(identity)}`, {
      fix: 'use an identity shown by `bot-bottle list`',
    });
  }
  return identity;
}
