/** Cheap statistics on candidate secret values: entropy and placeholder shapes. */

/**
 * Counts per UTF-16 code unit, and the units in the order they first occur: one pair of tables for every
 * call (each left zeroed), where a Map per call allocated its table and an iterator result per entry,
 * a third of what a scan allocated.
 */
const COUNTS = new Int32Array(65536);
const FIRST = new Uint16Array(65536);

/** Shannon entropy in bits per character. */
export function shannon(s: string): number {
  const n = s.length;
  if (n === 0) return 0;
  let distinct = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (COUNTS[c]++ === 0) FIRST[distinct++] = c;
  }
  // Summed in order of first occurrence, as the Map this replaced iterated: the same float, bit for bit.
  let h = 0;
  for (let k = 0; k < distinct; k++) {
    const c = FIRST[k];
    const p = COUNTS[c] / n;
    COUNTS[c] = 0;
    h -= p * Math.log2(p);
  }
  return h;
}

/** Words that mark a value as documentation or a stand-in, never a live credential. */
const PLACEHOLDER_WORDS =
  /example|dummy|fake|placeholder|xxxx|sample|changeme|change_me|change-me|your[_-]|yourkey|yoursecret|yourtoken|[_-]here\b|redacted|<[a-z _-]*>|\$\{|\{\{|%\(|\.\.\.|\*\*\*\*|not[_-]?a[_-]?real|notreal|insert[_-]|replace[_-]?me|lorem/i;

/**
 * True when a value is a documentation example or placeholder: a marker word
 * (EXAMPLE, dummy, xxxx, your_api_key_here, <token>, ${VAR}, changeme…), a run
 * of 8 identical characters, an ascending/descending sequence of 6
 * (`abcdef123456`, `12345abcdef`: a random key holds one once in tens of millions),
 * a value made of such runs of 4 (`abcd1234`), or hex of counting bytes.
 */
export function isPlaceholder(value: string): boolean {
  if (PLACEHOLDER_WORDS.test(value)) return true;
  let same = 1;
  let up = 1;
  let down = 1;
  let inRuns = 0; // characters in ascending or descending runs of 4 or more (`abcd1234`)
  for (let i = 1; i < value.length; i++) {
    const d = value.charCodeAt(i) - value.charCodeAt(i - 1);
    same = d === 0 ? same + 1 : 1;
    up = d === 1 ? up + 1 : 1;
    down = d === -1 ? down + 1 : 1;
    if (same >= 8 || up >= 6 || down >= 6) return true;
    const run = Math.max(up, down);
    if (run === 4) inRuns += 4;
    else if (run > 4) inRuns++;
  }
  if (value.length >= 8 && inRuns >= value.length * 0.8) return true;
  return countingBytes(value);
}

/**
 * Hex whose bytes count up or down (`000102030405…`, `0102…1f20`): a test
 * vector's stand-in key, never a generated one. Eight bytes in a row suffice.
 */
function countingBytes(value: string): boolean {
  const hex = value.startsWith('0x') ? value.slice(2) : value;
  if (hex.length < 16 || hex.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(hex)) return false;
  let up = 1;
  let down = 1;
  let prev = parseInt(hex.slice(0, 2), 16);
  for (let i = 2; i < hex.length; i += 2) {
    const b = parseInt(hex.slice(i, i + 2), 16);
    up = b === prev + 1 ? up + 1 : 1;
    down = b === prev - 1 ? down + 1 : 1;
    if (up >= 8 || down >= 8) return true;
    prev = b;
  }
  return false;
}

/** How many of lower, upper, digit, other a value uses. */
export function charClasses(s: string): number {
  let lower = 0;
  let upper = 0;
  let digit = 0;
  let other = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 97 && c <= 122) lower = 1;
    else if (c >= 65 && c <= 90) upper = 1;
    else if (c >= 48 && c <= 57) digit = 1;
    else other = 1;
  }
  return lower + upper + digit + other;
}
