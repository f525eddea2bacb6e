/**
 * `git log -p` output as bytes, a pipe read at a time, and the runs of added
 * lines cut from it (git.ts): in the memory of added-runs.wat where Node runs
 * WebAssembly, else with Buffer methods.
 *
 * Why: a push is mostly long runs of `+` lines. Decoding each read to a
 * string, matching each run with a regex, slicing it and dropping its `+`s
 * with a replace made three copies of nearly all of a push's text, garbage
 * by the next file; this makes one, the run's string.
 */
import { WASM } from './added-runs.wasm.js';
import { instantiate, memoryOf, type WasmGlobal, type WasmMemory } from './wasm.js';

interface Exports extends WasmMemory {
  end: WasmGlobal;
  lines: WasmGlobal;
  cut(at: number, limit: number, mark: number, out: number): number;
}

export class DiffBytes {
  /** Lines of the last `cut`, and their text when it was copied. */
  lines = 0;
  text = '';
  private readonly x: Exports | undefined;
  /** A view of the whole memory; the stream from 0, where `cut` copies from `cap`. */
  private mem: Buffer;
  private cap = 0;
  /** The incomplete line of the previous read: its length at the start of the memory, or its bytes. */
  private keptBytes = 0;
  private kept: Buffer | undefined;

  constructor(webAssembly = true) {
    this.x = webAssembly ? instantiate<Exports>(WASM) : undefined;
    this.mem = Buffer.alloc(0);
  }

  /** What was kept (no longer kept), then `chunk`: one buffer, valid until the next call. */
  append(chunk: Buffer): Buffer {
    const { x, kept, keptBytes } = this;
    this.kept = undefined;
    this.keptBytes = 0;
    if (x === undefined) return kept ? Buffer.concat([kept, chunk]) : chunk;
    const need = keptBytes + chunk.length;
    if (need > this.cap) {
      this.cap = Math.max(1 << 17, 2 ** Math.ceil(Math.log2(need)));
      this.mem = memoryOf(x, 2 * this.cap);
    }
    this.mem.set(chunk, keptBytes);
    return this.mem.subarray(0, need);
  }

  /** Keep `buf` (the last `append`) from `from` on, to come before the next chunk. */
  keep(buf: Buffer, from: number): void {
    if (this.x === undefined) this.kept = from < buf.length ? buf.subarray(from) : undefined;
    else {
      this.mem.copyWithin(0, from, buf.length);
      this.keptBytes = buf.length - from;
    }
  }

  /** Anything kept. */
  get pending(): boolean {
    return this.keptBytes > 0 || this.kept !== undefined;
  }

  /**
   * The lines of `buf` from `at` on that start with the byte `mark` and end before `limit`: returns
   * where they end (`at` if none do); their number in `lines`, and with `copy` their text without the
   * marks, joined by line breaks, in `text` (latin1: a byte a character).
   */
  cut(buf: Buffer, at: number, limit: number, mark: number, copy: boolean): number {
    const { x } = this;
    if (x !== undefined && buf.buffer === this.mem.buffer) {
      const end = x.cut(buf.byteOffset + at, buf.byteOffset + limit, mark, copy ? this.cap : -1) - buf.byteOffset;
      this.lines = x.lines.value;
      // Without the last line break.
      this.text = copy && this.lines > 0 ? this.mem.toString('latin1', this.cap, x.end.value - 1) : '';
      return end;
    }
    const parts: string[] = [];
    let p = at;
    let lines = 0;
    while (p < limit && buf[p] === mark) {
      const nl = buf.indexOf(10, p + 1);
      if (nl < 0 || nl >= limit) break;
      if (copy) parts.push(buf.toString('latin1', p + 1, nl));
      lines++;
      p = nl + 1;
    }
    this.lines = lines;
    this.text = parts.join('\n');
    return p;
  }
}
