/**
 * The rules' keyword prefilter as one automaton (Aho-Corasick): which of a
 * fixed set of keywords occur in a text, ASCII case-insensitively, in a
 * single pass over its characters with no copy of the text.
 *
 * The earlier prefilter lowercased every text and searched it once per
 * keyword (about sixty passes over each file of a push); on real code that
 * was a quarter of the scanner's time.
 */

import { KeywordPass } from './keyword-pass.js';

/** A run class with no member: the pass finds keywords only. */
const NO_RUNS = new Uint8Array(256);

/** How presentAndRuns runs: in WebAssembly where it can (default), in windows of `window` bytes (tests). */
export interface PassOptions {
  webAssembly?: boolean;
  window?: number;
}

export class KeywordMatcher {
  readonly keywords: readonly string[];
  /** Character code (ASCII, lowercased) to column; 0 for any character no keyword has. */
  private readonly column = new Uint8Array(128);
  private readonly width: number;
  /**
   * The DFA for `present`, laid out for its loop (one table load a character):
   * a state is the offset of its row, `next[state + column]` the next state,
   * and the states where a keyword ends are numbered last, so one comparison
   * (`state >= firstOut`) tells whether any keyword ends here.
   */
  private readonly next: Int32Array;
  private readonly firstOut: number;
  /** Keyword ids that end at each state (by row offset / width), following failure links. */
  private readonly out: (readonly number[] | undefined)[];
  /** Every UTF-16 code unit to its column (the one-byte `column`, widened): no range test in the loop. */
  private readonly wide: Uint8Array;
  /** The same pass in WebAssembly, made on first use; null where there is none. */
  private pass: KeywordPass | null | undefined;

  private readonly passOptions: PassOptions;

  constructor(keywords: readonly string[], pass: PassOptions = {}) {
    this.keywords = [...new Set(keywords)];
    this.passOptions = pass;
    let cols = 1;
    for (const k of this.keywords) {
      for (let i = 0; i < k.length; i++) {
        const c = k.charCodeAt(i);
        // No line break either: presentAndRuns steps over one past the end of every text.
        if (c >= 128 || c === 10) throw new Error(`keyword ${JSON.stringify(k)}: ASCII only, no line break`);
        const lower = c >= 65 && c <= 90 ? c + 32 : c;
        if (this.column[lower] === 0) {
          this.column[lower] = cols++;
          if (lower >= 97 && lower <= 122) this.column[lower - 32] = this.column[lower];
        }
      }
    }
    if (cols > 255) throw new Error('too many distinct keyword characters');
    this.width = cols;
    // Built in a few passes over the trie's states and edges, not over every (state, column) cell in JS: this
    // runs cold on every scan, where a loop over the whole table was several milliseconds of interpreted code.
    // The trie: goto[state * cols + col] is the child or -1, and each state's children.
    let max = 1;
    for (const k of this.keywords) max += k.length;
    const goto = new Int32Array(max * cols).fill(-1);
    const ends: number[][] = [[]];
    const edgeCol: number[] = [0];
    const kids: number[][] = [[]];
    let n = 1;
    this.keywords.forEach((k, id) => {
      let s = 0;
      for (let i = 0; i < k.length; i++) {
        const col = this.column[k.charCodeAt(i)];
        let t = goto[s * cols + col];
        if (t === -1) {
          t = n++;
          goto[s * cols + col] = t;
          ends.push([]);
          edgeCol.push(col);
          kids.push([]);
          kids[s].push(t);
        }
        s = t;
      }
      ends[s].push(id);
    });
    // Failure links, breadth first (a state's link is shallower, so it is final when the state is reached);
    // a state's outputs include its link's.
    const fail = new Int32Array(n);
    const bfs = [0];
    for (let q = 0; q < bfs.length; q++) {
      const s = bfs[q];
      for (const t of kids[s]) {
        const col = edgeCol[t];
        let f = s === 0 ? -1 : fail[s];
        while (f !== -1 && goto[f * cols + col] === -1) f = f === 0 ? -1 : fail[f];
        fail[t] = f === -1 ? 0 : goto[f * cols + col];
        ends[t].push(...ends[fail[t]]);
        bfs.push(t);
      }
    }
    // Renumber: states without output first, then those with one; a state becomes its row offset.
    const outs = ends.map((e) => (e.length > 0 ? [...new Set(e)] : undefined));
    const order: number[] = [];
    for (let s = 0; s < n; s++) if (outs[s] === undefined) order.push(s);
    for (let s = 0; s < n; s++) if (outs[s] !== undefined) order.push(s);
    const rank = new Int32Array(n);
    order.forEach((old, i) => (rank[old] = i));
    // The complete transition table, in breadth-first order: a state's row is its failure link's row (already
    // made: the link is shallower) with its own trie edges written over it; the start state's row is all start.
    const table = new Int32Array(n * cols);
    for (const s of bfs) {
      const row = rank[s] * cols;
      if (s !== 0) table.copyWithin(row, rank[fail[s]] * cols, rank[fail[s]] * cols + cols);
      for (const t of kids[s]) table[row + edgeCol[t]] = rank[t] * cols;
    }
    this.next = table;
    this.out = order.map((old) => outs[old]);
    const first = order.findIndex((old) => outs[old] !== undefined);
    this.firstOut = (first === -1 ? n : first) * cols;
    this.wide = new Uint8Array(65536);
    this.wide.set(this.column);
    if (rank[0] !== 0) throw new Error('the start state has an output');
  }

  /**
   * `present`, and in the same pass over the characters the maximal runs of
   * `runClass` characters (a 65536-entry table, 1 for a member) that are at
   * least `long` long, or at least `short` long and preceded on their line by
   * blanks only: pushed to `runs` as start, end pairs. One loop in place of
   * a regex pass (the base64 runs) over the same text.
   *
   * With `lineOf` (a flag per keyword id) and `lines`: the start of every
   * line on which a flagged keyword occurs, pushed to `lines` once each, in
   * order (a rule whose matches stay on one line then runs on those lines).
   */
  presentAndRuns(text: string, runClass: Uint8Array, long: number, short: number, runs: number[], lineOf?: Uint8Array, lines?: number[]): boolean[] {
    const seen = new Array<boolean>(this.keywords.length).fill(false);
    const { wide, next, firstOut } = this;
    if (this.wasm()?.run(text, runClass, firstOut, long, short, runs, (i, state) => this.hit(text, state, i, seen, lineOf, lines))) return seen;
    let s = 0;
    let runStart = -1;
    let runAtLine = false;
    // Only blanks since the last line break (or the start).
    let atLine = true;
    const n = text.length;
    // One step past the end, as a line break, closes a run the text ends in: the same code as any other
    // run's end. (A statement of its own after the loop is first reached after the loop has been optimised,
    // with no type feedback: the optimised code was thrown away, again and again, on a push.)
    for (let i = 0; i <= n; i++) {
      const c = i < n ? text.charCodeAt(i) : 10;
      s = next[s + wide[c]];
      if (s >= firstOut) this.hit(text, s, i, seen, lineOf, lines);
      if (runClass[c] === 1) {
        if (runStart < 0) {
          runStart = i;
          runAtLine = atLine;
          atLine = false;
        }
      } else {
        if (runStart >= 0) {
          const len = i - runStart;
          if (len >= long || (len >= short && runAtLine)) runs.push(runStart, i);
          runStart = -1;
        }
        atLine = c === 10 || (atLine && (c === 32 || c === 9));
      }
    }
    return seen;
  }

  /** The pass in WebAssembly, made on first use; null where there is none or it is not wanted. */
  private wasm(): KeywordPass | null {
    if (this.pass === undefined) {
      const { webAssembly = true, window } = this.passOptions;
      this.pass = (webAssembly && KeywordPass.create(this.column, this.next, window)) || null;
    }
    return this.pass;
  }

  /** The DFA is in output state `s` after character `i` of `text`: its keywords are seen, and maybe the line. */
  private hit(text: string, s: number, i: number, seen: boolean[], lineOf: Uint8Array | undefined, lines: number[] | undefined): void {
    const ids = this.out[s / this.width];
    if (ids === undefined) return;
    for (let k = 0; k < ids.length; k++) {
      seen[ids[k]] = true;
      // The line's start found back from the hit (a keyword holds no line break), not tracked per character.
      if (lineOf !== undefined && lines !== undefined && lineOf[ids[k]] === 1) {
        const start = text.lastIndexOf('\n', i) + 1;
        if (lines.length === 0 || lines[lines.length - 1] !== start) lines.push(start);
      }
    }
  }

  /** Which keywords occur in `text` (ids into `keywords`); stops early once all have been seen. */
  present(text: string): boolean[] {
    const seen = new Array<boolean>(this.keywords.length).fill(false);
    // A long text is read in WebAssembly, which has no warm-up: a scan reads each joined view of a file so.
    if (text.length >= 256 && this.wasm()?.run(text, NO_RUNS, this.firstOut, 0, 0, [], (i, state) => this.hit(text, state, i, seen, undefined, undefined))) {
      return seen;
    }
    let left = this.keywords.length;
    const { wide, next, out, width, firstOut } = this;
    let s = 0;
    for (let i = 0, n = text.length; i < n; i++) {
      s = next[s + wide[text.charCodeAt(i)]];
      if (s >= firstOut) {
        const ids = out[s / width];
        if (ids !== undefined) {
          for (let k = 0; k < ids.length; k++) {
            if (!seen[ids[k]]) {
              seen[ids[k]] = true;
              if (--left === 0) return seen;
            }
          }
        }
      }
    }
    return seen;
  }
}
