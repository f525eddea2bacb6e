/**
 * Hiding places: transforms that turn a text into another text worth scanning,
 * each with a map from offsets in the new text back to the original.
 *
 * - base64 runs (one long run, or a block of wrapped lines) decoded when the
 *   result is text (an encoded `.env`, a `data:` URL, a Kubernetes secret);
 * - line continuations (`\` + newline) and string concatenations across
 *   lines or on one line (`"abc" +\n "def"`, `'a' . 'b'`, `"a" "b"` in C/Python);
 * - printable strings inside binary content, like `strings(1)`.
 */

export interface Decoded {
  /** Span of the source text this was decoded from. */
  readonly start: number;
  readonly end: number;
  readonly text: string;
  /** Map a [start, end) span of `text` to a span of the source text. */
  map(start: number, end: number): [number, number];
}

export interface Joined {
  readonly text: string;
  map(start: number, end: number): [number, number];
  /** Does [start, end) of the joined text contain a join point? */
  spansJoin(start: number, end: number): boolean;
}

// ---------------------------------------------------------------- continuations

/**
 * `\`-newline (shell, Python, C, Dockerfile), or a closing quote, an optional
 * concatenation operator (`+`, `.`, `..`, `&`) and an opening quote of the
 * same kind, with a newline or an operator between them.
 */
const JOIN =
  /\\\r?\n[ \t]*|(["'`])[ \t]*(?:(?:\+|\.{1,2}|&)[ \t]*(?:\\?\r?\n[ \t]*)?|\\?\r?\n[ \t]*(?:(?:\+|\.{1,2}|&)[ \t]*)?)\1/g;

/** Quick test before the regex: no newline-continuation and no quote-operator-quote shape means nothing to join. */
const MAYBE_JOIN = /\\\r?\n|["'`][ \t]*(?:[+.&]|\r?\n)/;

export function continuationJoin(text: string): Joined | undefined {
  if (!MAYBE_JOIN.test(text)) return undefined;
  // Joined-text positions at which something was removed, and the cumulative removed length there.
  const at: number[] = [];
  const removedBefore: number[] = [];
  let out = '';
  let last = 0;
  let removed = 0;
  JOIN.lastIndex = 0;
  for (let m = JOIN.exec(text); m !== null; m = JOIN.exec(text)) {
    out += text.slice(last, m.index);
    removed += m[0].length;
    at.push(out.length);
    removedBefore.push(removed);
    last = m.index + m[0].length;
  }
  if (at.length === 0) return undefined;
  out += text.slice(last);
  // Original index of the joined char at j: j + removed length of all joins at positions <= j.
  const toOrig = (j: number): number => {
    let lo = 0;
    let hi = at.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (at[mid] <= j) lo = mid + 1;
      else hi = mid;
    }
    return j + (lo === 0 ? 0 : removedBefore[lo - 1]);
  };
  return {
    text: out,
    map: (s, e) => [toOrig(s), e > s ? toOrig(e - 1) + 1 : toOrig(s)],
    spansJoin: (s, e) => {
      // first join point > s
      let lo = 0;
      let hi = at.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (at[mid] <= s) lo = mid + 1;
        else hi = mid;
      }
      return lo < at.length && at[lo] < e;
    },
  };
}

// ---------------------------------------------------------------- base64

/** Base64 alphabet (standard and URL-safe), for a hand-written linear scan. */
const B64_CHAR = new Uint8Array(128);
for (const ch of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-') B64_CHAR[ch.charCodeAt(0)] = 1;
const isB64 = (c: number) => c < 128 && B64_CHAR[c] === 1;
/** A single run must be this long; a line of a wrapped block this long. */
const MIN_RUN = 32;
const MIN_LINE = 16;

const MIN_DECODED = 16;

function printableRatio(s: string): number {
  let ok = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 32 && c < 127) || c === 9 || c === 10 || c === 13) ok++;
  }
  return s.length === 0 ? 0 : ok / s.length;
}

/** Decode when the content is text; latin1 keeps one char per byte so offsets map exactly. */
function decodeText(b64: string): string | undefined {
  const bytes = Buffer.from(b64, 'base64');
  if (bytes.length < MIN_DECODED) return undefined;
  const s = bytes.toString('latin1');
  return printableRatio(s) >= 0.92 ? s : undefined;
}

/** Map decoded bytes [ds, de) to base64 chars [floor(ds/3)*4, ceil(de/3)*4). */
function b64Span(ds: number, de: number, len: number): [number, number] {
  return [Math.floor(ds / 3) * 4, Math.min(len, Math.ceil(de / 3) * 4)];
}

interface Run {
  start: number;
  end: number;
  /** The run is alone on its line (but for blanks): a line of a wrapped block. */
  wholeLine: boolean;
}

/** Maximal runs of base64 characters (then `=` padding), in one pass. */
function base64Runs(text: string): Run[] {
  const runs: Run[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    if (!isB64(text.charCodeAt(i))) {
      i++;
      continue;
    }
    const start = i;
    while (i < n && isB64(text.charCodeAt(i))) i++;
    let end = i;
    while (end < n && end - i < 2 && text.charCodeAt(end) === 61 /* = */) end++;
    if (end - start >= MIN_LINE) {
      let a = start - 1;
      while (a >= 0 && (text[a] === ' ' || text[a] === '\t')) a--;
      let b = end;
      while (b < n && (text[b] === ' ' || text[b] === '\t' || text[b] === '\r')) b++;
      runs.push({ start, end, wholeLine: (a < 0 || text[a] === '\n') && (b >= n || text[b] === '\n') });
    }
    i = end;
  }
  return runs;
}

export function findBase64Runs(text: string): Decoded[] {
  const out: Decoded[] = [];
  const runs = base64Runs(text);
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
    if (last > r) {
      const pos: number[] = [];
      let chars = '';
      for (let k = r; k <= last; k++) {
        const run = runs[k];
        chars += text.slice(run.start, run.end);
        for (let p = run.start; p < run.end; p++) pos.push(p);
      }
      const start = first.start;
      const end = (runs[last]).end;
      r = last;
      const decoded = decodeText(chars);
      if (decoded === undefined) continue;
      out.push({
        start,
        end,
        text: decoded,
        map: (ds, de) => {
          const [s, e] = b64Span(ds, de, chars.length);
          return [pos[s] ?? start, (pos[Math.max(s, e - 1)] ?? end - 1) + 1];
        },
      });
      continue;
    }
    if (first.end - first.start < MIN_RUN) continue;
    const b64 = text.slice(first.start, first.end);
    const decoded = decodeText(b64);
    if (decoded === undefined) continue;
    const start = first.start;
    out.push({
      start,
      end: first.end,
      text: decoded,
      map: (ds, de) => {
        const [s, e] = b64Span(ds, de, b64.length);
        return [start + s, start + e];
      },
    });
  }
  return out;
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

/** Runs of hex digits (an encoded `.env`, `xxd -p` output) decoded when the result is text. */
export function findHexRuns(text: string): Decoded[] {
  const out: Decoded[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    if (hexVal(text.charCodeAt(i)) < 0) {
      i++;
      continue;
    }
    const start = i;
    while (i < n && hexVal(text.charCodeAt(i)) >= 0) i++;
    const len = (i - start) & ~1;
    if (len < MIN_HEX) continue;
    let decoded = '';
    for (let k = start; k < start + len; k += 2) decoded += String.fromCharCode(hexVal(text.charCodeAt(k)) * 16 + hexVal(text.charCodeAt(k + 1)));
    if (printableRatio(decoded) < 0.92) continue;
    out.push({ start, end: start + len, text: decoded, map: (ds, de) => [start + 2 * ds, start + 2 * de] });
  }
  return out;
}

// ---------------------------------------------------------------- URL encoding

const URL_CHAR = new Uint8Array(128);
for (const ch of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789%._~+-/=:&?!$'()*,;@") URL_CHAR[ch.charCodeAt(0)] = 1;
const isUrlChar = (c: number) => c < 128 && URL_CHAR[c] === 1;

/**
 * Runs of URL characters with at least two `%XX` escapes (a key in a query
 * string, a form body), percent-decoded byte for byte (`+` stays `+`: it is
 * a base64 character more often than a space in a secret).
 */
export function findUrlEncoded(text: string): Decoded[] {
  const out: Decoded[] = [];
  if (!text.includes('%')) return out;
  const n = text.length;
  let i = 0;
  while (i < n) {
    if (!isUrlChar(text.charCodeAt(i))) {
      i++;
      continue;
    }
    const start = i;
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
