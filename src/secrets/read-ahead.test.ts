import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { readAhead } from './read-ahead.js';

/** A child writing `mb` MiB of numbered lines as fast as the pipe takes them, and their digest. */
function writer(mb: number): { child: ReturnType<typeof spawn>; digest: string } {
  const script = `let s='';for(let i=0;s.length<${mb}*1048576;i++)s+='line '+i+' '+'x'.repeat(i%97)+'\\n';process.stdout.write(s);`;
  let s = '';
  for (let i = 0; s.length < mb * 1048576; i++) s += `line ${i} ${'x'.repeat(i % 97)}\n`;
  return { child: spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] }), digest: createHash('sha256').update(s).digest('hex') };
}

void test('every chunk is processed, in order, after the stream ended; a slow consumer pauses the stream past the limit and resumes it', async () => {
  const { child, digest } = writer(4);
  const hash = createHash('sha256');
  let pausedSeen = false;
  let chunks = 0;
  await readAhead(
    child.stdout!,
    (chunk) => {
      hash.update(chunk);
      chunks++;
      if (child.stdout!.isPaused()) pausedSeen = true;
      const until = Date.now() + 2;
      while (Date.now() < until); // slower than the writer: the queue fills
    },
    256 << 10,
  );
  assert.equal(hash.digest('hex'), digest);
  assert.ok(chunks > 1);
  assert.ok(pausedSeen, 'the stream was paused while more than the limit waited');
});

void test('an error from the consumer rejects with it, stops the stream, and no chunk is processed after it', async () => {
  const { child } = writer(4);
  let after = 0;
  let failed = false;
  await assert.rejects(
    readAhead(child.stdout!, () => {
      if (failed) after++;
      failed = true;
      throw new Error('bad chunk');
    }),
    /bad chunk/,
  );
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(after, 0);
  assert.ok(child.stdout!.destroyed);
  child.kill();
});

void test('an empty stream resolves', async () => {
  const child = spawn(process.execPath, ['-e', ''], { stdio: ['ignore', 'pipe', 'inherit'] });
  let calls = 0;
  await readAhead(child.stdout, () => calls++);
  assert.equal(calls, 0);
});

void test('onWait is told how long the reader waited for the writer, once its first chunk came', async () => {
  // The child's start (before its first write) is not a wait; the 300 ms between its two writes is.
  const child = spawn(process.execPath, ['-e', "process.stdout.write('a\\n'); setTimeout(() => process.stdout.write('b\\n'), 300);"], { stdio: ['ignore', 'pipe', 'inherit'] });
  const waits: number[] = [];
  const chunks: string[] = [];
  await readAhead(child.stdout, (chunk) => chunks.push(chunk.toString()), undefined, (ms) => waits.push(ms));
  assert.deepEqual(chunks, ['a\n', 'b\n']);
  assert.equal(waits.length, 1, String(waits));
  assert.ok((waits[0] ?? 0) > 200, String(waits));
});
