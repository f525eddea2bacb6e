/**
 * Checks behind the opt-in rule packs (`dlp.rules: [financial, pii]`): card
 * numbers pass Luhn and start like a card network's, IBANs pass their
 * country's format and mod-97 checksum (ibantools), wallet keys in Base58Check
 * carry a valid checksum, and a seed phrase is 12 to 24 words of the BIP-39
 * English list in a row.
 */
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { electronicFormatIBAN, isValidIBAN } from 'ibantools';
import { nodeCrypto } from './lazy-builtins.js';

export function luhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** Issuer prefixes and lengths of the networks people pay with (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay, Maestro). */
const CARD = /^(?:4[0-9]{12}(?:[0-9]{3}){0,2}|(?:5[1-5][0-9]{2}|222[1-9]|22[3-9][0-9]|2[3-6][0-9]{2}|27[01][0-9]|2720)[0-9]{12}|3[47][0-9]{13}|6(?:011|5[0-9]{2}|4[4-9][0-9])[0-9]{12,15}|35(?:2[89]|[3-8][0-9])[0-9]{12,15}|3(?:0[0-5]|[68][0-9])[0-9]{11,16}|62[0-9]{14,17}|(?:5018|5020|5038|6304|6759|676[1-3])[0-9]{8,15})$/;

export function cardNumber(match: string): boolean {
  const seps = new Set(match.replace(/[0-9]/g, ''));
  if (seps.size > 1) return false;
  const digits = match.replace(/[^0-9]/g, '');
  if (/^(\d)\1+$/.test(digits)) return false;
  return CARD.test(digits) && luhn(digits);
}

export function iban(match: string): boolean {
  const e = electronicFormatIBAN(match);
  return e !== null && isValidIBAN(e);
}

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

function base58(s: string): Buffer | undefined {
  let n = 0n;
  for (const ch of s) {
    const v = BASE58.indexOf(ch);
    if (v < 0) return undefined;
    n = n * 58n + BigInt(v);
  }
  let hex = n.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  let zeros = 0;
  while (s[zeros] === '1') zeros++;
  return Buffer.concat([Buffer.alloc(zeros), Buffer.from(hex, 'hex')]);
}

function sha256(b: Uint8Array): Buffer {
  return nodeCrypto().createHash('sha256').update(b).digest();
}

/** Base58Check: the last 4 bytes are the first 4 of the double SHA-256 of the rest. */
export function base58Check(s: string): boolean {
  const b = base58(s);
  if (b === undefined || b.length < 5) return false;
  const body = b.subarray(0, b.length - 4);
  const sum = sha256(sha256(body));
  return sum.subarray(0, 4).equals(b.subarray(b.length - 4));
}

const WORDS = new Set<string>(wordlist);

/** 12 or more BIP-39 words in a row (a 12-24 word mnemonic). */
export function seedPhrase(match: string): boolean {
  let run = 0;
  let best = 0;
  for (const w of match.toLowerCase().split(/[\s,]+/)) {
    if (w === '') continue;
    run = WORDS.has(w) ? run + 1 : 0;
    best = Math.max(best, run);
  }
  return best >= 12;
}
