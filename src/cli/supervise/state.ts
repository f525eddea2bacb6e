/**
 * The supervise screen's state and what changes it: a reducer from events
 * (proposals loaded, a key, an editor's result, an action finished) to the
 * next state and the effects the terminal side must run (ring the bell,
 * decide a proposal, open the editor, quit). Pure: no terminal, no disk.
 */
import type { LocatedProposal, Proposal } from '../../index.js';

export type Tone = 'plain' | 'ok' | 'error' | 'warn' | 'dim';

export interface Message {
  readonly tone: Tone;
  readonly text: string;
}

/** What the typed line is for. */
interface Pending {
  readonly proposal: Proposal;
  readonly approve: boolean;
  readonly edited?: Record<string, unknown>;
}

export interface ScreenState {
  readonly items: readonly LocatedProposal[];
  readonly selected: number;
  readonly message: Message;
  /** A line being typed (note or reason), with its label. */
  readonly input?: { readonly label: string; readonly text: string };
  readonly pending?: Pending;
  /** An action (decision, editor, rebuild) is running: keys other than quit wait. */
  readonly busy: boolean;
  /** Proposal ids already shown, so only new ones ring the bell. */
  readonly seen: ReadonlySet<string>;
  readonly loaded: boolean;
}

export interface Key {
  readonly name?: string;
  readonly ctrl?: boolean;
  readonly sequence?: string;
}

export type ScreenEvent =
  | { readonly type: 'loaded'; readonly items: readonly LocatedProposal[] }
  | { readonly type: 'key'; readonly str: string | undefined; readonly key: Key | undefined }
  /** The editor returned a changed request to approve. */
  | { readonly type: 'edited'; readonly proposal: Proposal; readonly edited: Record<string, unknown> }
  | { readonly type: 'message'; readonly message: Message }
  /** The running action finished (its outcome came as a message). */
  | { readonly type: 'idle' };

export type Effect =
  | { readonly type: 'bell' }
  | { readonly type: 'quit' }
  | { readonly type: 'decide'; readonly proposal: Proposal; readonly approve: boolean; readonly note: string; readonly edited?: Record<string, unknown> }
  | { readonly type: 'edit'; readonly proposal: Proposal };

export interface Step {
  readonly state: ScreenState;
  readonly effects: readonly Effect[];
}

export const INITIAL: ScreenState = { items: [], selected: 0, message: { tone: 'plain', text: '' }, busy: false, seen: new Set(), loaded: false };

const EDITABLE = new Set(['egress-route', 'capability']);

function promptFor(p: Proposal, approve: boolean): string {
  const label = approve ? (p.needs_reason ? 'reason it is safe (required)' : 'note for the agent (optional, Enter to skip)') : 'reason (required)';
  return `${approve ? 'approve' : 'reject'} ${p.id} - ${label}`;
}

function ask(s: ScreenState, pending: Pending): ScreenState {
  return { ...s, pending, input: { label: promptFor(pending.proposal, pending.approve), text: '' } };
}

function onLoaded(s: ScreenState, items: readonly LocatedProposal[]): Step {
  const fresh = items.some((it) => !s.seen.has(it.proposal.id));
  const seen = new Set([...s.seen, ...items.map((it) => it.proposal.id)]);
  // Keep the selection on the same proposal when the list moves under it.
  const current = s.items[s.selected]?.proposal.id;
  const idx = current === undefined ? 0 : items.findIndex((it) => it.proposal.id === current);
  const selected = Math.max(0, Math.min(idx === -1 ? s.selected : idx, items.length - 1));
  return { state: { ...s, items, selected, seen, loaded: true }, effects: fresh && s.loaded ? [{ type: 'bell' }] : [] };
}

function onTyping(s: ScreenState, str: string | undefined, key: Key | undefined): Step {
  const input = s.input ?? { label: '', text: '' };
  const name = key?.name;
  if (name === 'return' || name === 'enter') {
    const p = s.pending;
    const cleared = { ...s, input: undefined, pending: undefined };
    if (p === undefined) return { state: cleared, effects: [] };
    return {
      state: { ...cleared, busy: true },
      effects: [{ type: 'decide', proposal: p.proposal, approve: p.approve, note: input.text, ...(p.edited ? { edited: p.edited } : {}) }],
    };
  }
  if (name === 'escape') return { state: { ...s, input: undefined, pending: undefined, message: { tone: 'dim', text: 'cancelled' } }, effects: [] };
  if (name === 'backspace') return { state: { ...s, input: { ...input, text: input.text.slice(0, -1) } }, effects: [] };
  // Printable text only: a pasted escape sequence must not reach the note.
  if (str !== undefined && key?.ctrl !== true && str >= ' ' && !/[\p{Cc}]/u.test(str)) return { state: { ...s, input: { ...input, text: input.text + str } }, effects: [] };
  return { state: s, effects: [] };
}

export function reduce(s: ScreenState, e: ScreenEvent): Step {
  switch (e.type) {
    case 'loaded':
      return onLoaded(s, e.items);
    case 'message':
      return { state: { ...s, message: e.message }, effects: [] };
    case 'idle':
      return { state: { ...s, busy: false }, effects: [] };
    case 'edited':
      return { state: ask({ ...s, busy: false }, { proposal: e.proposal, approve: true, edited: e.edited }), effects: [] };
    case 'key': {
      if (e.key?.ctrl === true && e.key.name === 'c') return { state: s, effects: [{ type: 'quit' }] };
      if (s.input !== undefined) return onTyping(s, e.str, e.key);
      if (s.busy) return { state: s, effects: [] };
      const sel = s.items[s.selected]?.proposal;
      switch (e.key?.name ?? e.str ?? '') {
        case 'q':
          return { state: s, effects: [{ type: 'quit' }] };
        case 'up':
        case 'k':
          return { state: { ...s, selected: Math.max(0, s.selected - 1), message: { tone: 'plain', text: '' } }, effects: [] };
        case 'down':
        case 'j':
          return { state: { ...s, selected: Math.min(Math.max(0, s.items.length - 1), s.selected + 1), message: { tone: 'plain', text: '' } }, effects: [] };
        case 'a':
          return { state: sel ? ask(s, { proposal: sel, approve: true }) : s, effects: [] };
        case 'r':
          return { state: sel ? ask(s, { proposal: sel, approve: false }) : s, effects: [] };
        case 'e':
          if (sel === undefined) return { state: s, effects: [] };
          if (!EDITABLE.has(sel.kind)) return { state: { ...s, message: { tone: 'warn', text: `a ${sel.kind} proposal cannot be edited, only approved or rejected` } }, effects: [] };
          return { state: { ...s, busy: true }, effects: [{ type: 'edit', proposal: sel }] };
        default:
          return { state: s, effects: [] };
      }
    }
    default: {
      const never: never = e;
      throw new Error(`unknown screen event ${JSON.stringify(never)}`);
    }
  }
}
