import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LocatedProposal, Proposal } from '../../index.js';
import { type Effect, INITIAL, reduce, type ScreenEvent, type ScreenState } from './state.js';

const proposal = (id: string, kind: Proposal['kind'] = 'egress-route', needs_reason = false): Proposal => ({
  id,
  kind,
  bottle: 'b-1',
  raised_by: 'agent',
  request: {},
  summary: `${kind} ${id}`,
  why: '',
  state: 'pending',
  created_at: new Date(0).toISOString(),
  needs_reason,
});
const at = (...ps: Proposal[]): LocatedProposal[] => ps.map((p) => ({ identity: 'b-1', proposal: p }));
const key = (name: string, str = name): ScreenEvent => ({ type: 'key', str, key: { name } });
const typed = (text: string): ScreenEvent[] => [...text].map((ch) => ({ type: 'key', str: ch, key: { name: ch } }));

function play(events: readonly ScreenEvent[], from: ScreenState = INITIAL): { state: ScreenState; effects: Effect[] } {
  let state = from;
  const effects: Effect[] = [];
  for (const e of events) {
    const step = reduce(state, e);
    state = step.state;
    effects.push(...step.effects);
  }
  return { state, effects };
}

describe('supervise screen state', () => {
  it('rings the bell for proposals that arrive after the first load only', () => {
    const a = proposal('egress-aaaaaaaa');
    const b = proposal('egress-bbbbbbbb');
    const r = play([{ type: 'loaded', items: at(a) }, { type: 'loaded', items: at(a) }, { type: 'loaded', items: at(a, b) }]);
    assert.deepEqual(r.effects, [{ type: 'bell' }]);
  });

  it('keeps the selection on the same proposal when the list moves', () => {
    const [a, b, c] = [proposal('egress-aaaaaaaa'), proposal('egress-bbbbbbbb'), proposal('egress-cccccccc')];
    const r = play([{ type: 'loaded', items: at(a, b, c) }, key('down'), { type: 'loaded', items: at(b, c) }]);
    assert.equal(r.state.items[r.state.selected]?.proposal.id, b.id);
  });

  it('approve: asks for a note, then decides with what was typed; Escape cancels', () => {
    const a = proposal('egress-aaaaaaaa');
    const r = play([{ type: 'loaded', items: at(a) }, key('a'), ...typed('ok!'), key('backspace'), key('return')]);
    assert.deepEqual(r.effects, [{ type: 'decide', proposal: a, approve: true, note: 'ok' }]);
    assert.equal(r.state.busy, true);
    assert.equal(r.state.input, undefined);
    const c = play([{ type: 'loaded', items: at(a) }, key('r'), ...typed('no'), key('escape')]);
    assert.deepEqual(c.effects, []);
    assert.equal(c.state.message.text, 'cancelled');
  });

  it('a typed note takes printable text only', () => {
    const a = proposal('egress-aaaaaaaa');
    const r = play([{ type: 'loaded', items: at(a) }, key('a'), { type: 'key', str: '\x1b[2J', key: { name: 'undefined' } }, ...typed('x')]);
    assert.equal(r.state.input?.text, 'x');
  });

  it('keys wait while an action runs, except quit', () => {
    const a = proposal('egress-aaaaaaaa');
    const busy = play([{ type: 'loaded', items: at(a) }, key('a'), key('return')]).state;
    assert.deepEqual(reduce(busy, key('a')).effects, []);
    assert.equal(reduce(busy, key('a')).state.input, undefined);
    assert.deepEqual(reduce(busy, { type: 'key', str: undefined, key: { name: 'c', ctrl: true } }).effects, [{ type: 'quit' }]);
    assert.equal(reduce(busy, { type: 'idle' }).state.busy, false);
  });

  it('edit: only routes and capability changes; the edited request is approved with a note', () => {
    const held = proposal('dlp-aaaaaaaa', 'dlp-hold', true);
    const r = play([{ type: 'loaded', items: at(held) }, key('e')]);
    assert.deepEqual(r.effects, []);
    assert.match(r.state.message.text, /cannot be edited/);
    const cap = proposal('cap-bbbbbbbb', 'capability');
    const e = play([{ type: 'loaded', items: at(cap) }, key('e')]);
    assert.deepEqual(e.effects, [{ type: 'edit', proposal: cap }]);
    const edited = { dockerfile: 'FROM x\n' };
    const done = play([{ type: 'edited', proposal: cap, edited }, ...typed('fine'), key('return')], e.state);
    assert.deepEqual(done.effects, [{ type: 'decide', proposal: cap, approve: true, note: 'fine', edited }]);
  });
});
