/**
 * Hiding places: transforms that turn a text into another text worth scanning,
 * each with a map from offsets in the new text back to the original.
 *
 * - base64 runs (one long run, or a block of wrapped lines) decoded when the
 *   result is text (an encoded `.env`, a `data:` URL, a Kubernetes secret);
 * - line continuations (`\` + newline) and string concatenations across
 *   lines or on one line (`"abc" +\n "def"`, `'a' . 'b'`, `"a" "b"` in C/Python), in joins.ts;
 * - printable strings inside binary content, like `strings(1)`.
 */

import { nodeZlib } from './lazy-builtins.js';

export interface Decoded {
  /** Span of the source text this was decoded from. */
  readonly start: number;
  readonly end: number;
  readonly text: string;
  /** Compressed data that inflates past the budget: nothing of it was scanned. */
  readonly tooLarge?: boolean;
  /** Map a [start, end) span of `text` to a span of the source text. */
  map(start: number, end: number): [number, number];
}

export { continuationJoin, lineSplitJoin, type Joined } from './joins.js';

// ---------------------------------------------------------------- base64

/** Base64 alphabet (standard and URL-safe), for a hand-written linear scan. */
/** A single run must be this long; a line of a wrapped block this long. */
const MIN_RUN = 32;
const MIN_LINE = 16;

const MIN_DECODED = 16;

/** The share of a text's characters that are printable ASCII, tab or a line break. */
export function printableRatio(s: string): number {
  let ok = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 32 && c < 127) || c === 9 || c === 10 || c === 13) ok++;
  }
  return s.length === 0 ? 0 : ok / s.length;
}

export interface Run {
  start: number;
  end: number;
  /** The run is alone on its line (but for blanks): a line of a wrapped block. */
  wholeLine: boolean;
}

/**
 * Maximal runs of base64 characters (then `=` padding) at least `minLine`
 * long. Found by a regex, not a loop over characters: a push is a thousand
 * short texts, and a loop runs most of them before the engine optimises it,
 * many times slower than the regex engine's compiled matcher.
 *
 * With `minLong` (> `minLine`), only the runs a decoder can use: those at
 * least `minLong` long (padding included), and shorter ones alone on their line (a line of a
 * wrapped block). On real code most runs of 16 are long identifiers and
 * paths (a push of 5 MB has 28k of them, 3k of 32 or more, 20 short ones
 * alone on a line), and every match costs a call out of the regex engine:
 * two regexes, each of one alternative, find just these.
 */
export function base64Runs(text: string, minLine: number, minLong = minLine): Run[] {
  const runs: Run[] = [];
  // A run's length counts its padding: the regex asks for two characters fewer, the length is checked here.
  const long = Math.max(minLine, minLong - 2);
  const re = runRegex(`(?:^|[^${B64_CLASS}])([${B64_CLASS}]{${long},})`);
  // Anchored on the character before the run (or the text's start): a look-behind is a third slower.
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const i = m.index + m[0].length;
    const run = runAt(text, i - (m[1] ?? '').length, i);
    if (run.wholeLine || run.end - run.start >= minLong) runs.push(run);
    // Resume at the first character after the run's base64 ones: a padding `=` can anchor the next run.
    re.lastIndex = i;
  }
  if (long === minLine) return runs;
  // Shorter runs, each alone on its line: from a line break (or the start), blanks, the run, padding, blanks, a line break.
  const short = runRegex(`(?:^|\\n)[ \\t]*([${B64_CLASS}]{${minLine},${long - 1}})={0,2}[ \\t\\r]*(?=\\n|$)`);
  short.lastIndex = 0;
  const lines: Run[] = [];
  for (let m = short.exec(text); m !== null; m = short.exec(text)) {
    const start = m.index + m[0].indexOf(m[1] ?? '');
    lines.push(runAt(text, start, start + (m[1] ?? '').length));
  }
  if (lines.length === 0) return runs;
  // Both lists are ordered and disjoint (their lengths differ): merged by start.
  const merged: Run[] = [];
  let k = 0;
  for (const r of runs) {
    while (k < lines.length && (lines[k]?.start ?? 0) < r.start) merged.push(lines[k++]);
    merged.push(r);
  }
  while (k < lines.length) merged.push(lines[k++]);
  return merged;
}

const B64_CLASS = 'A-Za-z0-9+/_-';

/** The base64 characters of the runs, as a table over every UTF-16 code unit (for a loop that reads each character once). */
export const B64_RUN_CHARS = new Uint8Array(65536);
for (const ch of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-') B64_RUN_CHARS[ch.charCodeAt(0)] = 1;

/** The regex lengths of `base64Runs(…, minLine, minLong)`: a run this long is a candidate on its own, shorter ones only alone on a line. */
export function runLengths(minLine: number, minLong: number): { long: number; short: number } {
  return { long: Math.max(minLine, minLong - 2), short: minLine };
}

/**
 * `base64Runs(text, minLine, minLong)` from the candidate runs a pass over the
 * text found (start, end pairs of maximal runs of `B64_RUN_CHARS`, as long as
 * `runLengths` says, or shorter but first on their line): the same runs, with
 * padding, `wholeLine`, and the same filter.
 */
export function runsFromSpans(text: string, spans: readonly number[], minLong: number): Run[] {
  const runs: Run[] = [];
  for (let k = 0; k < spans.length; k += 2) {
    const run = runAt(text, spans[k] ?? 0, spans[k + 1] ?? 0);
    if (run.wholeLine || run.end - run.start >= minLong) runs.push(run);
  }
  return runs;
}

/** The run [start, i) of base64 characters, with its padding (up to two `=`), and whether it is alone on its line. */
function runAt(text: string, start: number, i: number): Run {
  const n = text.length;
  let end = i;
  while (end < n && end - i < 2 && text.charCodeAt(end) === 61 /* = */) end++;
  let a = start - 1;
  while (a >= 0 && (text.charCodeAt(a) === 32 || text.charCodeAt(a) === 9)) a--;
  let b = end;
  while (b < n && (text.charCodeAt(b) === 32 || text.charCodeAt(b) === 9 || text.charCodeAt(b) === 13)) b++;
  return { start, end, wholeLine: (a < 0 || text.charCodeAt(a) === 10) && (b >= n || text.charCodeAt(b) === 10) };
}

/** The run regexes, by source. */
const B64_RUNS = new Map<string, RegExp>();

function runRegex(source: string): RegExp {
  let re = B64_RUNS.get(source);
  if (!re) B64_RUNS.set(source, (re = new RegExp(source, 'g')));
  return re;
}

/** How hard to look for base64: the git-gate looks for encoded files, the egress path for any encoded secret. */
export interface Base64Options {
  /** A single run must be this long. */
  readonly minRun: number;
  /** A line of a wrapped block must be this long, and a block this many lines. */
  readonly minLine: number;
  readonly minLines: number;
  /** Also decode from the 2nd, 3rd and 4th character (a run with junk glued before it). */
  readonly alignments: boolean;
}

export const PUSH_BASE64: Base64Options = { minRun: MIN_RUN, minLine: MIN_LINE, minLines: 2, alignments: false };
export const EGRESS_BASE64: Base64Options = { minRun: 16, minLine: 4, minLines: 3, alignments: true };

/** Output bound when a decoded run turns out to be gzip or zlib data. */
const MAX_INFLATE = 1 << 20;

/** Base64 digit values, `-` and `_` too (Node decodes both alphabets); -1 for any other character. */
const B64_VAL = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64_VAL['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.charCodeAt(i)] = i;
B64_VAL[45 /* - */] = 62;
B64_VAL[95 /* _ */] = 63;

/**
 * True when the bytes `body` decodes to surely fail the printable test
 * (under 92% printable), told from the first byte of every 4-character group
 * (the first character and the top of the second) without decoding: most
 * long runs in code are identifiers and paths, whose letters past `f` make
 * that byte 128 or more. False when unsure: padding inside (a wrapped block
 * has it at line ends), or a first byte that may start a gzip or zlib stream.
 */
function surelyNotText(body: string): boolean {
  const n = body.length;
  if (body.includes('=')) return false;
  let bad = 0;
  for (let i = 0; i + 1 < n; i += 4) {
    const hi = body.charCodeAt(i);
    const lo = body.charCodeAt(i + 1);
    const v0 = hi < 128 ? (B64_VAL[hi] ?? -1) : -1;
    const v1 = lo < 128 ? (B64_VAL[lo] ?? -1) : -1;
    if (v0 < 0 || v1 < 0) return false;
    const b = (v0 << 2) | (v1 >> 4);
    if (i === 0 && (b === 0x1f || b === 0x78)) return false;
    if (!((b >= 32 && b < 127) || b === 9 || b === 10 || b === 13)) bad++;
  }
  // At most ceil(3n/4) bytes: past 8% of them not printable, the test fails.
  return bad > 0.08 * Math.ceil((3 * n) / 4);
}

function decodeAt(chars: string, k: number, opts: Base64Options): { text: string; skip: number; tooLarge?: boolean } | undefined {
  const body = chars.slice(k);
  if (surelyNotText(body)) return undefined;
  const bytes = Buffer.from(body, 'base64');
  const inflated = inflateSniff(bytes, MAX_INFLATE);
  if (inflated === 'too-large') return { text: '', skip: -1, tooLarge: true };
  if (inflated !== undefined) {
    const s = inflated.toString('latin1');
    return printableRatio(s) >= 0.92 ? { text: s, skip: -1 } : { text: binaryStringsOf(inflated), skip: -1 };
  }
  if (bytes.length < (opts.alignments ? 12 : MIN_DECODED)) return undefined;
  const s = bytes.toString('latin1');
  return printableRatio(s) >= 0.92 ? { text: s, skip: k } : undefined;
}

/** A decoded run (from `start` to `end` of the text, `n` base64 characters at `pos`, or from `start` on) as a view. */
function decodedRun(start: number, end: number, n: number, pos: number[] | undefined, d: { text: string; skip: number; tooLarge?: boolean }): Decoded {
  const at = (i: number): number => (pos ? (pos[i] ?? end - 1) : start + i);
  return {
    start,
    end,
    text: d.text,
    ...(d.tooLarge ? { tooLarge: true } : {}),
    map:
      d.skip < 0
        ? () => [start, end]
        : (ds, de) => {
            const s = d.skip + Math.floor(ds / 3) * 4;
            const e = Math.min(n, d.skip + Math.ceil(de / 3) * 4);
            return [at(s), at(Math.max(s, e - 1)) + 1];
          },
  };
}

export function findBase64Runs(text: string, opts: Base64Options = PUSH_BASE64, runs: readonly Run[] = base64Runs(text, opts.minLine)): Decoded[] {
  const out: Decoded[] = [];
  for (let r = 0; r < runs.length; r++) {
    const first = runs[r];
    // A wrapped block: consecutive whole lines of base64, each but the last as long as the first.
    let last = r;
    if (first.wholeLine) {
      const width = first.end - first.start;
      while (last + 1 < runs.length) {
        const prev = runs[last];
        const next = runs[last + 1];
        if (!next.wholeLine || prev.end - prev.start !== width || next.end - next.start > width) break;
        if (text.slice(prev.end, next.start).replace(/[ \t\r]/g, '') !== '\n') break;
        last++;
      }
    }
    let pos: number[] | undefined;
    let chars: string;
    const start = first.start;
    const end = runs[last].end;
    if (last > r && last - r + 1 >= (first.end - first.start >= MIN_LINE ? 2 : opts.minLines)) {
      pos = [];
      chars = '';
      for (let k = r; k <= last; k++) {
        const run = runs[k];
        chars += text.slice(run.start, run.end);
        for (let p = run.start; p < run.end; p++) pos.push(p);
      }
      r = last;
    } else {
      if (first.end - first.start < opts.minRun) continue;
      chars = text.slice(first.start, first.end);
    }
    for (let k = 0; k < (opts.alignments ? 4 : 1); k++) {
      const d = decodeAt(chars, k, opts);
      if (d === undefined) continue;
      out.push(decodedRun(start, end, chars.length, pos, d));
      break;
    }
  }
  return out;
}

/**
 * gzip or zlib data (by its magic bytes) inflated, bounded by `cap` bytes of
 * output: the bytes, `too-large` past the cap, or undefined when it is
 * neither or does not inflate.
 */
export function inflateSniff(bytes: Uint8Array, cap: number): Buffer | 'too-large' | undefined {
  if (bytes.length < 10) return undefined;
  const gzip = bytes[0] === 0x1f && bytes[1] === 0x8b && bytes[2] === 8;
  const zlib = bytes[0] === 0x78 && (bytes[1] === 0x01 || bytes[1] === 0x5e || bytes[1] === 0x9c || bytes[1] === 0xda);
  if (!gzip && !zlib) return undefined;
  try {
    const z = nodeZlib();
    return gzip ? z.gunzipSync(bytes, { maxOutputLength: cap }) : z.inflateSync(bytes, { maxOutputLength: cap });
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError ? 'too-large' : undefined;
  }
}

/**
 * Raw deflate (no header, so no magic bytes to sniff) inflated when the bytes
 * are not text and inflate whole to mostly printable text: what `zlib.deflateRaw`
 * of a credentials file looks like. `too-large` past `cap`.
 */
export function inflateRawSniff(bytes: Uint8Array, cap: number): Buffer | 'too-large' | undefined {
  if (bytes.length < 8 || printableRatio(Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 512)).toString('latin1')) >= 0.92) return undefined;
  try {
    const out = nodeZlib().inflateRawSync(bytes, { maxOutputLength: cap });
    return out.length > 0 && printableRatio(out.subarray(0, 4096).toString('latin1')) >= 0.92 ? out : undefined;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError ? 'too-large' : undefined;
  }
}

// ---------------------------------------------------------------- hex

const HEX_VAL = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX_VAL['0123456789abcdef'.charCodeAt(i)] = i;
  HEX_VAL['0123456789ABCDEF'.charCodeAt(i)] = i;
}
const hexVal = (c: number) => (c < 128 ? (HEX_VAL[c] ?? -1) : -1);
/** 20 bytes: shorter hex is an id or a hash, not an encoded file. */
const MIN_HEX = 40;
const HEX_RUNS = new Map<number, RegExp>();

/**
 * Runs of hex digits (an encoded `.env`, `xxd -p` output) decoded when the
 * result is text. Hex digits are base64 characters, so a run of them lies
 * within a run of those: looked for only there (`runs`, when the caller has
 * them, saves a pass over the text).
 */
export function findHexRuns(text: string, minHex = MIN_HEX, runs: readonly Run[] = base64Runs(text, minHex)): Decoded[] {
  const out: Decoded[] = [];
  let re = HEX_RUNS.get(minHex);
  if (!re) HEX_RUNS.set(minHex, (re = new RegExp(`[0-9A-Fa-f]{${minHex},}`, 'g')));
  for (let r = 0; r < runs.length; r++) {
    const run = runs[r];
    if (run.end - run.start < minHex) continue;
    // The run's maximal runs of hex digits that are long enough, by the regex engine (on a slice: a view, not a copy).
    const slice = text.slice(run.start, run.end);
    re.lastIndex = 0;
    for (let m = re.exec(slice); m !== null; m = re.exec(slice)) {
      const start = run.start + m.index;
      const len = m[0].length & ~1;
      if (len < minHex) continue;
      let decoded = '';
      for (let k = start; k < start + len; k += 2) decoded += String.fromCharCode(hexVal(text.charCodeAt(k)) * 16 + hexVal(text.charCodeAt(k + 1)));
      if (printableRatio(decoded) < 0.92) continue;
      out.push({ start, end: start + len, text: decoded, map: (ds, de) => [start + 2 * ds, start + 2 * de] });
    }
  }
  return out;
}

// ---------------------------------------------------------------- URL encoding

const URL_CHAR = new Uint8Array(128);
for (const ch of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789%._~+-/=:&?!$'()*,;@") URL_CHAR[ch.charCodeAt(0)] = 1;
const isUrlChar = (c: number) => c < 128 && URL_CHAR[c] === 1;
const PERCENT_ESCAPE = /%[0-9A-Fa-f]{2}/g;

/**
 * Runs of URL characters with at least two `%XX` escapes (a key in a query
 * string, a form body), percent-decoded byte for byte (`+` stays `+`: it is
 * a base64 character more often than a space in a secret).
 */
export function findUrlEncoded(text: string): Decoded[] {
  const out: Decoded[] = [];
  if (!text.includes('%')) return out;
  const n = text.length;
  // Only runs with an escape matter: found from the escapes (a regex), widened to whole runs.
  PERCENT_ESCAPE.lastIndex = 0;
  let i = 0;
  for (let m = PERCENT_ESCAPE.exec(text); m !== null; m = PERCENT_ESCAPE.exec(text)) {
    if (m.index < i) continue;
    let start = m.index;
    while (start > 0 && isUrlChar(text.charCodeAt(start - 1))) start--;
    i = start;
    let escapes = 0;
    while (i < n && isUrlChar(text.charCodeAt(i))) {
      if (text.charCodeAt(i) === 37 && hexVal(text.charCodeAt(i + 1)) >= 0 && hexVal(text.charCodeAt(i + 2)) >= 0) escapes++;
      i++;
    }
    if (escapes < 2 || i - start < 16) continue;
    let decoded = '';
    const pos: number[] = [];
    for (let k = start; k < i; k++) {
      const c = text.charCodeAt(k);
      if (c === 37 && k + 2 < i + 1 && hexVal(text.charCodeAt(k + 1)) >= 0 && hexVal(text.charCodeAt(k + 2)) >= 0) {
        decoded += String.fromCharCode(hexVal(text.charCodeAt(k + 1)) * 16 + hexVal(text.charCodeAt(k + 2)));
        pos.push(k);
        k += 2;
      } else {
        decoded += text[k];
        pos.push(k);
      }
    }
    pos.push(i);
    const end = i;
    out.push({
      start,
      end,
      text: decoded,
      // the end of a decoded char is where the next one starts
      map: (ds, de) => [pos[ds] ?? start, pos[de] ?? end],
    });
  }
  return out;
}

// ---------------------------------------------------------------- binary

/** Git's heuristic: a NUL byte in the first 8000 bytes. */
export function isBinary(buf: Uint8Array): boolean {
  const n = Math.min(buf.length, 8000);
  for (let i = 0; i < n; i++) if (buf[i] === 0) return true;
  return false;
}

const MIN_STRING = 8;

/**
 * Printable runs of at least 8 characters (ASCII, and UTF-16LE as Windows
 * binaries store them), one per line, like `strings -n 8`.
 */
export function binaryStrings(buf: Uint8Array): string {
  return binaryStringsOf(buf);
}

function binaryStringsOf(buf: Uint8Array): string {
  const runs: string[] = [];
  const printable = (c: number) => (c >= 32 && c < 127) || c === 9;
  let start = -1;
  for (let i = 0; i <= buf.length; i++) {
    const c = i < buf.length ? buf[i] : 0;
    if (printable(c)) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      if (i - start >= MIN_STRING) runs.push(Buffer.from(buf.subarray(start, i)).toString('latin1'));
      start = -1;
    }
  }
  // UTF-16LE (printable, NUL, printable, NUL…), at both alignments.
  for (const offset of [0, 1]) {
    let wide = '';
    for (let i = offset; i + 1 < buf.length; i += 2) {
      const c = buf[i];
      if (printable(c) && buf[i + 1] === 0) wide += String.fromCharCode(c);
      else {
        if (wide.length >= MIN_STRING) runs.push(wide);
        wide = '';
      }
    }
    if (wide.length >= MIN_STRING) runs.push(wide);
  }
  return runs.join('\n');
}

// ---------------------------------------------------------------- hex with delimiters

/** `41:4b:49:41`, `41 4b 49 41`, `\x41\x4b`, `0x41,0x4b`: at least 12 bytes. */
const DELIMITED_HEX = /(?:(?:\\x|0x)?[0-9A-Fa-f]{2}(?:[ \t:,;.|-]{1,2}|(?=\\x|0x))){11,}(?:\\x|0x)?[0-9A-Fa-f]{2}(?![0-9A-Fa-f])/g;

export function findDelimitedHex(text: string): Decoded[] {
  const out: Decoded[] = [];
  DELIMITED_HEX.lastIndex = 0;
  for (let m = DELIMITED_HEX.exec(text); m !== null; m = DELIMITED_HEX.exec(text)) {
    const start = m.index;
    const end = start + m[0].length;
    const pairs = /(?:\\x|0x)?([0-9A-Fa-f]{2})/g;
    const pos: number[] = [];
    let decoded = '';
    for (let p = pairs.exec(m[0]); p !== null; p = pairs.exec(m[0])) {
      decoded += String.fromCharCode(parseInt(p[1] ?? '0', 16));
      pos.push(start + p.index);
    }
    pos.push(end);
    if (printableRatio(decoded) < 0.92) continue;
    out.push({ start, end, text: decoded, map: (ds, de) => [pos[ds] ?? start, pos[de] ?? end] });
  }
  return out;
}

// ---------------------------------------------------------------- invisible characters

/**
 * Zero-width and other invisible characters (ZWSP, ZWNJ, ZWJ, LRM/RLM, word
 * joiner, BOM, soft hyphen), as characters and as the UTF-8 bytes of a body
 * scanned as latin1: a secret with them sprinkled in reads the same to a human.
 */
const INVISIBLE = /[\u200B-\u200F\u2060-\u2064\uFEFF\u00AD\u180E]|\u034F|\u00E2\u0080[\u008B-\u008F]|\u00E2\u0081[\u00A0-\u00A4]|\u00EF\u00BB\u00BF|\u00C2\u00AD/g;
const MAYBE_INVISIBLE = /[\u200B-\u200F\u2060-\u2064\uFEFF\u00AD\u180E]|\u034F|\u00E2[\u0080\u0081]|\u00EF\u00BB/;

export function stripInvisible(text: string): Decoded | undefined {
  if (!MAYBE_INVISIBLE.test(text)) return undefined;
  const pos: number[] = [];
  let out = '';
  let last = 0;
  INVISIBLE.lastIndex = 0;
  for (let m = INVISIBLE.exec(text); m !== null; m = INVISIBLE.exec(text)) {
    for (let i = last; i < m.index; i++) pos.push(i);
    out += text.slice(last, m.index);
    last = m.index + m[0].length;
  }
  if (last === 0) return undefined;
  for (let i = last; i < text.length; i++) pos.push(i);
  out += text.slice(last);
  pos.push(text.length);
  return { start: 0, end: text.length, text: out, map: (ds, de) => [pos[ds] ?? 0, de > ds ? (pos[de - 1] ?? text.length - 1) + 1 : (pos[ds] ?? 0)] };
}
