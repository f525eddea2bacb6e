/**
 * readBounded over a real HTTP server: a declared length, a chunked body, a
 * body over the bound (declared, and found while reading); and releaseBuffer
 * frees only a buffer that owns its memory, where the runtime can.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBounded, type BoundedBody } from './bounded-body.js';
import { releaseBuffer } from './buffer-release.js';

async function post(max: number, send: (req: http.ClientRequest) => void): Promise<BoundedBody> {
  let result: BoundedBody | undefined;
  const server = http.createServer((req, res) => {
    void readBounded(req, max, { drain: true }).then((r) => {
      result = r;
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    await new Promise<void>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/' }, (res) => {
        res.resume();
        res.once('end', resolve);
      });
      req.once('error', reject);
      send(req);
    });
  } finally {
    server.close();
  }
  assert.ok(result !== undefined);
  return result;
}

const payload = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => i % 251));

test('a body with a declared length arrives whole, in one buffer of that size', async () => {
  const body = payload(200_000);
  const r = await post(1 << 20, (req) => {
    req.setHeader('Content-Length', body.length);
    // Several writes, so the server sees several chunks.
    for (let at = 0; at < body.length; at += 30_000) req.write(body.subarray(at, at + 30_000));
    req.end();
  });
  assert.equal(r.kind, 'ok');
  assert.ok(r.kind === 'ok' && r.body.equals(body));
});

test('a chunked body arrives whole', async () => {
  const body = payload(100_000);
  const r = await post(1 << 20, (req) => {
    req.setHeader('Transfer-Encoding', 'chunked');
    req.write(body.subarray(0, 40_000));
    req.end(body.subarray(40_000));
  });
  assert.ok(r.kind === 'ok' && r.body.equals(body));
});

test('a body over the bound is too large, declared or not', async () => {
  const body = payload(50_000);
  const declared = await post(10_000, (req) => {
    req.setHeader('Content-Length', body.length);
    req.end(body);
  });
  assert.equal(declared.kind, 'too-large');
  const chunked = await post(10_000, (req) => {
    req.setHeader('Transfer-Encoding', 'chunked');
    req.write(body.subarray(0, 8_000));
    req.end(body.subarray(8_000));
  });
  assert.equal(chunked.kind, 'too-large');
});

test('releaseBuffer frees a buffer that owns its memory, and never a slice or a pooled one', () => {
  const canFree = typeof (ArrayBuffer.prototype as { transfer?: unknown }).transfer === 'function';
  const own = Buffer.allocUnsafeSlow(64 * 1024).fill(7);
  releaseBuffer(own);
  assert.equal(own.length, canFree ? 0 : 64 * 1024);
  const parent = Buffer.alloc(64 * 1024, 1);
  const slice = parent.subarray(0, 32 * 1024);
  releaseBuffer(slice);
  assert.equal(slice.length, 32 * 1024);
  assert.equal(parent[0], 1);
  const pooled = Buffer.from('a short pooled buffer');
  releaseBuffer(pooled);
  assert.equal(pooled.toString(), 'a short pooled buffer');
  releaseBuffer(undefined);
});
