import type { Command } from 'commander';
import { createInterface } from 'node:readline/promises';
import {
  BottleError,
  cleanup,
  freeze,
  exec,
  findOrphans,
  list,
  resolveIdentity,
  resume,
  runSession,
  destroy,
  type BottleListing,
} from '../../index.js';
import { askSecret } from '../ask.js';
import type { CliContext } from '../context.js';
import { age, paint, printJson, table } from '../output.js';
import { interruptible } from '../interrupt.js';
import { attachSession, stdinIfPiped } from '../session.js';
import { sessionEnded, sessionIO } from './start.js';

/** Statuses whose containers are up: what `stop --all` stops. Preserved and stopped bottles hold work. */
const UP = new Set(['running', 'detached', 'orphan']);

export function registerManage(program: Command, ctx: () => CliContext): void {
  program
    .command('exec')
    .description('run a command in the agent (stdin, stdout, stderr and exit code pass through)')
    .argument('<identity>', 'bottle identity or a unique prefix of one (see `bot-bottle list`)')
    .argument('<command...>', 'command and arguments, after `--`')
    .option('-t, --tty', 'allocate a terminal (default: when stdin and stdout are terminals)')
    .addHelpText('after', '\nExit code: the command\'s own (127 when it does not exist in the bottle).\n\nExamples:\n  bot-bottle exec dev-k3x9q2 -- ls -la /workspace\n  echo hello | bot-bottle exec dev-k3x9q2 -- cat\n')
    .action(async (identityArg: string, command: string[], flags: { tty?: boolean }) => {
      const c = ctx();
      const identity = await resolveIdentity(c.settings, identityArg, { engine: true });
      const tty = flags.tty ?? (process.stdin.isTTY === true && process.stdout.isTTY === true);
      if (tty && process.stdin.isTTY) process.stdin.setRawMode(true);
      try {
        process.exitCode = await exec(c.settings, identity, command, { stdin: tty ? process.stdin : stdinIfPiped(), stdout: process.stdout, stderr: process.stderr, tty });
      } finally {
        if (tty && process.stdin.isTTY) process.stdin.setRawMode(false);
      }
    });

  program
    .command('list')
    .aliases(['ls', 'ps'])
    .description('running, detached, preserved, stopped and orphaned bottles')
    .option('-q, --quiet', 'identities only, one per line')
    .option('--json', 'print a JSON array (`[]` when there are none)')
    .addHelpText('after', '\nExamples:\n  bot-bottle ls\n  bot-bottle list --json\n  bot-bottle ps -q\n')
    .action(async (flags: { json?: boolean; quiet?: boolean }) => {
      const c = ctx();
      const bottles = await list(c.settings);
      if (flags.json) return printJson(bottles);
      if (flags.quiet) return void process.stdout.write(bottles.map((b) => `${b.identity}\n`).join(''));
      if (bottles.length === 0) return void process.stdout.write('no bottles\n');
      const rows = [['IDENTITY', 'LABEL', 'AGENT', 'BACKEND', 'STATUS', 'SERVICES', 'AGE'].map((h) => c.c.bold(h))];
      for (const b of bottles) rows.push(listingRow(b, c));
      process.stdout.write(table(rows));
    });

  program
    .command('stop')
    .alias('rm')
    .description('stop bottles and remove their resources and state; their audit log and proposals are archived (--preserve keeps workspace and state for `resume`)')
    .argument('[identities...]', 'bottle identities or unique prefixes')
    .option('-a, --all', 'every bottle whose containers are up (preserved and stopped ones are kept: name them to remove them)')
    .option('--preserve', 'keep the workspace volume and state so `resume` can continue it')
    .option('-q, --quiet', 'print only the identities stopped')
    .option('--json', 'print a JSON object: {"stopped": [{"identity", "preserved"}]}')
    .addHelpText('after', '\nA name that matches no bottle is an error (exit 4); the others are still stopped.\n\nExamples:\n  bot-bottle stop dev-k3x9q2 --preserve\n  bot-bottle rm dev-k3\n  bot-bottle stop --all\n')
    .action(async (names: string[], flags: { all?: boolean; preserve?: boolean; quiet?: boolean; json?: boolean }) => {
      const c = ctx();
      if (flags.all && names.length > 0) throw new BottleError('usage', '--all and identities are exclusive', { fix: 'bot-bottle stop --all, or bot-bottle stop ID…' });
      if (!flags.all && names.length === 0) throw new BottleError('usage', 'which bottle? name one or more, or pass --all', { fix: 'bot-bottle stop ID… (see bot-bottle list)' });
      const preserve = flags.preserve === true;
      let targets: string[] = [];
      let firstError: BottleError | undefined;
      if (flags.all) {
        targets = (await list(c.settings)).filter((b) => UP.has(b.status)).map((b) => b.identity);
      } else {
        for (const name of names) {
          try {
            const id = await resolveIdentity(c.settings, name, { engine: true });
            if (!targets.includes(id)) targets.push(id);
          } catch (e) {
            if (!(e instanceof BottleError)) throw e;
            firstError ??= e;
            process.stderr.write(`${c.e.red('error:')} ${e.message}\n`);
          }
        }
      }
      const stopped: { identity: string; preserved: boolean }[] = [];
      for (const identity of targets) {
        await destroy(c.settings, identity, { preserve });
        stopped.push({ identity, preserved: preserve });
        if (flags.json) continue;
        if (flags.quiet) process.stdout.write(`${identity}\n`);
        else process.stdout.write(preserve ? `stopped and preserved ${identity} (bot-bottle resume ${identity})\n` : `stopped and removed ${identity} (its log: bot-bottle logs ${identity})\n`);
      }
      if (flags.json) printJson({ stopped });
      else if (flags.all && stopped.length === 0 && !flags.quiet) process.stdout.write('no running bottles\n');
      if (firstError) {
        if (firstError.fix) process.stderr.write(`${c.e.dim('fix:')} ${firstError.fix}\n`);
        process.exitCode = firstError.exitCode;
      }
    });

  program
    .command('resume')
    .description('relaunch a stopped or preserved bottle with its recorded agent, bottles, backend and workspace; it stays preserved until `stop`')
    .argument('<identity>', 'bottle identity or a unique prefix')
    .option('--detach', 'return once ready')
    .option('--headless', 'no questions')
    .option('--prompt <text>', 'headless prompt to run')
    .option('--json', 'print a JSON object (with a session: at its end, with the exit code; the agent\'s output goes to stderr)')
    .addHelpText('after', '\nLeaving a resumed session (exit) keeps the bottle preserved; `bot-bottle stop ID` removes it.\n\nExamples:\n  bot-bottle resume dev-k3x9q2 --detach\n  bot-bottle resume dev-k3 --headless --prompt "ls /workspace"\n')
    .action(async (identityArg: string, flags: { detach?: boolean; headless?: boolean; prompt?: string; json?: boolean }) => {
      const c = ctx();
      const identity = await resolveIdentity(c.settings, identityArg);
      if (flags.detach && flags.prompt !== undefined) {
        throw new BottleError('usage', '--prompt runs in an attached session; a detached bottle has no session to run it in', { fix: `bot-bottle resume ${identity} --detach, then: bot-bottle exec ${identity} -- bash -c "…"` });
      }
      const headless = flags.headless === true || flags.prompt !== undefined;
      const progress = c.progress();
      const started = await interruptible((signal) => resume(c.settings, identity, { progress, ask: askSecret, detach: flags.detach, headless, prompt: flags.prompt, signal }));
      if (flags.detach) {
        if (flags.json) printJson({ identity: started.identity, status: 'ready', resumed: true });
        else process.stdout.write(`${started.identity}\n`);
        progress.step(`ready: bot-bottle exec ${started.identity} -- bash   |   bot-bottle stop ${started.identity}`);
        return;
      }
      progress.step(`ready: ${started.identity} (resumed; leaving${flags.prompt === undefined ? ' the shell' : ''} keeps it preserved, \`bot-bottle stop ${started.identity}\` removes it)`);
      const code = await attachSession(c.settings, started, (io) => runSession(c.settings, started, flags.prompt, sessionIO(io, flags.json === true)));
      await sessionEnded(c, started.identity, code, flags.json === true, { resumed: true });
    });

  program
    .command('cleanup')
    .description('remove every orphaned container, network, volume and state folder (found by engine labels); their records are archived')
    .option('-y, --yes', 'do not ask')
    .option('-q, --quiet', 'print only the identities removed')
    .option('--json', 'print a JSON object: {"removed": [identity…]}')
    .addHelpText('after', '\nExamples:\n  bot-bottle cleanup\n  bot-bottle cleanup --yes --json\n')
    .action(async (flags: { yes?: boolean; quiet?: boolean; json?: boolean }) => {
      const c = ctx();
      const orphans = await findOrphans(c.settings);
      if (orphans.length === 0) {
        if (flags.json) printJson({ removed: [] });
        else if (!flags.quiet) process.stdout.write('nothing to clean up\n');
        return;
      }
      if (!flags.yes) {
        if (!process.stdin.isTTY) throw new BottleError('usage', `${orphans.length} orphan(s) found; refusing to remove without confirmation`, { fix: 'bot-bottle cleanup --yes' });
        process.stderr.write(orphans.map((o) => `  ${o.identity} (${o.status})`).join('\n') + '\n');
        const rl = createInterface({ input: process.stdin, output: process.stderr });
        const answer = await rl.question(`remove these ${orphans.length}? [y/N] `);
        rl.close();
        if (!/^y(es)?$/i.test(answer.trim())) return void process.stderr.write('nothing removed\n');
      }
      const report = await cleanup(c.settings, orphans);
      if (flags.json) printJson(report);
      else process.stdout.write(report.removed.map((id) => (flags.quiet ? `${id}\n` : `removed ${id}\n`)).join(''));
    });

  program
    .command('commit')
    .description('snapshot the agent container as an image; the bottle is preserved and the next `resume` boots from it')
    .argument('<identity>', 'bottle identity or a unique prefix')
    .option('--json', 'print a JSON object: {"identity", "image", "preserved", "running"}')
    .addHelpText('after', '\nExample:\n  bot-bottle commit dev-k3x9q2\n')
    .action(async (identityArg: string, flags: { json?: boolean }) => {
      const c = ctx();
      const identity = await resolveIdentity(c.settings, identityArg);
      const { image, running } = await freeze(c.settings, identity);
      if (flags.json) return printJson({ identity, image, preserved: true, running });
      // A running bottle is not stopped by a commit: say how to keep it, since a plain `stop` removes it.
      const next = running ? `; it keeps running: \`bot-bottle stop --preserve ${identity}\` keeps it, then \`bot-bottle resume ${identity}\` boots from this image` : `; it is preserved and \`bot-bottle resume ${identity}\` boots from this image`;
      process.stdout.write(`committed ${identity} as ${image}${next}\n`);
    });
}

function listingRow(b: BottleListing, c: CliContext): string[] {
  const status = b.status === 'orphan' ? c.c.red(b.status) : b.status === 'preserved' || b.status === 'stopped' ? c.c.yellow(b.status) : c.c.green(b.status);
  const services = Object.entries(b.services).filter(([k]) => k === 'agent' || k === 'bundle').map(([k, v]) => `${k}:${v}`).join(',') || '-';
  return [b.identity, b.label ? paint(c.c, b.color, b.label) : '-', b.agent ?? '?', b.backend, status, services, age(b.started_at)];
}
