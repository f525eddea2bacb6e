import type { Command } from 'commander';
import { cleanup, freeze, exec, findOrphans, list, resume, runSession, destroy, BottleError, type BottleListing } from '../../index.js';
import { askSecret } from '../ask.js';
import type { CliContext } from '../context.js';
import { age, paint, printJson, table } from '../output.js';
import { attachSession, stdinIfPiped } from '../session.js';
import { createInterface } from 'node:readline/promises';

export function registerManage(program: Command, ctx: () => CliContext): void {
  program
    .command('exec')
    .description('run a command in the agent (stdin, stdout, stderr and exit code pass through)')
    .argument('<identity>', 'bottle identity (see `bot-bottle list`)')
    .argument('<command...>', 'command and arguments, after `--`')
    .option('-t, --tty', 'allocate a terminal (default: when stdin and stdout are terminals)')
    .addHelpText('after', '\nExample:\n  bot-bottle exec dev-k3x9q2 -- git -C /workspace status\n')
    .action(async (identity: string, command: string[], flags: { tty?: boolean }) => {
      const c = ctx();
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
    .description('running, detached, preserved and orphaned bottles')
    .option('--json', 'print a JSON array')
    .action(async (flags: { json?: boolean }) => {
      const c = ctx();
      const bottles = await list(c.settings);
      if (flags.json) return printJson(bottles);
      if (bottles.length === 0) return void process.stdout.write('no bottles\n');
      const rows = [['IDENTITY', 'LABEL', 'AGENT', 'BACKEND', 'STATUS', 'SERVICES', 'AGE'].map((h) => c.c.bold(h))];
      for (const b of bottles) rows.push(listingRow(b, c));
      process.stdout.write(table(rows));
    });

  program
    .command('stop')
    .description('stop a bottle and remove its resources and state (--preserve keeps workspace and state for `resume`)')
    .argument('<identity>', 'bottle identity')
    .option('--preserve', 'keep the workspace volume and state so `resume` can continue it')
    .option('--json', 'print a JSON object')
    .action(async (identity: string, flags: { preserve?: boolean; json?: boolean }) => {
      const c = ctx();
      await destroy(c.settings, identity, { preserve: flags.preserve === true });
      if (flags.json) printJson({ identity, stopped: true, preserved: flags.preserve === true });
      else process.stdout.write(`${flags.preserve ? 'stopped and preserved' : 'stopped and removed'} ${identity}\n`);
    });

  program
    .command('resume')
    .description('relaunch a stopped or preserved bottle with its recorded agent, bottles and backend')
    .argument('<identity>', 'bottle identity')
    .option('--detach', 'return once ready')
    .option('--headless', 'no questions')
    .option('--prompt <text>', 'headless prompt to run')
    .option('--json', 'print a JSON object')
    .action(async (identity: string, flags: { detach?: boolean; headless?: boolean; prompt?: string; json?: boolean }) => {
      const c = ctx();
      const headless = flags.headless === true || flags.prompt !== undefined;
      const started = await resume(c.settings, identity, { progress: c.progress(), ask: askSecret, detach: flags.detach, headless, prompt: flags.prompt });
      if (flags.json) printJson({ identity: started.identity, status: 'ready', resumed: true });
      if (flags.detach) {
        if (!flags.json) process.stdout.write(`${started.identity}\n`);
        return;
      }
      process.exitCode = await attachSession(c.settings, started, (io) => runSession(c.settings, started, flags.prompt, io));
    });

  program
    .command('cleanup')
    .description('remove every orphaned container, network, volume and state folder (found by engine labels)')
    .option('-y, --yes', 'do not ask')
    .option('--json', 'print a JSON object')
    .action(async (flags: { yes?: boolean; json?: boolean }) => {
      const c = ctx();
      const orphans = await findOrphans(c.settings);
      if (orphans.length === 0) {
        if (flags.json) printJson({ removed: [] });
        else process.stdout.write('nothing to clean up\n');
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
      else process.stdout.write(report.removed.map((id) => `removed ${id}\n`).join(''));
    });

  program
    .command('commit')
    .description('snapshot the agent container as an image; the next `resume` boots from it')
    .argument('<identity>', 'bottle identity')
    .option('--json', 'print a JSON object')
    .action(async (identity: string, flags: { json?: boolean }) => {
      const c = ctx();
      const tag = await freeze(c.settings, identity);
      if (flags.json) printJson({ identity, image: tag, preserved: true });
      else process.stdout.write(`committed ${identity} as ${tag}; it is preserved and resumes from this image\n`);
    });
}

function listingRow(b: BottleListing, c: CliContext): string[] {
  const status = b.status === 'orphan' ? c.c.red(b.status) : b.status === 'preserved' || b.status === 'stopped' ? c.c.yellow(b.status) : c.c.green(b.status);
  const services = Object.entries(b.services).filter(([k]) => k === 'agent' || k === 'bundle').map(([k, v]) => `${k}:${v}`).join(',') || '-';
  return [b.identity, b.label ? paint(c.c, b.color, b.label) : '-', b.agent ?? '?', b.backend, status, services, age(b.startedAt)];
}
