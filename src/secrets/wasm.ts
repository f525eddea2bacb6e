/**
 * The scanner's WebAssembly modules (each NAME.wat compiled into NAME.wasm.ts by
 * scripts/build-wasm.mjs): a new instance of one, or undefined where this Node
 * runs no WebAssembly (`--jitless`); every caller has a JavaScript way too.
 */

/** The little of the WebAssembly API used here (Node's global; @types/node 20 does not declare it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
}

/** What every module exports: its memory. */
export interface WasmMemory {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
}

/** A mutable global of a module. */
export interface WasmGlobal {
  value: number;
}

const compiled = new Map<string, object>();

/**
 * Undefined too where the memory cannot be had: each instance reserves several GiB of address space
 * (V8's bounds checks), more than a process under `ulimit -v` of a few GiB may take.
 */
export function instantiate<T extends WasmMemory>(base64: string): T | undefined {
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (api === undefined) return undefined;
  try {
    let module = compiled.get(base64);
    if (module === undefined) compiled.set(base64, (module = new api.Module(Buffer.from(base64, 'base64'))));
    return new api.Instance(module).exports as T;
  } catch (e) {
    if (e instanceof RangeError) return undefined;
    throw e;
  }
}

/**
 * Grow `x`'s memory to at least `bytes`: a view of all of it (a grown memory's old views are detached),
 * or undefined if there is no more memory to have.
 */
export function memoryOf(x: WasmMemory, bytes: number): Buffer | undefined {
  const have = x.memory.buffer.byteLength;
  try {
    if (have < bytes) x.memory.grow(Math.ceil((bytes - have) / 65536));
  } catch (e) {
    if (e instanceof RangeError) return undefined;
    throw e;
  }
  return Buffer.from(x.memory.buffer);
}
