/**
 * `npm run escape [-- [--backend NAME] PREFIX…]`: run the escape suite and
 * print its table (case, expected, result) and counts. Backend: `--backend`,
 * else BOT_BOTTLE_ESCAPE_BACKEND, else docker. Exit 1 when a case the threat
 * model says is stopped got through or could not run.
 */
import { loadBackend } from './backend.js';
import { selectCases } from './cases/index.js';
import { formatTable, runCase, type CaseResult } from './suite.js';
import { makeWorld } from './world.js';

// `--backend NAME` (or BOT_BOTTLE_ESCAPE_BACKEND) picks the backend; the other arguments are case-id prefixes.
const args = process.argv.slice(2);
const at = args.indexOf('--backend');
const backendName = (at >= 0 ? args.splice(at, 2)[1] : undefined) || process.env.BOT_BOTTLE_ESCAPE_BACKEND || 'docker';
const cases = selectCases(args);
process.stderr.write(`escape suite: ${cases.length} cases on ${backendName}; starting the bottles (the first run builds images)\n`);

// A run stopped by hand (Ctrl-C, a CI timeout's SIGTERM) must not leave its
// two bottles and the git fixture running: the signal is noted, the case in
// flight ends, and the world is closed before the process exits. During
// setup the world does not exist yet, so the signal waits for it.
let stoppedBy: NodeJS.Signals | undefined;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    stoppedBy = sig;
    process.stderr.write(`escape suite: ${sig}: stopping after the current step, then removing the bottles and fixtures\n`);
  });
}

const w = await makeWorld(await loadBackend(backendName));
const results: CaseResult[] = [];
try {
  for (const c of cases) {
    if (stoppedBy) break;
    const r = await runCase(c, w);
    results.push(r);
    process.stderr.write(`${r.failed ? '✗' : '✓'} ${c.id}: ${r.result} ${r.detail}\n`);
  }
} finally {
  await w.close();
}
process.stdout.write(`${formatTable(results, backendName)}\n`);
// 128 + the signal's number, as a shell reports a process the signal ended.
process.exitCode = stoppedBy ? (stoppedBy === 'SIGINT' ? 130 : 143) : results.some((r) => r.failed) ? 1 : 0;
