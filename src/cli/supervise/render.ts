/**
 * The supervise screen as lines of text: a pure function of the screen
 * state and the terminal size. Everything a bottle wrote (summaries, the
 * agent's `why`, a proposed Dockerfile, the request) passes through
 * `visible`, so an escape sequence in it is shown, never obeyed.
 */
import { capabilityDiff, type LocatedProposal, visible, visibleJson } from '../../index.js';
import { age, type Colors } from '../output.js';
import type { ScreenState, Tone } from './state.js';

/** Bottle text on one line, its escapes marked. */
const shown = (c: Colors, text: string): string => visible(text, { mark: (e) => c.inverse(e) });

/**
 * Bottle text that may span lines (a why, a Dockerfile), escaped and wrapped
 * to the screen: never cut, so nothing can hide past the right edge (a long
 * line padded with spaces before `&& curl … | sh`).
 */
function wrapped(text: string, width: number): string[] {
  const w = Math.max(10, width);
  return visible(text, { lines: true })
    .replace(/\t/g, ' ')
    .split('\n')
    .flatMap((line) => {
      if (line.length <= w) return [line];
      const parts: string[] = [];
      for (let i = 0; i < line.length; i += w - 2) parts.push((i === 0 ? '' : '↪ ') + line.slice(i, i + w - 2));
      return parts;
    });
}

export function toneText(c: Colors, tone: Tone, text: string): string {
  switch (tone) {
    case 'ok':
      return c.green(text);
    case 'error':
      return c.red(text);
    case 'warn':
      return c.yellow(text);
    case 'dim':
      return c.dim(text);
    case 'plain':
      return text;
    default: {
      const never: never = tone;
      return String(never);
    }
  }
}

/** The whole screen as lines, cut to the terminal. */
export function renderScreen(s: Pick<ScreenState, 'items' | 'selected' | 'message' | 'input'>, cols: number, rows: number, c: Colors, now = Date.now()): string[] {
  const cut = (line: string) => cutVisible(line, cols);
  const out: string[] = [];
  out.push(cut(`${c.bold('bot-bottle supervise')}  ${s.items.length === 0 ? 'no pending proposals' : `${s.items.length} pending`}`));
  const listRows = Math.max(3, Math.min(s.items.length, Math.floor(rows / 3)));
  const first = Math.max(0, Math.min(s.selected - Math.floor(listRows / 2), s.items.length - listRows));
  for (let i = first; i < Math.min(s.items.length, first + listRows); i++) {
    const it = s.items[i];
    if (!it) continue;
    const p = it.proposal;
    const mark = i === s.selected ? c.cyan('>') : ' ';
    const line = `${mark} ${shown(c, p.id).padEnd(16)} ${shown(c, it.identity).padEnd(18)} ${shown(c, p.kind).padEnd(12)} ${age(p.created_at, now).padStart(3)}  ${shown(c, p.summary)}`;
    out.push(cut(i === s.selected ? c.bold(line) : line));
  }
  out.push(c.dim('─'.repeat(Math.max(1, Math.min(cols, 80)))));
  const message = toneText(c, s.message.tone, s.message.text);
  const footer = [s.input ? `${s.input.label}: ${shown(c, s.input.text)}█` : c.dim('↑/↓ select · a approve · e edit+approve · r reject · q quit'), message];
  const room = Math.max(0, rows - out.length - footer.length);
  const sel = s.items[s.selected];
  const detail = sel
    ? detailLines(sel, c, now, cols)
    : [c.dim('Waiting for proposals. Agents ask through the supervise MCP tools (or bottle-ask);'), c.dim('the egress proxy and the git-gate raise held requests and pushes here.')];
  // What does not fit is said, never silently dropped: the rest of a proposal is what an attacker would hide there.
  const shownDetail = detail.length <= room ? detail : [...detail.slice(0, Math.max(0, room - 1)), c.yellow(`… ${detail.length - room + 1} more line(s): e opens the whole proposal in $EDITOR (a larger terminal shows more)`)];
  for (const l of shownDetail) out.push(cut(l));
  while (out.length < rows - footer.length) out.push('');
  for (const f of footer) out.push(cut(f));
  return out;
}

export function detailLines(it: LocatedProposal, c: Colors, now = Date.now(), cols = 100): string[] {
  const p = it.proposal;
  const lines = [
    `${c.bold(shown(c, p.id))}  ${shown(c, p.kind)} in ${shown(c, it.identity)}, raised by ${shown(c, p.raised_by)} ${age(p.created_at, now)} ago`,
    ...wrapLabel('summary:', wrapped(p.summary, cols - 9), c),
    ...(p.why ? wrapLabel('why:', wrapped(p.why, cols - 9), c) : []),
  ];
  if (p.needs_reason) lines.push(c.yellow('approving needs a reason (a sidecar held this: say why it is safe)'));
  lines.push('');
  const diff = capabilityDiff(p);
  if (diff !== undefined) {
    for (const l of wrapped(diff, cols)) {
      if (l.startsWith('+') && !l.startsWith('+++')) lines.push(c.green(l));
      else if (l.startsWith('-') && !l.startsWith('---')) lines.push(c.red(l));
      else if (l.startsWith('@@')) lines.push(c.cyan(l));
      else lines.push(l);
    }
  } else {
    lines.push(c.bold('request:'));
    for (const l of wrapped(visibleJson(p.request, 2), cols - 2)) lines.push(`  ${l}`);
  }
  return lines;
}

function wrapLabel(label: string, lines: readonly string[], c: Colors): string[] {
  const [first, ...rest] = lines;
  return [`${c.bold(label)} ${first ?? ''}`, ...rest.map((l) => `${' '.repeat(label.length + 1)}${l}`)];
}

// eslint-disable-next-line no-control-regex -- our own colour codes have no width
const ANSI_AT = /^\x1b\[[0-9;]*m/;

/** Cut a line to `cols` visible characters, keeping (our own) colour codes. */
function cutVisible(line: string, cols: number): string {
  let out = '';
  let width = 0;
  for (let i = 0; i < line.length; ) {
    const m = ANSI_AT.exec(line.slice(i));
    if (m) {
      out += m[0];
      i += m[0].length;
      continue;
    }
    if (width >= cols) {
      i++;
      continue;
    }
    const ch = line[i] ?? '';
    out += ch === '\t' ? ' ' : ch;
    width++;
    i++;
  }
  return out + (out.includes('\x1b[') ? '\x1b[0m' : '');
}
