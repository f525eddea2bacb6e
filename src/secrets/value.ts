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
  /^\{[A-Za-z_][\w.-]*\}$/, // a one-brace template: `{OPTIONAL_CLIENT_SECRET}`, `{api_key}`
  /\/aws4_request$/, // an AWS SigV4 credential scope (key id/date/region/service): names the key, never holds its secret
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
const CAPS_CONSONANT_RUN = /[BCDFGHJKLMNPQRSTVWXZ]{4}/;

/** A word in capitals (`REQUESTED`, `CREDENTIALS`): a quarter of its letters vowels, no four consonants in a row. */
function capsWord(c: string): boolean {
  const vowels = c.replace(/[^AEIOUY]/g, '').length;
  return vowels * 4 >= c.length && !CAPS_CONSONANT_RUN.test(c);
}

/**
 * A run of letters and digits that reads as a word, a camelCase name or a number.
 * `caps`: the value is written in capitals (a SNAKE_CASE constant, `AWS4-HMAC-SHA256`),
 * so a long run of capitals may be a word rather than random.
 */
export function wordy(piece: string, caps = false): boolean {
  if (piece.length <= 3) return true;
  const chunks = piece.match(CHUNK) ?? [];
  if (chunks.length === 0) return false;
  const camel = /[A-Z]/.test(piece) && /[a-z]/.test(piece);
  let letters = 0;
  let digits = 0;
  let words = 0;
  let short = 0;
  let abbreviations = 0;
  let longAcronym = false;
  for (let i = 0; i < chunks.length; i++) {
    const c = chunks[i];
    if (c.charCodeAt(0) >= 48 && c.charCodeAt(0) <= 57) {
      digits += c.length;
      continue;
    }
    letters += c.length;
    if (/^[A-Z]+$/.test(c)) {
      // an acronym (HTTP, URL, AWS): short; in a value written in capitals, a word. Two acronyms run together
      // start a PascalCase type name (`AWSSDKCredentialProvider`): allowed there, before two words (below).
      if (c.length > 5 && !(caps && capsWord(c))) {
        if (i !== 0 || c.length > 8 || !camel) return false;
        longAcronym = true;
        continue;
      }
      if (c.length <= 2) short++;
      else if (c.length > 5) words++;
      continue;
    }
    if (c.length < 3) {
      // a lower-case bit between digits (`u8`, `9x`) is how random text reads;
      // `My`, `Is`, `Db` in a camelCase name are allowed while the name is mostly longer words (below)
      if (c.charCodeAt(0) >= 97 && chunks.length > 1) return false;
      short++;
      continue;
    }
    // three letters without a vowel in a camelCase name are an abbreviation (`Str`, `jwt`, `ctx`)
    if (c.length === 3 && camel && !VOWEL.test(c)) {
      abbreviations++;
      continue;
    }
    if (!VOWEL.test(c) || CONSONANT_RUN.test(c)) return false;
    words += c.length > 3 ? 1 : 0.5; // `Key`, `Api`, `Url`: half a word
  }
  if (longAcronym && words < 2) return false;
  // Digits only: a number, a port, an id. Letters with a few digits: `v2`, `oauth2`, `s3`, `Ed25519PrivateKey`.
  if (letters === 0) return true;
  // Random text breaks into many one- and two-letter chunks; a name that has such chunks (or an abbreviation)
  // has two words of four letters or more, and more words than short chunks.
  // A type parameter's name ends in one capital after a word (`_ProviderT`, `_AzureApiKeyT`): not a short chunk.
  const typeParameter = words >= 1 && /[a-z][A-Z]$/.test(piece) ? 1 : 0;
  const shortChunks = short - typeParameter;
  if ((shortChunks > 0 || abbreviations > 0) && (words < 2 || shortChunks > words)) return false;
  // A word and a number (`token123`, `v2`); more digits than that is hex or random.
  if (digits > Math.max(3, letters / 2) || (digits > 4 && words < 2)) return false;
  return chunks.length <= Math.max(1, Math.floor(piece.length / 3));
}

/**
 * Typed by hand on the home row (`lsdajfh923874`, `sdf0o9823sjdfsdf`): the example
 * tokens of documentation, not a generated secret. Lower case and digits only,
 * six letters or more, and at least three in four of them from `asdfghjkl`
 * (random letters: about a third; a random 16-character value of this alphabet
 * gets there about once in a thousand, a mixed-case password is never judged).
 */
const HOME_ROW = /[asdfghjkl]/g;
export function keyboardMash(value: string): boolean {
  if (!/^[a-z0-9]+$/.test(value) || /^[0-9a-f]+$/.test(value)) return false; // hex is not typed: a, d, f are half its letters
  const letters = value.replace(/[^a-z]/g, '');
  if (letters.length < 6) return false;
  return (letters.match(HOME_ROW)?.length ?? 0) >= letters.length * 0.75;
}

/** Characters of `value` outside word-like pieces (split on anything not a letter or digit). */
export function randomChars(value: string): { total: number; longest: number } {
  let total = 0;
  let longest = 0;
  // Pieces in capitals of a value with separators (`_STS_REQUESTED_TOKEN_TYPE`, `$NEXTAUTH3`) may be words;
  // a value that is one run of capitals and digits (a base32 secret) is not given that benefit.
  const separated = /[^A-Za-z0-9]/.test(value);
  const pieces = value.split(/[^A-Za-z0-9]+/);
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i];
    if (piece === '' || wordy(piece, separated && !/[a-z]/.test(piece))) continue;
    total += piece.length;
    longest = Math.max(longest, piece.length);
  }
  return { total, longest };
}

/** The generic rule's decision on a value found after a secret-sounding name. */
export function secretLikeValue(value: string): boolean {
  if (REFERENCE.some((r) => r.test(value))) return false;
  if (CODE.test(value)) return false;
  if (keyboardMash(value) || keyboardMash(/^[A-Za-z0-9]*/.exec(value)?.[0] ?? '')) return false;
  const { total, longest } = randomChars(value);
  if (total >= 10 || longest >= 8) return true;
  // A password: symbols between letters and digits of three or more kinds (`PLeeaw^Hw5PX*281`).
  return total >= 4 && value.length >= 10 && PASSWORD_SYMBOL.test(value) && classes(value) >= 4;
}
