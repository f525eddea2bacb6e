import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DiffBytes } from './diff-bytes.js';

/** Runs of `+` (`-`) lines one after another as one run: a read may end inside a run, which git.ts adds in parts. */
function merged(items: readonly string[]): string[] {
  const out: string[] = [];
  for (const item of items) {
    const last = out[out.length - 1] ?? '';
    const [, n = '', text = ''] = /^[+-](\d+):?([^]*)$/.exec(item) ?? [];
    const [, m = '', prev = ''] = /^[+-](\d+):?([^]*)$/.exec(last) ?? [];
    if (item[0] === '+' && last[0] === '+') out[out.length - 1] = `+${Number(m) + Number(n)}:${prev}\n${text}`;
    else if (item[0] === '-' && last[0] === '-') out[out.length - 1] = `-${Number(m) + Number(n)}`;
    else out.push(item);
  }
  return out;
}

/** What git.ts takes from a stream: each run of `+` lines (text without the marks, line count), `-` runs (count), other lines. */
function walk(diff: DiffBytes, chunks: readonly Buffer[]): string[] {
  const got: string[] = [];
  const onBytes = (buf: Buffer) => {
    let pos = 0;
    while (pos < buf.length) {
      const c = buf[pos];
      if (c === 43 || c === 45) {
        const end = diff.cut(buf, pos, buf.length, c, c === 43);
        if (end > pos) {
          got.push(c === 43 ? `+${diff.lines}:${diff.text}` : `-${diff.lines}`);
          pos = end;
          continue;
        }
      }
      const nl = buf.indexOf(10, pos);
      got.push(`=${buf.toString('latin1', pos, nl)}`);
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
  return merged(got);
}

/** The same, from the whole text with regexes. */
function reference(text: string): string[] {
  const got: string[] = [];
  const whole = text.endsWith('\n') || text === '' ? text : text + '\n';
  const runs = /(\+[^\n]*\n)+|(-[^\n]*\n)+|([^\n]*)\n/gy;
  for (let m = runs.exec(whole); m !== null; m = runs.exec(whole)) {
    const lines = m[0].slice(0, -1).split('\n');
    if (m[1] !== undefined) got.push(`+${lines.length}:${lines.map((l) => l.slice(1)).join('\n')}`);
    else if (m[2] !== undefined) got.push(`-${lines.length}`);
    else got.push(`=${m[3] ?? ''}`);
  }
  return got;
}

void test('runs of added lines are cut the same in WebAssembly and JavaScript, however the stream is split into reads', () => {
  let seed = 31;
  const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff) % n);
  const line = () => ['+', '+', '+', '-', ' ', '@@ -1 +1 @@', 'diff --git a/x b/x', ''][rand(8)] + 'abc\xe9+-'.repeat(rand(6)).slice(0, rand(20));
  const cases: { text: string; chunks: Buffer[] }[] = [];
  for (let i = 0; i < 300; i++) {
    const lines = Array.from({ length: rand(30) }, line);
    // A line longer than the memory first taken (128 KiB), kept across reads while it arrives.
    if (i % 50 === 7) lines.splice(rand(lines.length + 1), 0, '+' + 'x'.repeat(300_000));
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
  }
});
