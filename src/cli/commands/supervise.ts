/**
 * The human side of supervise: `supervise` (a live terminal screen over every
 * bottle's pending proposals) and its non-interactive twins `proposals`,
 * `approve`, `reject`. Exit codes: 0 ok, 2 usage (a reason missing, already
 * decided, a bad edit), 4 unknown proposal id.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { BottleError, decideProposal, findProposal, listProposals, parseEditedText, rebuildAndResume, visible, type DecideResult } from '../../index.js';
import type { CliContext } from '../context.js';
import { age, type Colors, printJson, table } from '../output.js';
import { runScreen } from '../supervise/screen.js';

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
      // Every field came from a bottle: shown with its control characters made visible.
      const v = (text: string) => visible(text, { mark: (e) => c.c.inverse(e) });
      const rows = [['ID', 'BOTTLE', 'KIND', ...(flags.all ? ['STATE'] : []), 'AGE', 'SUMMARY'].map((h) => c.c.bold(h))];
      for (const { identity, proposal: p } of list) {
        rows.push([v(p.id), v(identity), v(p.kind), ...(flags.all ? [stateText(c.c, p.state)] : []), age(p.created_at), v(p.summary)]);
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
  process.stdout.write(`${stateText(c.c, p.state)} ${visible(p.id)} (${visible(r.identity)}): ${visible(p.summary)}\n`);
  for (const e of r.effects) process.stdout.write(`  ${visible(e)}\n`);
}

function stateText(c: Colors, state: string): string {
  if (state === 'approved' || state === 'approved-with-edits') return c.green(state);
  if (state === 'rejected' || state === 'expired' || state === 'withdrawn') return c.red(state);
  return c.yellow(visible(state));
}
