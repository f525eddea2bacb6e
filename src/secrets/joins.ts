/**
 * Joins: a text with its line continuations and string concatenations undone
 * (`"abc" +\n "def"`, `\`-newline), or with a token cut by a bare line break
 * put back together, each with a map from offsets in the joined text back to
 * the original and the windows around the join points worth scanning again.
 * (Split from decoders.ts, which re-exports them.)
 */

export interface Joined {
  /** The whole joined text (made on first use: scanning needs only `slice`s of it). */
  readonly text: string;
  /** `text.slice(start, end)`, without making `text`. */
  slice(start: number, end: number): string;
  map(start: number, end: number): [number, number];
  /** Does [start, end) of the joined text contain a join point? */
  spansJoin(start: number, end: number): boolean;
  /**
   * The parts of the joined text a finding that spans a join can lie in: `radius`
   * characters either side of each join point, widened to whole runs of token
   * characters (a long token cut by a join stays whole), merged. Only these need
   * scanning: everything else was scanned in the original text.
   */
  windows(radius: number): [number, number][];
}

/** Characters of a token (base64, hex, JWT, most providers' keys): a window never cuts a run of them. */
const TOKEN_CHAR = new Uint8Array(128);
for (const ch of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_.-') TOKEN_CHAR[ch.charCodeAt(0)] = 1;
const isTokenChar = (c: number) => c < 128 && TOKEN_CHAR[c] === 1;

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
  return joinBy(text, JOIN);
}

/**
 * A token cut by a bare line break (a key wrapped by an editor or split by
 * hand over two lines): the newline and the next line's indentation removed
 * wherever both sides are 8 token characters (`[A-Za-z0-9_+/=-]`) and the next
 * line is not an assignment of its own (`NAME=…`, `key: …`). The candidates
 * are found by a regex that starts at the line break (the engine steps from
 * newline to newline, the look-arounds check both sides), not by a loop over
 * the lines in JS (a push has a hundred thousand of them, almost none a split).
 */
export function lineSplitJoin(text: string): Joined | undefined {
  const spans: number[] = [];
  SPLIT_AT.lastIndex = 0;
  for (let m = SPLIT_AT.exec(text); m !== null; m = SPLIT_AT.exec(text)) {
    const nl = m.index;
    const from = text.charCodeAt(nl - 1) === 13 /* \r */ ? nl - 1 : nl;
    let to = nl + 1;
    while (text.charCodeAt(to) === 32 || text.charCodeAt(to) === 9) to++;
    if (assignmentAt(text, to)) continue;
    if (spans.length > 0 && from < (spans[spans.length - 1] ?? 0)) continue;
    spans.push(from, to);
  }
  return joinSpans(text, spans);
}

/** A line break with 8 token characters before it (and its `\r`) and after the next line's blanks. */
const SPLIT_AT = /\n(?<=[A-Za-z0-9_+/=-]{8}\r?\n)(?=[ \t]*[A-Za-z0-9_+/=-]{8})/g;

/** `NAME=` or `key:` (an identifier, blanks, then `=` or `:`) starts at `at`. */
function assignmentAt(text: string, at: number): boolean {
  const first = text.charCodeAt(at);
  if (!((first >= 65 && first <= 90) || (first >= 97 && first <= 122) || first === 95)) return false;
  let i = at + 1;
  for (let c = text.charCodeAt(i); (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || c === 46 || c === 45; c = text.charCodeAt(++i));
  while (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9) i++;
  const c = text.charCodeAt(i);
  return c === 61 /* = */ || c === 58 /* : */;
}

function joinBy(text: string, JOIN: RegExp): Joined | undefined {
  const spans: number[] = [];
  JOIN.lastIndex = 0;
  for (let m = JOIN.exec(text); m !== null; m = JOIN.exec(text)) spans.push(m.index, m.index + m[0].length);
  return joinSpans(text, spans);
}

/** The index of the first element of the ascending `sorted` above `x` (its length when none is). */
function firstAbove(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The text with the [start, end) spans (flattened, in order, disjoint) removed. The joined text is read
 * in place, through the map, and only the windows are copied out (`slice`): the whole of it is made only
 * when asked for (`text`). On a push a joined text is a whole file, often hundreds of kilobytes, and
 * copying one (the join, or the first character read of a string built with `+=`) took a millisecond
 * or more, most of the time this view spent, for the few kilobytes of windows that are scanned.
 */
function joinSpans(text: string, spans: readonly number[]): Joined | undefined {
  if (spans.length === 0) return undefined;
  // Joined-text positions at which something was removed, and the cumulative removed length there.
  const at: number[] = [];
  const removedBefore: number[] = [];
  let length = 0;
  let last = 0;
  let removed = 0;
  for (let k = 0; k < spans.length; k += 2) {
    const start = spans[k];
    const end = spans[k + 1];
    length += start - last;
    removed += end - start;
    at.push(length);
    removedBefore.push(removed);
    last = end;
  }
  const n = length + text.length - last;
  // Segment k of the joined text, [at[k - 1], at[k]) (from 0, to n), is the original at an offset of removedBefore[k - 1] (0).
  const offsetOf = (k: number): number => (k === 0 ? 0 : removedBefore[k - 1]);
  const endOf = (k: number): number => (k < at.length ? at[k] : n);
  // Original index of the joined char at j: j + removed length of all joins at positions <= j.
  const toOrig = (j: number): number => j + offsetOf(firstAbove(at, j));
  // The segment the last character read lay in: the walks of `windows` read neighbours, rarely across a join.
  let segFrom = 0;
  let segTo = -1;
  let segOffset = 0;
  const codeAt = (j: number): number => {
    if (j < segFrom || j >= segTo) {
      const k = firstAbove(at, j);
      segFrom = k === 0 ? 0 : at[k - 1];
      segTo = endOf(k);
      segOffset = offsetOf(k);
    }
    return text.charCodeAt(j + segOffset);
  };
  let whole: string | undefined;
  const slice = (a: number, b: number): string => {
    const pieces: string[] = [];
    for (let k = firstAbove(at, a), pos = a; pos < b; k++) {
      const e = Math.min(b, endOf(k));
      if (e > pos) pieces.push(text.slice(pos + offsetOf(k), e + offsetOf(k)));
      pos = Math.max(pos, e);
    }
    return pieces.length === 1 ? pieces[0] : pieces.join('');
  };
  return {
    get text() {
      whole ??= slice(0, n);
      return whole;
    },
    slice,
    map: (s, e) => [toOrig(s), e > s ? toOrig(e - 1) + 1 : toOrig(s)],
    spansJoin: (s, e) => {
      const lo = firstAbove(at, s);
      return lo < at.length && at[lo] < e;
    },
    windows: (radius) => {
      const wins: [number, number][] = [];
      // Each character is walked over once, not once per join point near it: a walk back stops where
      // the previous window ends (the two merge), and a window that already reaches past
      // `j + radius` already ends where a walk forward from there would (after a token run).
      for (let k = 0; k < at.length; k++) {
        const j = at[k];
        const last = wins[wins.length - 1];
        const lastEnd = last ? last[1] : -1;
        let a = Math.max(0, j - radius);
        while (a > lastEnd && a > 0 && isTokenChar(codeAt(a - 1))) a--;
        let b = Math.min(n, j + radius);
        if (last && a <= lastEnd) {
          if (b <= lastEnd) continue;
          while (b < n && isTokenChar(codeAt(b))) b++;
          last[1] = b;
        } else {
          while (b < n && isTokenChar(codeAt(b))) b++;
          wins.push([a, b]);
        }
      }
      return wins;
    },
  };
}
