/**
 * Is a value assigned to a secret-sounding name a secret? The generic rule
 * matches on the name (`secretRef`, `api_key`, `PASSWORD`); this decides on
 * the value, because on real code most such names hold something else: a
 * path or key in a secret store (`kv/scheduler/cursor`, `projects/p/secrets/s`,
 * an ARN), a URL without credentials, an identifier or a few words
 * (`notifications/currency`, `password-reset-route`), a template or an
 * environment look-up (`${DB_PASSWORD}`, `{{ .Values.token }}`), or code.
 *
 * A value counts as a secret when, once its word-like pieces are set aside,
 * enough random-looking characters remain: a word is a run of letters that
 * reads like one (a vowel, no long consonant runs, camel-case chunks of
 * three letters or more), so a random string, which breaks into short
 * vowel-less chunks, keeps nearly all of its characters.
 */

/** References to where a secret lives, never the secret. */
const REFERENCE = [
  /^arn:aws[a-z-]*:/i,
  /^projects\/[^/]+\/(?:locations\/[^/]+\/)?secrets\//,
  /^[a-z][a-z0-9+.-]{1,30}:\/\/(?![^/@]*:[^/@]*@)/i, // a URL without user:password@
  /^(?:secret|kv|kv2|database|aws|pki|transit|auth|sys|identity)\/[A-Za-z0-9_./-]+$/, // Vault mounts
  /^\$\{|^\$\(|^\$[A-Z_][A-Z0-9_]*$|^%\(|^\{\{|^<[^>]*>$|^@Microsoft\.KeyVault\(/,
  /\.Values\.|\bvault\b|secretsmanager|keyvault|ssm:|\bsops\b/i,
];

/** Code rather than a value: comparisons, logic, member access after an operator. */
const CODE = /^[=!<>]|[!=]==?|&&|\|\||=>|\)\s*[;{]|^[A-Za-z_$][\w$]*\[/;

const PASSWORD_SYMBOL = /[A-Za-z0-9][!#$%^&*+=~@?][A-Za-z0-9]/;

function classes(s: string): number {
  return Number(/[a-z]/.test(s)) + Number(/[A-Z]/.test(s)) + Number(/[0-9]/.test(s)) + Number(/[^A-Za-z0-9]/.test(s));
}

const CHUNK = /[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+/g;
const VOWEL = /[aeiouy]/i;
const CONSONANT_RUN = /[bcdfghjklmnpqrstvwxz]{5}/i;

/** A run of letters and digits that reads as a word, a camelCase name or a number. */
export function wordy(piece: string): boolean {
  if (piece.length <= 3) return true;
  const chunks = piece.match(CHUNK) ?? [];
  if (chunks.length === 0) return false;
  let letters = 0;
  let digits = 0;
  for (let i = 0; i < chunks.length; i++) {
    const c = chunks[i];
    if (c.charCodeAt(0) >= 48 && c.charCodeAt(0) <= 57) {
      digits += c.length;
      continue;
    }
    letters += c.length;
    if (/^[A-Z]+$/.test(c)) {
      // an acronym (HTTP, URL, AWS): short
      if (c.length > 5) return false;
      continue;
    }
    if (c.length < 3 && chunks.length > 1) return false;
    if (!VOWEL.test(c) || CONSONANT_RUN.test(c)) return false;
  }
  // Digits only: a number, a port, an id. Letters with a few digits: `v2`, `oauth2`, `s3`.
  if (letters === 0) return true;
  if (digits > 4 || digits > letters / 2) return false;
  return chunks.length <= Math.max(1, Math.floor(piece.length / 3));
}

/** Characters of `value` outside word-like pieces (split on anything not a letter or digit). */
export function randomChars(value: string): { total: number; longest: number } {
  let total = 0;
  let longest = 0;
  const pieces = value.split(/[^A-Za-z0-9]+/);
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i];
    if (piece === '' || wordy(piece)) continue;
    total += piece.length;
    longest = Math.max(longest, piece.length);
  }
  return { total, longest };
}

/** The generic rule's decision on a value found after a secret-sounding name. */
export function secretLikeValue(value: string): boolean {
  if (REFERENCE.some((r) => r.test(value))) return false;
  if (CODE.test(value)) return false;
  const { total, longest } = randomChars(value);
  if (total >= 10 || longest >= 8) return true;
  // A password: symbols between letters and digits of three or more kinds (`PLeeaw^Hw5PX*281`).
  return total >= 4 && value.length >= 10 && PASSWORD_SYMBOL.test(value) && classes(value) >= 4;
}
