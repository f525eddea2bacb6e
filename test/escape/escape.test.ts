/**
 * The escape suite under `npm test`: one test per attack, against the backend
 * named by BOT_BOTTLE_ESCAPE_BACKEND (default docker). A case fails when an
 * attack the threat model says is stopped gets through, or when it cannot
 * run. The table (case, expected, result) is printed at the end.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadBackend } from './backend.js';
import { selectCases } from './cases/index.js';
import { formatTable, runCase, type CaseResult } from './suite.js';
import { makeWorld, type World } from './world.js';

const backendName = process.env.BOT_BOTTLE_ESCAPE_BACKEND || 'docker';
const only = (process.env.BOT_BOTTLE_ESCAPE_ONLY ?? '').split(',').filter(Boolean);

describe(`escape suite (${backendName})`, { timeout: 40 * 60_000 }, () => {
  let w: World | undefined;
  const results: CaseResult[] = [];

  before(async () => {
    w = await makeWorld(await loadBackend(backendName));
  });

  after(async () => {
    if (results.length > 0) process.stdout.write(`\n${formatTable(results, backendName)}\n`);
    await w?.close();
  });

  for (const c of selectCases(only)) {
    it(`${c.id}: ${c.attack}`, async () => {
      if (w === undefined) throw new Error('the world did not start');
      const r = await runCase(c, w);
      results.push(r);
      assert.ok(!r.failed, `${r.result} (expected ${c.expect}): ${r.detail}`);
    });
  }
});
