/**
 * The supervise screen's terminal side: raw keys in, the rendered screen
 * out (alternate screen, redrawn in place), the queues watched (and polled,
 * since inotify misses writes across some bind mounts), and the reducer's
 * effects run: decisions, the editor, the rebuild of an approved capability
 * change, the bell.
 */
import { spawnSync } from 'node:child_process';
import { type FSWatcher, mkdtempSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emitKeypressEvents } from 'node:readline';
import { decideProposal, editableText, listProposals, parseEditedText, rebuildAndResume, superviseQueueDir, type Proposal, type Settings } from '../../index.js';
import type { Colors } from '../output.js';
import { renderScreen } from './render.js';
import { type Effect, INITIAL, type Key, type Message, reduce, type ScreenEvent, type ScreenState } from './state.js';

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export async function runScreen(settings: Settings, c: Colors): Promise<void> {
  const out = process.stdout;
  const stdin = process.stdin;
  let state: ScreenState = INITIAL;
  let paused = false;
  const watchers = new Map<string, FSWatcher>();
  let finish: (() => void) | undefined;

  const draw = (): void => {
    if (paused) return;
    const lines = renderScreen(state, out.columns || 100, out.rows || 30, c);
    out.write('\x1b[H' + lines.map((l) => `${l}\x1b[K`).join('\n') + '\x1b[J');
  };

  const dispatch = (e: ScreenEvent): void => {
    const step = reduce(state, e);
    state = step.state;
    draw();
    for (const effect of step.effects) run(effect);
  };
  const say = (tone: Message['tone'], text: string): void => dispatch({ type: 'message', message: { tone, text } });

  const refresh = async (): Promise<void> => {
    const items = await listProposals(settings.home);
    dispatch({ type: 'loaded', items });
    for (const { identity } of items) watchDir(superviseQueueDir(settings.home, identity));
  };
  let queued = false;
  const kick = (): void => {
    if (queued) return;
    queued = true;
    setTimeout(() => {
      queued = false;
      refresh().catch((e: unknown) => say('error', `refresh failed: ${errorText(e)}`));
    }, 30);
  };
  const watchDir = (dir: string): void => {
    if (watchers.has(dir)) return;
    try {
      watchers.set(dir, watch(dir, kick));
    } catch {
      // not there yet: the poll finds it
    }
  };

  const decide = async (p: Proposal, approve: boolean, note: string, edited: Record<string, unknown> | undefined): Promise<void> => {
    const r = await decideProposal(settings, p.id, { approve, ...(note.trim() ? { note } : {}), ...(edited ? { edited_request: edited } : {}) });
    const ok = r.proposal.state === 'approved' || r.proposal.state === 'approved-with-edits';
    say(ok ? 'ok' : 'error', `${r.proposal.state} ${p.id}${r.effects.length ? ': ' + r.effects.join('; ') : ''}`);
    if (approve && r.proposal.kind === 'capability') {
      const done = await rebuildAndResume(settings, r.identity, { why: r.proposal.summary });
      say('plain', `${p.id}: ${r.identity} rebuilt and resumed in ${(done.ms / 1000).toFixed(1)} s`);
    }
  };

  /** Open the proposal in $VISUAL/$EDITOR; the changed request, or undefined (with a message) when nothing is to be approved. */
  const edit = (p: Proposal): Record<string, unknown> | undefined => {
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
    if (r.status !== 0) {
      say('error', `${editor} exited with ${r.status ?? r.signal}; nothing approved`);
      return undefined;
    }
    const edited = parseEditedText(p, saved);
    if (!edited) say('dim', 'unchanged; nothing approved (use a to approve as proposed)');
    return edited;
  };

  const run = (effect: Effect): void => {
    switch (effect.type) {
      case 'bell':
        out.write('\x07');
        return;
      case 'quit':
        finish?.();
        return;
      case 'decide':
        decide(effect.proposal, effect.approve, effect.note, effect.edited)
          .catch((e: unknown) => say('error', errorText(e)))
          .finally(() => {
            dispatch({ type: 'idle' });
            kick();
          });
        return;
      case 'edit': {
        let edited: Record<string, unknown> | undefined;
        try {
          edited = edit(effect.proposal);
        } catch (e) {
          say('error', errorText(e));
        }
        if (edited) dispatch({ type: 'edited', proposal: effect.proposal, edited });
        else dispatch({ type: 'idle' });
        return;
      }
      default: {
        const never: never = effect;
        throw new Error(`unknown effect ${JSON.stringify(never)}`);
      }
    }
  };

  const enterScreen = (): void => {
    out.write('\x1b[?1049h\x1b[?25l');
    stdin.setRawMode(true);
    stdin.resume();
    draw();
  };
  const leaveScreen = (): void => {
    stdin.setRawMode(false);
    out.write('\x1b[?25h\x1b[?1049l');
  };

  await new Promise<void>((resolve) => {
    const onKey = (str: string | undefined, key: Key | undefined): void => dispatch({ type: 'key', str, key });
    const poll = setInterval(kick, 1000);
    finish = () => {
      finish = undefined;
      clearInterval(poll);
      for (const w of watchers.values()) w.close();
      stdin.off('keypress', onKey);
      out.off('resize', draw);
      leaveScreen();
      stdin.pause();
      resolve();
    };
    emitKeypressEvents(stdin);
    stdin.on('keypress', onKey);
    out.on('resize', draw);
    enterScreen();
    kick();
  });
}
