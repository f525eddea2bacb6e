/**
 * Stream an upstream answer to the agent as `pipe()` does (backpressure:
 * pause the upstream while the agent's socket is full), and free each chunk
 * as soon as the agent's TLS socket has taken it (buffer-release.ts).
 *
 * Why not `pipe()`: a 10 MiB answer is some 160 chunks of 64 KiB per
 * connection. Chunks that wait in the socket's queue outlive a scavenge or
 * two and are promoted, so their memory is freed only at the next major GC;
 * under a few parallel downloads that garbage, and the heap space glibc
 * keeps after it, made most of the proxy's peak RSS.
 *
 * Only for the upstream response itself: its chunks are copies that own
 * their memory and nothing else reads them once written. Never for the
 * output of a transform (a zlib decoder hands out slices of a buffer it
 * keeps writing into).
 */
import type * as http from 'node:http';
import type { Duplex } from 'node:stream';
import { releaseBuffer } from '../buffer-release.js';

export function relay(from: http.IncomingMessage, to: http.ServerResponse): void {
  const onDrain = (): void => {
    from.resume();
  };
  from.on('data', (c: Buffer) => {
    // The callback runs once the TLS socket has encrypted and written the chunk (or failed to).
    if (!to.write(c, () => releaseBuffer(c))) {
      from.pause();
      to.once('drain', onDrain);
    }
  });
  from.once('end', () => {
    to.off('drain', onDrain);
    to.end();
  });
}

/**
 * Free what the upstream TLS socket reads once the response parser has
 * parsed it. The parser copies each body piece into a buffer of its own
 * (what relay() then frees), so the read itself is garbage at once. But
 * during a 10 MiB answer those reads are half of the arrayBuffer garbage.
 *
 * A read is freed only by the socket's last 'data' listener. Listeners run
 * in the order they were added, so every other listener, the HTTP client's
 * parser among them, has run by then. The client adds its parser listener
 * again for each request on a kept-alive socket. If a stale listener of
 * ours sits before that one, it is not last and frees nothing.
 */
export function freeParsedReads(socket: Duplex, req: http.ClientRequest): void {
  const mine = (d: Buffer): void => {
    const all = socket.listeners('data');
    if (all[all.length - 1] === mine) releaseBuffer(d);
  };
  socket.on('data', mine);
  req.once('close', () => socket.off('data', mine));
}
