/**
 * node:crypto, loaded at its first use: loading it costs about 8 ms of CPU,
 * which every `bot-bottle scan` paid at start-up though a push scan needs it
 * only for a Base58 key (egress-only) or a host without /dev/urandom.
 */
import { createRequire } from 'node:module';

let loaded: typeof import('node:crypto') | undefined;

export function nodeCrypto(): typeof import('node:crypto') {
  loaded ??= createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  return loaded;
}
