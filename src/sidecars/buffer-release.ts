/**
 * Give a buffer's memory back to the allocator now, not at the next major GC.
 *
 * Under load the proxy's peak RSS is made of garbage: body chunks and
 * buffered bodies whose JS wrappers were promoted to the old generation (a
 * request outlives a scavenge or two on a 1 MiB semi-space), so their
 * backing stores wait for a mark-compact. V8 starts one only once about
 * 64 MB of external memory has piled up, and glibc seldom returns the freed
 * space to the system afterwards. Detaching the ArrayBuffer
 * (`transfer(0)`) frees its backing store at once.
 *
 * Only for a buffer nobody else reads any more, that owns its whole
 * ArrayBuffer (never a slice of Node's shared pool), and only where the
 * runtime has `ArrayBuffer.prototype.transfer` (Node 22; a no-op on 20).
 */

/** Below this the buffer may be pooled, and freeing it early buys nothing. */
const MIN_RELEASE = 4096;

interface Transferable {
  transfer?: (newLength?: number) => ArrayBuffer;
}

/** Free `buf`'s memory now; afterwards it reads as empty. */
export function releaseBuffer(buf: Buffer | undefined): void {
  if (buf === undefined || buf.byteLength < MIN_RELEASE) return;
  const ab = buf.buffer as ArrayBuffer & Transferable;
  if (typeof ab.transfer !== 'function' || buf.byteOffset !== 0 || ab.byteLength !== buf.byteLength) return;
  ab.transfer(0);
}
