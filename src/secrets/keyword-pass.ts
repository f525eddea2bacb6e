/**
 * The keyword prefilter's pass in WebAssembly (keyword-pass.wat), for text
 * of one-byte characters: all of a git scan's and the egress DLP's text,
 * which are read as latin1.
 *
 * Why: a scan runs once per process, so its hottest loop ran mostly before
 * V8 had optimised it. On the bench push's profile the JavaScript loop took
 * 47 ms; the same loop compiled from WebAssembly, which runs as compiled code
 * from its first byte, takes 17 ms.
 *
 * The text is copied into the module's memory a window at a time, so the
 * memory stays bounded (about 14 times the window) whatever the text's size.
 */
import { WASM } from './keyword-pass.wasm.js';
import { instantiate, memoryOf, type WasmGlobal, type WasmMemory } from './wasm.js';

interface Exports extends WasmMemory {
  state: WasmGlobal;
  runStart: WasmGlobal;
  runAtLine: WasmGlobal;
  atLine: WasmGlobal;
  runsEnd: WasmGlobal;
  pass(text: number, n: number, base: number, firstOut: number, long: number, short: number, hits: number, runs: number): number;
}

const TABLES = 512;
const WINDOW = 1 << 20;
/** A character above 0xff: such a text takes the JavaScript loop (V8 answers this for a flat one-byte string without reading it). */
const WIDE = /[\u0100-\uffff]/;

export class KeywordPass {
  private readonly x: Exports;
  private readonly textAt: number;
  private readonly window: number;
  private readonly hitsAt: number;
  private readonly runsAt: number;
  private readonly bytes: Buffer;
  private readonly words: Int32Array;
  private runClass: Uint8Array | undefined;

  /**
   * A pass over the DFA `next` (rows of `column`-indexed states, see KeywordMatcher), or undefined where
   * this Node runs no WebAssembly (`--jitless`) or cannot give it memory.
   */
  static create(column: Uint8Array, next: Int32Array, window = WINDOW): KeywordPass | undefined {
    const x = instantiate<Exports>(WASM);
    const textAt = (TABLES + next.length * 4 + 7) & ~7;
    // A window and its line break; at most one hit per byte, and one run per two.
    const hitsAt = (textAt + window + 1 + 7) & ~7;
    const runsAt = hitsAt + 8 * (window + 1);
    const bytes = x && memoryOf(x, runsAt + 8 * ((window >> 1) + 2));
    if (x === undefined || bytes === undefined) return undefined;
    bytes.set(column.subarray(0, 128), 0);
    new Int32Array(x.memory.buffer, TABLES, next.length).set(next);
    return new KeywordPass(x, bytes, { textAt, hitsAt, runsAt, window });
  }

  private constructor(x: Exports, bytes: Buffer, at: { textAt: number; hitsAt: number; runsAt: number; window: number }) {
    this.x = x;
    this.bytes = bytes;
    this.words = new Int32Array(x.memory.buffer);
    this.textAt = at.textAt;
    this.hitsAt = at.hitsAt;
    this.runsAt = at.runsAt;
    this.window = at.window;
  }

  /**
   * Run the DFA from its start over `text` and one line break after it: `onHit(i, state)` for each
   * character `i` after which the state is `firstOut` or above, and the runs, as KeywordMatcher's
   * presentAndRuns finds them, pushed to `runs`. False, having done nothing, if the text has a
   * character above 0xff.
   */
  run(text: string, runClass: Uint8Array, firstOut: number, long: number, short: number, runs: number[], onHit: (i: number, state: number) => void): boolean {
    if (WIDE.test(text)) return false;
    const { x, bytes, words, textAt, hitsAt, runsAt } = this;
    if (runClass !== this.runClass) {
      bytes.set(runClass.subarray(0, 256), 256);
      this.runClass = runClass;
    }
    x.state.value = 0;
    x.runStart.value = -1;
    x.runAtLine.value = 0;
    x.atLine.value = 1;
    for (let base = 0; base <= text.length; base += this.window) {
      const end = Math.min(text.length, base + this.window);
      let n = base === 0 && end === text.length ? bytes.write(text, textAt, 'latin1') : bytes.write(text.slice(base, end), textAt, 'latin1');
      if (end === text.length) bytes[textAt + n++] = 10;
      const hitsEnd = x.pass(textAt, n, base, firstOut, long, short, hitsAt, runsAt);
      for (let p = hitsAt >> 2, e = hitsEnd >> 2; p < e; p += 2) onHit(words[p], words[p + 1]);
      for (let p = runsAt >> 2, e = x.runsEnd.value >> 2; p < e; p++) runs.push(words[p]);
      if (end === text.length) break;
    }
    return true;
  }
}
