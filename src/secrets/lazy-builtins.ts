/**
 * Node builtins the scanner needs only on rare paths, loaded at their first
 * use instead of at every `bot-bottle scan`:
 * - node:crypto (about 8 ms of CPU to load): a push scan needs it only for a
 *   Base58 key (egress-only) or a host without /dev/urandom;
 * - node:zlib (about 2 ms beyond what child_process already loads): only a
 *   base64 run or a blob that starts like gzip or zlib data is inflated.
 */
import { createRequire } from 'node:module';

const load = (name: string): unknown => createRequire(import.meta.url)(name);
let crypto: typeof import('node:crypto') | undefined;
let zlib: typeof import('node:zlib') | undefined;

export function nodeCrypto(): typeof import('node:crypto') {
  crypto ??= load('node:crypto') as typeof import('node:crypto');
  return crypto;
}

export function nodeZlib(): typeof import('node:zlib') {
  zlib ??= load('node:zlib') as typeof import('node:zlib');
  return zlib;
}
