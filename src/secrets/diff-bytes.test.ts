import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DiffBytes } from './diff-bytes.js';

/**
 * What git.ts gathers from a stream, between two "other" lines (a file's header, say): the added lines'
 * text (runs of `+` lines cut without their marks, and `*` lines, which stand for a merge's added lines,
 * added one by one without their first byte), how many lines were added and removed; then the other line.
 */
function walk(diff: DiffBytes, chunks: readonly Buffer[]): string[] {
  const got: string[] = [];
  let plus = 0;
  let minus = 0;
  let lengths = 0;
  const flush = () => {
    const text = diff.take();
    assert.equal(plus > 0 ? text.length + 1 : 0, lengths, 'the runs\' lengths add up to the text');
    if (plus > 0) got.push(`+${plus}:${text}`);
    if (minus > 0) got.push(`-${minus}`);
    plus = minus = lengths = 0;
  };
  const onBytes = (buf: Buffer) => {
    let pos = 0;
    while (pos < buf.length) {
      const c = buf[pos];
      if (c === 43 || c === 45) {
        const end = diff.cut(buf, pos, buf.length, c, c === 43);
        if (end > pos) {
          if (c === 43) {
            plus += diff.lines;
            lengths += diff.length + 1;
          } else minus += diff.lines;
          pos = end;
          continue;
        }
      }
      const nl = buf.indexOf(10, pos);
      if (c === 42) {
        lengths += diff.line(buf, pos + 1, nl) + 1;
        plus++;
      } else {
        flush();
        got.push(`=${buf.toString('latin1', pos, nl)}`);
      }
      pos = nl + 1;
    }
  };
  for (const chunk of chunks) {
    const buf = diff.append(chunk);
    const last = buf.lastIndexOf(10);
    if (last >= 0) onBytes(buf.subarray(0, last + 1));
    diff.keep(buf, last + 1);
  }
  if (diff.pending) onBytes(diff.append(Buffer.from('\n')));
  flush();
  return got;
}

/** The same, from the whole text line by line. */
function reference(text: string): string[] {
  const got: string[] = [];
  let added: string[] = [];
  let minus = 0;
  const flush = () => {
    if (added.length > 0) got.push(`+${added.length}:${added.join('\n')}`);
    if (minus > 0) got.push(`-${minus}`);
    added = [];
    minus = 0;
  };
  const lines = text.split('\n');
  if (text.endsWith('\n')) lines.pop();
  for (const line of lines) {
    if (line.startsWith('+') || line.startsWith('*')) added.push(line.slice(1));
    else if (line.startsWith('-')) minus++;
    else {
      flush();
      got.push(`=${line}`);
    }
  }
  flush();
  return got;
}

void test('a file\'s added lines are gathered the same in WebAssembly and JavaScript (and when memory runs out midway), however the stream is split into reads', () => {
  let seed = 31;
  const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff) % n);
  const line = () => ['+', '+', '+', '-', '*', ' ', '@@ -1 +1 @@', 'diff --git a/x b/x', ''][rand(9)] + 'abc\xe9+-*'.repeat(rand(6)).slice(0, rand(20));
  const cases: { text: string; chunks: Buffer[] }[] = [];
  for (let i = 0; i < 300; i++) {
    const lines = Array.from({ length: rand(30) }, line);
    // Lines longer than the memory first taken (128 KiB), kept across reads while they arrive, in a file's text
    // that grows meanwhile.
    if (i % 50 === 7) lines.splice(rand(lines.length + 1), 0, '+' + 'x'.repeat(300_000), '*' + 'y'.repeat(200_000));
    const text = lines.join('\n') + (rand(4) === 0 ? '' : '\n');
    const bytes = Buffer.from(text, 'latin1');
    const chunks: Buffer[] = [];
    for (let at = 0; at < bytes.length; ) {
      const n = 1 + rand(i % 50 === 7 ? 100_000 : 40);
      chunks.push(bytes.subarray(at, at + n));
      at += n;
    }
    cases.push({ text, chunks });
  }
  const wasm = new DiffBytes();
  for (const { text, chunks } of cases) {
    const want = reference(text);
    assert.deepEqual(walk(wasm, chunks), want, JSON.stringify(text.slice(0, 200)));
    assert.deepEqual(walk(new DiffBytes(false), chunks), want, JSON.stringify(text.slice(0, 200)));
    // Memory capped below the long lines: the scan leaves WebAssembly mid-stream, with a line kept and a file's text begun.
    assert.deepEqual(walk(new DiffBytes(true, 1 << 18), chunks), want, JSON.stringify(text.slice(0, 200)));
  }
});
