/**
 * The human side of supervise: `supervise` (a live terminal screen over every
 * bottle's pending proposals) and its non-interactive twins `proposals`,
 * `approve`, `reject`. Exit codes: 0 ok, 2 usage (a reason missing, already
 * decided, a bad edit), 4 unknown proposal id.
 */
import { spawnSync } from 'node:child_process';
import { type FSWatcher, mkdtempSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emitKeypressEvents } from 'node:readline';
import type { Command } from 'commander';
import {
  BottleError,
  capabilityDiff,
  decideProposal,
  rebuildAndResume,
  editableText,
  findProposal,
  listProposals,
  parseEditedText,
  superviseQueueDir,
  type DecideResult,
  type LocatedProposal,
  type Proposal,
  type Settings,
} from '../../index.js';
import type { CliContext } from '../context.js';
import { age, type Colors, printJson, table } from '../output.js';

export function registerSupervise(program: Command, ctx: () => CliContext): void {
  program
    .command('supervise')
    .description('watch every bottle\'s proposals live: approve, edit, or reject what agents and sidecars ask for')
    .addHelpText('after', '\nKeys: ↑/↓ or j/k select · a approve · e edit then approve · r reject · q quit\nA bell rings when a new proposal arrives.\n')
    .action(async () => {
      const c = ctx();
      if (process.stdin.isTTY !== true || process.stdout.isTTY !== true) {
        throw new BottleError('usage', 'supervise is an interactive screen and needs a terminal', { fix: 'bot-bottle proposals --json, bot-bottle approve ID, bot-bottle reject ID --reason TEXT' });
      }
      await runScreen(c.settings, c.c);
    });

  program
    .command('proposals')
    .description('pending proposals of every bottle (what agents, the egress proxy and the git-gate are waiting on)')
    .option('--json', 'print a JSON array (`[]` when there are none)')
    .option('-q, --quiet', 'proposal ids only, one per line')
    .option('--all', 'include decided ones')
    .action(async (flags: { json?: boolean; quiet?: boolean; all?: boolean }) => {
      const c = ctx();
      const list = await listProposals(c.settings.home, { all: flags.all === true });
      if (flags.json) return printJson(list.map(({ identity, proposal }) => ({ ...proposal, identity })));
      if (flags.quiet) return void process.stdout.write(list.map(({ proposal }) => `${proposal.id}\n`).join(''));
      if (list.length === 0) return void process.stdout.write(flags.all ? 'no proposals\n' : 'no pending proposals\n');
      const rows = [['ID', 'BOTTLE', 'KIND', ...(flags.all ? ['STATE'] : []), 'AGE', 'SUMMARY'].map((h) => c.c.bold(h))];
      for (const { identity, proposal: p } of list) {
        rows.push([p.id, identity, p.kind, ...(flags.all ? [stateText(c.c, p.state)] : []), age(p.created_at), p.summary]);
      }
      process.stdout.write(table(rows));
      if (!flags.all) process.stdout.write(c.c.dim('\nbot-bottle approve ID [--note TEXT] · bot-bottle reject ID --reason TEXT · bot-bottle supervise\n'));
    });

  program
    .command('approve')
    .description('approve a proposal (sidecar-raised ones need --note with the reason it is safe)')
    .argument('<id>', 'proposal id (see `bot-bottle proposals`)')
    .option('--note <text>', 'a note for the agent (the reason, for held requests and pushes)')
    .option('--edited <file>', 'approve this changed request instead: JSON (egress) or a whole Dockerfile (capability)')
    .option('--json', 'print a JSON object')
    .addHelpText('after', '\nExamples:\n  bot-bottle approve egress-1a2b3c4d --note "read-only is fine"\n  bot-bottle approve dlp-20250101120000-0a1b2c3d --note "test fixture, not a real key"\n')
    .action(async (id: string, flags: { note?: string; edited?: string; json?: boolean }) => {
      const c = ctx();
      let edited: Record<string, unknown> | undefined;
      if (flags.edited !== undefined) {
        const { proposal } = await findProposal(c.settings.home, id);
        let text: string;
        try {
          text = await readFile(flags.edited, 'utf8');
        } catch (e) {
          throw new BottleError('usage', `cannot read ${flags.edited}: ${e instanceof Error ? e.message : String(e)}`);
        }
        edited = parseEditedText(proposal, text);
      }
      const r = await decideProposal(c.settings, id, { approve: true, ...(flags.note === undefined ? {} : { note: flags.note }), ...(edited ? { edited_request: edited } : {}) });
      report(c, r, flags.json === true);
      await applyIfCapability(c, r);
    });

  program
    .command('reject')
    .description('reject a proposal; the reason goes back to whoever asked')
    .argument('<id>', 'proposal id (see `bot-bottle proposals`)')
    .requiredOption('--reason <text>', 'why not (the agent reads it)')
    .option('--json', 'print a JSON object')
    .action(async (id: string, flags: { reason: string; json?: boolean }) => {
      const c = ctx();
      const r = await decideProposal(c.settings, id, { approve: false, note: flags.reason });
      report(c, r, flags.json === true);
    });
}

/** An approved capability change takes effect now: rebuild the image, resume the bottle. */
async function applyIfCapability(c: CliContext, r: DecideResult): Promise<void> {
  const p = r.proposal;
  if (p.kind !== 'capability' || !(p.state === 'approved' || p.state === 'approved-with-edits')) return;
  const done = await rebuildAndResume(c.settings, r.identity, { progress: c.progress(), why: p.summary });
  process.stderr.write(`${r.identity} rebuilt and resumed in ${(done.ms / 1000).toFixed(1)} s\n`);
}

function report(c: CliContext, r: DecideResult, json: boolean): void {
  if (json) return printJson({ identity: r.identity, proposal: r.proposal, effects: r.effects });
  const p = r.proposal;
  process.stdout.write(`${stateText(c.c, p.state)} ${p.id} (${r.identity}): ${p.summary}\n`);
  for (const e of r.effects) process.stdout.write(`  ${e}\n`);
}

function stateText(c: Colors, state: string): string {
  if (state === 'approved' || state === 'approved-with-edits') return c.green(state);
  if (state === 'rejected' || state === 'expired' || state === 'withdrawn') return c.red(state);
  return c.yellow(state);
}

// ---------------------------------------------------------------- the screen

export interface ScreenState {
  readonly items: readonly LocatedProposal[];
  readonly selected: number;
  readonly message: string;
  /** A line being typed (note or reason), with its label. */
  readonly input?: { readonly label: string; readonly text: string };
}

/** The whole screen as lines, cut to the terminal: pure, for tests. */
export function renderScreen(s: ScreenState, cols: number, rows: number, c: Colors, now = Date.now()): string[] {
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
    const line = `${mark} ${p.id.padEnd(16)} ${it.identity.padEnd(18)} ${p.kind.padEnd(12)} ${age(p.created_at, now).padStart(3)}  ${p.summary}`;
    out.push(cut(i === s.selected ? c.bold(line) : line));
  }
  out.push(c.dim('─'.repeat(Math.max(1, Math.min(cols, 80)))));
  const footer = [
    s.input ? `${s.input.label}: ${s.input.text}█` : c.dim('↑/↓ select · a approve · e edit+approve · r reject · q quit'),
    s.message ? s.message : '',
  ];
  const room = Math.max(0, rows - out.length - footer.length);
  const sel = s.items[s.selected];
  const detail = sel ? detailLines(sel, c) : [c.dim('Waiting for proposals. Agents ask through the supervise MCP tools (or bottle-ask);'), c.dim('the egress proxy and the git-gate raise held requests and pushes here.')];
  for (const l of detail.slice(0, room)) out.push(cut(l));
  while (out.length < rows - footer.length) out.push('');
  for (const f of footer) out.push(cut(f));
  return out;
}

export function detailLines(it: LocatedProposal, c: Colors): string[] {
  const p = it.proposal;
  const lines = [
    `${c.bold(p.id)}  ${p.kind} in ${it.identity}, raised by ${p.raised_by} ${age(p.created_at)} ago`,
    `${c.bold('summary:')} ${p.summary}`,
    ...(p.why ? wrapLabel('why:', p.why, c) : []),
  ];
  if (p.needs_reason) lines.push(c.yellow('approving needs a reason (a sidecar held this: say why it is safe)'));
  lines.push('');
  const diff = capabilityDiff(p);
  if (diff !== undefined) {
    for (const l of diff.split('\n')) {
      if (l.startsWith('+') && !l.startsWith('+++')) lines.push(c.green(l));
      else if (l.startsWith('-') && !l.startsWith('---')) lines.push(c.red(l));
      else if (l.startsWith('@@')) lines.push(c.cyan(l));
      else lines.push(l);
    }
  } else {
    lines.push(c.bold('request:'));
    for (const l of JSON.stringify(p.request, null, 2).split('\n')) lines.push(`  ${l}`);
  }
  return lines;
}

function wrapLabel(label: string, text: string, c: Colors): string[] {
  const [first, ...rest] = text.split('\n');
  return [`${c.bold(label)} ${first ?? ''}`, ...rest.map((l) => `     ${l}`)];
}

// eslint-disable-next-line no-control-regex -- ANSI colour codes have no width
const ANSI_AT = /^\x1b\[[0-9;]*m/;

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

interface Key {
  readonly name?: string;
  readonly ctrl?: boolean;
  readonly sequence?: string;
}

async function runScreen(settings: Settings, c: Colors): Promise<void> {
  let state: ScreenState = { items: [], selected: 0, message: '' };
  const seen = new Set<string>();
  let firstLoad = true;
  const watchers = new Map<string, FSWatcher>();
  let onLine: ((text: string | undefined) => void) | undefined;
  let busy = false;
  let paused = false;

  const draw = () => {
    if (paused) return;
    const lines = renderScreen(state, process.stdout.columns || 100, process.stdout.rows || 30, c);
    process.stdout.write('\x1b[H' + lines.map((l) => `${l}\x1b[K`).join('\n') + '\x1b[J');
  };

  const refresh = async () => {
    const items = await listProposals(settings.home);
    let fresh = false;
    for (const it of items) {
      if (!seen.has(it.proposal.id)) {
        seen.add(it.proposal.id);
        if (!firstLoad) fresh = true;
      }
    }
    firstLoad = false;
    const current = state.items[state.selected]?.proposal.id;
    const idx = current === undefined ? 0 : items.findIndex((it) => it.proposal.id === current);
    state = { ...state, items, selected: Math.max(0, Math.min(idx === -1 ? state.selected : idx, items.length - 1)) };
    if (fresh) process.stdout.write('\x07');
    for (const { identity } of items) watchDir(superviseQueueDir(settings.home, identity));
    draw();
  };
  let queued = false;
  const kick = () => {
    if (queued) return;
    queued = true;
    setTimeout(() => {
      queued = false;
      refresh().catch((e: unknown) => setMessage(c.red(`refresh failed: ${e instanceof Error ? e.message : String(e)}`)));
    }, 30);
  };
  const watchDir = (dir: string) => {
    if (watchers.has(dir)) return;
    try {
      watchers.set(dir, watch(dir, kick));
    } catch {
      // not there yet: the poll finds it
    }
  };
  const setMessage = (message: string) => {
    state = { ...state, message };
    draw();
  };

  const ask = (label: string): Promise<string | undefined> =>
    new Promise((resolve) => {
      state = { ...state, input: { label, text: '' } };
      draw();
      onLine = (text) => {
        onLine = undefined;
        state = { ...state, input: undefined };
        resolve(text);
      };
    });

  const decide = async (p: Proposal, approve: boolean, edited?: Record<string, unknown>) => {
    const label = approve ? (p.needs_reason ? 'reason it is safe (required)' : 'note for the agent (optional, Enter to skip)') : 'reason (required)';
    const note = await ask(`${approve ? 'approve' : 'reject'} ${p.id} - ${label}`);
    if (note === undefined) return setMessage(c.dim('cancelled'));
    try {
      const r = await decideProposal(settings, p.id, { approve, ...(note.trim() ? { note } : {}), ...(edited ? { edited_request: edited } : {}) });
      setMessage(`${stateText(c, r.proposal.state)} ${p.id}${r.effects.length ? ': ' + r.effects.join('; ') : ''}`);
      if (approve && r.proposal.kind === 'capability') {
        const done = await rebuildAndResume(settings, r.identity, { why: r.proposal.summary });
        setMessage(`${p.id}: ${r.identity} rebuilt and resumed in ${(done.ms / 1000).toFixed(1)} s`);
      }
    } catch (e) {
      setMessage(c.red(e instanceof Error ? e.message : String(e)));
    }
    await refresh();
  };

  const edit = async (p: Proposal) => {
    const { text, suffix } = editableText(p);
    const dir = mkdtempSync(join(tmpdir(), 'bb-edit-'));
    const file = join(dir, `${p.id}${suffix}`);
    writeFileSync(file, text, { mode: 0o600 });
    const editor = settings.hostEnv.VISUAL || settings.hostEnv.EDITOR || 'vi';
    leaveScreen();
    paused = true;
    const r = spawnSync('sh', ['-c', `${editor} "$1"`, 'editor', file], { stdio: 'inherit' });
    paused = false;
    enterScreen();
    const saved = readFileSync(file, 'utf8');
    rmSync(dir, { recursive: true, force: true });
    if (r.status !== 0) return setMessage(c.red(`${editor} exited with ${r.status ?? r.signal}; nothing approved`));
    let edited: Record<string, unknown> | undefined;
    try {
      edited = parseEditedText(p, saved);
    } catch (e) {
      return setMessage(c.red(e instanceof Error ? e.message : String(e)));
    }
    if (!edited) return setMessage(c.dim('unchanged; nothing approved (use a to approve as proposed)'));
    await decide(p, true, edited);
  };

  const enterScreen = () => {
    process.stdout.write('\x1b[?1049h\x1b[?25l');
    process.stdin.setRawMode(true);
    process.stdin.resume();
    draw();
  };
  const leaveScreen = () => {
    process.stdin.setRawMode(false);
    process.stdout.write('\x1b[?25h\x1b[?1049l');
  };

  await new Promise<void>((resolve) => {
    const quit = () => {
      clearInterval(poll);
      for (const w of watchers.values()) w.close();
      process.stdin.off('keypress', onKey);
      process.stdout.off('resize', draw);
      leaveScreen();
      process.stdin.pause();
      resolve();
    };
    const onKey = (str: string | undefined, key: Key | undefined) => {
      if (key?.ctrl && key.name === 'c') return quit();
      if (onLine) {
        const cur = state.input?.text ?? '';
        if (key?.name === 'return' || key?.name === 'enter') return onLine(cur);
        if (key?.name === 'escape') return onLine(undefined);
        if (key?.name === 'backspace') {
          state = { ...state, input: { label: state.input?.label ?? '', text: cur.slice(0, -1) } };
          return draw();
        }
        if (str && !key?.ctrl && str >= ' ') {
          state = { ...state, input: { label: state.input?.label ?? '', text: cur + str } };
          draw();
        }
        return;
      }
      if (busy) return;
      const sel = state.items[state.selected]?.proposal;
      const run = (f: () => Promise<void>) => {
        busy = true;
        f()
          .catch((e: unknown) => setMessage(c.red(e instanceof Error ? e.message : String(e))))
          .finally(() => (busy = false));
      };
      switch (key?.name ?? str ?? '') {
        case 'q':
          return quit();
        case 'up':
        case 'k':
          state = { ...state, selected: Math.max(0, state.selected - 1), message: '' };
          return draw();
        case 'down':
        case 'j':
          state = { ...state, selected: Math.min(Math.max(0, state.items.length - 1), state.selected + 1), message: '' };
          return draw();
        case 'a':
          if (sel) run(() => decide(sel, true));
          return;
        case 'r':
          if (sel) run(() => decide(sel, false));
          return;
        case 'e':
          if (sel && (sel.kind === 'egress-route' || sel.kind === 'capability')) run(() => edit(sel));
          else if (sel) setMessage(c.yellow(`a ${sel.kind} proposal cannot be edited, only approved or rejected`));
          return;
        default:
          return;
      }
    };
    emitKeypressEvents(process.stdin);
    process.stdin.on('keypress', onKey);
    process.stdout.on('resize', draw);
    const poll = setInterval(kick, 1000);
    enterScreen();
    kick();
  });
}
