import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { withLock } from './lock.js';

void test('withLock takes over a stale lock whose owner is dead, and serialises live holders', async () => {
  const dead = spawn('true');
  const deadPid = await new Promise<number>((r) => dead.on('exit', () => r(dead.pid!)));
  const lockDir = join(tmpdir(), 'bot-bottle-test-stale.lock');
  await mkdir(lockDir, { recursive: true });
  await writeFile(join(lockDir, 'owner'), JSON.stringify({ pid: deadPid }));
  // A dead owner's lock is taken over at once (a live one would be waited for).
  assert.equal(await withLock('test-stale', () => Promise.resolve(42), { maxWaitMs: 5_000 }), 42);
  await assert.rejects(stat(lockDir));

  const order: string[] = [];
  const hold = (id: string) =>
    withLock(
      'test-serial',
      async () => {
        order.push(`${id}+`);
        await new Promise((r) => setTimeout(r, 100));
        order.push(`${id}-`);
      },
      { pollMs: 20 },
    );
  await Promise.all([hold('a'), hold('b'), hold('c')]);
  for (let i = 0; i < order.length; i += 2) assert.equal(order[i].slice(0, 1), order[i + 1].slice(0, 1), order.join(' '));
});

