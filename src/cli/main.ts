#!/usr/bin/env node
/** `bot-bottle`: parse, call the library, print. */
import { Command, CommanderError } from 'commander';
// Leaves, not index.ts: the program and its help load no lifecycle module (see COMMANDS).
import { ExitCode } from '../errors.js';
import { packageVersion } from '../paths.js';
import { type CliContext, cliContext } from './context.js';
import { exitAfterFlush } from './exit.js';
import { colorFor, colors, reportError } from './output.js';

type Register = (program: Command, ctx: () => CliContext) => void;

/**
 * Each command's module, loaded on demand: `bot-bottle start` loads the
 * start command's code and what it calls, not the dashboard's web server, the
 * supervise screen or the egress proxy (module loading was most of the CLI's
 * start-up). In the order `--help` lists them.
 */
const COMMANDS: readonly (readonly [names: readonly string[], load: () => Promise<Register>])[] = [
  [['start'], async () => (await import('./commands/start.js')).registerStart],
  [['exec', 'list', 'stop', 'resume', 'cleanup', 'commit'], async () => (await import('./commands/manage.js')).registerManage],
  [['logs'], async () => (await import('./commands/logs.js')).registerLogs],
  [['scan'], async () => (await import('./commands/scan.js')).registerScan],
  [['export'], async () => (await import('./commands/export.js')).registerExport],
  [['egress'], async () => (await import('./commands/egress.js')).registerEgress],
  [['supervise', 'proposals', 'approve', 'reject'], async () => (await import('./commands/supervise.js')).registerSupervise],
  [['doctor'], async () => (await import('./commands/doctor.js')).registerDoctor],
  [['demo'], async () => (await import('./commands/demo.js')).registerDemo],
  [['dashboard'], async () => (await import('./commands/dashboard.js')).registerDashboard],
  [['validate'], async () => (await import('./commands/validate.js')).registerValidate],
  // Completion reads every command's options: it registers them all (see below).
  [['completion', '__complete'], async () => (await import('./commands/completion.js')).registerCompletion],
];

/**
 * The commands to register: the one named on the command line alone (its
 * help, parsing and errors are the same as with all of them registered), or
 * every one for the program's help, an unknown name and completion.
 */
function commandsFor(argv: readonly string[]): readonly (() => Promise<Register>)[] {
  const named = argv[2];
  const one = COMMANDS.find(([names]) => named !== undefined && names.includes(named) && !names.includes('completion'));
  return one ? [one[1]] : COMMANDS.map(([, load]) => load);
}

async function main(argv: string[]): Promise<number> {
  let context: CliContext | undefined;
  const ctx = () => (context ??= cliContext());
  const program = new Command('bot-bottle')
    .description('Run coding agents as if they were already compromised: each in a bottle whose only way out is a bundle of sidecars you control.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  try {
    for (const register of await Promise.all(commandsFor(argv).map((load) => load()))) register(program, ctx);
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    return reportError(e, context?.e ?? colors(colorFor(process.stderr, process.env)));
  }
}

main(process.argv).then(
  (code) => exitAfterFlush(code),
  (e: unknown) => exitAfterFlush(reportError(e, colors(colorFor(process.stderr, process.env)))),
);
