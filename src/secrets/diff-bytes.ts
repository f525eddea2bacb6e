/**
 * `git log -p` output as bytes, a pipe read at a time, and the text a file
 * gains in a commit gathered from it (git.ts): in the memory of
 * added-runs.wat where Node runs WebAssembly, else with Buffer methods.
 *
 * Why: a push is mostly long runs of `+` lines. Decoding each read to a
 * string, matching each run with a regex, slicing it, dropping its `+`s with
 * a replace and joining a file's runs made four copies of nearly all of a
 * push's text, garbage soon after; this makes one, the file's string.
 *
 * A file's text is its added lines joined by line breaks, read as latin1
 * (one byte a character), as git.ts explains.
 */
import { WASM } from './added-runs.wasm.js';
import { instantiate, memoryOf, type WasmGlobal, type WasmMemory } from './wasm.js';

interface Exports extends WasmMemory {
  end: WasmGlobal;
  lines: WasmGlobal;
  cut(at: number, limit: number, mark: number, out: number): number;
}

export class DiffBytes {
  /** Lines of the last `cut`, and with `copy`, the length of the run it added (no line break after it). */
  lines = 0;
  length = 0;
  /** The module; undefined without WebAssembly, or once its memory would pass `maxBytes` (JavaScript from there on). */
  private x: Exports | undefined;
  private readonly maxBytes: number;
  /**
   * A view of the whole memory: the stream's bytes in [0, cap), the file's text (each line followed by a
   * line break) in [cap, cap + textLength).
   */
  private mem: Buffer = Buffer.alloc(0);
  private cap = 0;
  private textLength = 0;
  /** The incomplete line of the previous read: its length at the start of the memory, or its bytes. */
  private keptBytes = 0;
  private kept: Buffer | undefined;
  /** Without WebAssembly: the file's text, a run a part. */
  private parts: string[] = [];

  /** `maxBytes`: the most memory the module may take (a file's text and a read); past it, JavaScript. */
  constructor(webAssembly = true, maxBytes = 1 << 30) {
    this.x = webAssembly ? instantiate<Exports>(WASM) : undefined;
    this.maxBytes = maxBytes;
  }

  /** What was kept (no longer kept), then `chunk`: one buffer, valid until the next call. */
  append(chunk: Buffer): Buffer {
    const { x, keptBytes } = this;
    if (x === undefined) {
      const { kept } = this;
      this.kept = undefined;
      return kept ? Buffer.concat([kept, chunk]) : chunk;
    }
    const need = keptBytes + chunk.length;
    const cap = need > this.cap ? Math.max(1 << 17, 2 ** Math.ceil(Math.log2(need))) : this.cap;
    // Room for all of this read to join the file's text: the memory never grows while a read is parsed
    // (growing detaches the views the parse holds).
    const total = 2 ** Math.ceil(Math.log2(cap + this.textLength + need));
    if (total > this.mem.length) {
      const grown = total <= this.maxBytes ? memoryOf(x, total) : undefined;
      if (grown === undefined) {
        this.leaveWasm();
        return this.append(chunk);
      }
      this.mem = grown;
    }
    this.keptBytes = 0;
    if (cap !== this.cap) {
      this.mem.copyWithin(cap, this.cap, this.cap + this.textLength);
      this.cap = cap;
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
   * where they end (`at` if none do), and their number in `lines`. With `copy`, they are added to the
   * file's text without their marks, as one run of `length` characters.
   */
  cut(buf: Buffer, at: number, limit: number, mark: number, copy: boolean): number {
    const { x } = this;
    if (x !== undefined) {
      this.mine(buf);
      const end = x.cut(buf.byteOffset + at, buf.byteOffset + limit, mark, copy ? this.cap + this.textLength : -1) - buf.byteOffset;
      this.lines = x.lines.value;
      if (copy && this.lines > 0) {
        this.length = x.end.value - this.cap - this.textLength - 1;
        this.textLength = x.end.value - this.cap;
      }
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
    if (copy && lines > 0) {
      const run = parts.join('\n');
      this.parts.push(run);
      this.length = run.length;
    }
    return p;
  }

  /** Add bytes [from, to) of `buf` (the last `append`) to the file's text as one line: returns its length. */
  line(buf: Buffer, from: number, to: number): number {
    if (this.x === undefined) this.parts.push(buf.toString('latin1', from, to));
    else {
      this.mine(buf);
      const at = this.cap + this.textLength;
      this.mem.copyWithin(at, buf.byteOffset + from, buf.byteOffset + to);
      this.mem[at + to - from] = 10;
      this.textLength += to - from + 1;
    }
    return to - from;
  }

  /** Go on in JavaScript: what is kept and the file's text so far move out of the memory. */
  private leaveWasm(): void {
    if (this.keptBytes > 0) this.kept = Buffer.from(this.mem.subarray(0, this.keptBytes));
    // A text begun (even one empty line) stays a part: the next run joins it after a line break.
    if (this.textLength > 0) this.parts = [this.take()];
    this.keptBytes = 0;
    this.x = undefined;
    this.mem = Buffer.alloc(0);
  }

  /** Text is copied within the memory: from the last `append` only. */
  private mine(buf: Buffer): void {
    if (buf.buffer !== this.mem.buffer) throw new Error('diff-bytes: not the buffer of the last append');
  }

  /** The file's text so far (its lines joined by line breaks), then none. */
  take(): string {
    if (this.x === undefined) {
      const text = this.parts.join('\n');
      this.parts = [];
      return text;
    }
    const text = this.textLength > 0 ? this.mem.toString('latin1', this.cap, this.cap + this.textLength - 1) : '';
    this.textLength = 0;
    return text;
  }
}
