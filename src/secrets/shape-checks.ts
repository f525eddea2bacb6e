/**
 * Checks of a rule's candidate secret by its shape (rules.ts names them in
 * `validate`): a JWT that decodes to a real header and claims, a PEM block with
 * a key's body, a name in code rather than a value.
 */

/** A JWT whose header decodes to JSON naming an algorithm, type or key id, and whose payload has claims. */
export function jwtHeaderIsJson(secret: string): boolean {
  const dot = secret.indexOf('.');
  const head = secret.slice(0, dot);
  try {
    const json: unknown = JSON.parse(Buffer.from(head, 'base64url').toString('utf8'));
    if (typeof json !== 'object' || json === null || !('alg' in json || 'typ' in json || 'kid' in json)) return false;
  } catch {
    return false;
  }
  return jwtPayloadHasClaims(secret.slice(dot + 1, secret.indexOf('.', dot + 1)));
}

/**
 * A token that grants something says who it is for and until when: two claims
 * or more (`sub`, `exp`, `iat`, `iss`…). A payload of one claim (`{"foo":"bar"}`,
 * `{"some":"payload"}`) is the toy token of a library's tests and docs. A
 * payload that does not decode (encrypted, or cut) is given the benefit of the doubt.
 */
function jwtPayloadHasClaims(payload: string): boolean {
  try {
    const json: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    return typeof json !== 'object' || json === null || Array.isArray(json) || Object.keys(json).length >= 2;
  } catch {
    return true;
  }
}

/**
 * A PEM block has a real body: between its BEGIN and END lines, at least 64
 * base64 characters, and little else (string escapes and quotes of a key pasted
 * into code are fine; a program that merely builds a key is not a key).
 */
export function pemHasBody(secret: string): boolean {
  const body = secret
    .replace(/-----(?:BEGIN|END)[^-]{0,60}-----/g, '')
    .replace(/\\[nr]/g, '\n')
    .replace(/^[ \t]*[A-Za-z-]{2,20}: .*$/gm, '')
    // string concatenation of a key pasted into code: '...' + '...'
    .replace(/["'`]\s*(?:\+|\.|&)?\s*["'`]/g, '')
    .replace(/\s+/g, '');
  const unquoted = body.replace(/['"`,;\\]/g, '');
  const b64 = unquoted.replace(/[^A-Za-z0-9+/=]/g, '');
  if (b64.length < 64 || b64.length < 0.97 * unquoted.length) return false;
  return !/(.)\1{15}/.test(b64) && !/example|dummy|fake|placeholder/i.test(secret);
}

/**
 * Words strung together (`CallCredentials`, `password_hash`, `OpeningParenToken$1`):
 * a name in code, not a secret. Every lowercase chunk is a word of 3+ letters
 * with a vowel; random strings break into short vowel-less chunks.
 */
export function looksLikeIdentifier(v: string): boolean {
  const core = v.replace(/\$\d+$/, '');
  if (!/^[A-Za-z][A-Za-z0-9_.$-]*$/.test(core)) return false;
  const chunks = core.match(/[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+/g) ?? [];
  if (chunks.length === 0 || chunks.length > core.length / 3) return false;
  let wordy = 0;
  let acronyms = 0;
  for (const c of chunks) {
    if (/^[0-9]+$/.test(c)) {
      if (c.length > 2) return false;
    } else if (/^[A-Z]+$/.test(c)) {
      if (c.length > 5) return false;
      acronyms += c.length;
    } else if (c.length >= 2 && /[aeiouy]/i.test(c)) wordy += c.length;
  }
  return wordy > 0 && wordy >= 0.75 * (core.replace(/[^A-Za-z]/g, '').length - acronyms);
}
