import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SECOND_PIPED_LOG, secondLogTrigger, type SecondLogWhen } from './second-log.js';

/** Waits for git as `readAhead` reported them on this machine (ms, and when each ended), from the log's start. */
type Trace = readonly (readonly [ms: number, end: number])[];

// 21 commits of build output (source maps, minified files): the scanner is the slow side, and catches up with git
// now and then (bin/bot-bottle's log, no second log).
const BUILD_OUTPUT: Trace = [
  [0.3, 258], [0.6, 259], [0.3, 314], [1.5, 315], [0.3, 377], [5.2, 382], [0.1, 399], [0.3, 399], [0.3, 400],
  [2.7, 403], [7.5, 436], [0.1, 450], [0.5, 451], [0.4, 451], [0.2, 452], [3.8, 456], [0.3, 493], [1.2, 494],
  [0.1, 512], [1.8, 515], [0.4, 552], [1.5, 559], [0.4, 579], [0.3, 584], [0.3, 587], [0.3, 597], [0.1, 716],
  [1.9, 718], [0.1, 751], [0.4, 753], [0.4, 754], [0.3, 754], [1.1, 756], [1.1, 772], [2.0, 774], [1.2, 805],
];
// 200 commits of a real project's history: git's diffing is the slow side.
const HISTORY: Trace = [[10.2, 44], [0.1, 53], [15.9, 72], [15.9, 96], [32.9, 137], [0.6, 141], [23.6, 181]];

/** When (ms from the log's start) the trigger says to start a second log, or undefined. */
function firesAt(when: SecondLogWhen, trace: Trace): number | undefined {
  const fire = secondLogTrigger(when, 0);
  return trace.find(([ms, end]) => fire(ms, end))?.[1];
}

test('a second log starts where git is the slow side, not where the scanner only catches up now and then', () => {
  assert.equal(firesAt(SECOND_PIPED_LOG, HISTORY), 72);
  assert.equal(firesAt(SECOND_PIPED_LOG, BUILD_OUTPUT), undefined);
  // The waits alone reach the threshold there: the share of time spent waiting is what tells them apart.
  assert.equal(firesAt({ ...SECOND_PIPED_LOG, idleShare: 0 }, BUILD_OUTPUT), 451);
});

test('a log that has not run long enough is left alone, however long the scan waited', () => {
  assert.equal(firesAt({ waited: 20, after: 150, idleShare: 0.5 }, HISTORY), 181);
  assert.equal(firesAt({ waited: 20, after: 1000, idleShare: 0.5 }, HISTORY), undefined);
});
