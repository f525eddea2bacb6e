/**
 * The escape suite as node:test cases (one per attack) against one backend,
 * for `npm test`: a case fails when an attack the threat model says is
 * stopped gets through, or when it cannot run. The table (case, expected,
 * result) is printed at the end.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadBackend } from './backend.js';
import { selectCases } from './cases/index.js';
import { formatTable, runCase, type CaseResult } from './suite.js';
import { makeWorld, type World } from './world.js';

export function escapeTests(backendName: string, prefixes: readonly string[]): void {
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

    for (const c of selectCases(prefixes)) {
      it(`${c.id}: ${c.attack}`, async () => {
        if (w === undefined) throw new Error('the world did not start');
        const r = await runCase(c, w);
        results.push(r);
        assert.ok(!r.failed, `${r.result} (expected ${c.expect}): ${r.detail}`);
      });
    }
  });
}
