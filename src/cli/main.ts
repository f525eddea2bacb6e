#!/usr/bin/env node
/** `bot-bottle`: parse, call the library, print. */
import { Command, CommanderError } from 'commander';
import { ExitCode, packageVersion } from '../index.js';
import { registerCompletion } from './commands/completion.js';
import { registerDashboard } from './commands/dashboard.js';
import { registerValidate } from './commands/validate.js';
import { registerDemo } from './commands/demo.js';
import { registerDoctor } from './commands/doctor.js';
import { registerEgress } from './commands/egress.js';
import { registerLogs } from './commands/logs.js';
import { registerManage } from './commands/manage.js';
import { registerScan } from './commands/scan.js';
import { registerExport } from './commands/export.js';
import { registerSupervise } from './commands/supervise.js';
import { registerStart } from './commands/start.js';
import { type CliContext, cliContext } from './context.js';
import { colorFor, colors, reportError } from './output.js';

async function main(argv: string[]): Promise<number> {
  let context: CliContext | undefined;
  const ctx = () => (context ??= cliContext());
  const program = new Command('bot-bottle')
    .description('Run coding agents as if they were already compromised: each in a bottle whose only way out is a bundle of sidecars you control.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  registerStart(program, ctx);
  registerManage(program, ctx);
  registerLogs(program, ctx);
  registerScan(program, ctx);
  registerExport(program, ctx);
  registerEgress(program, ctx);
  registerSupervise(program, ctx);
  registerDoctor(program, ctx);
  registerDemo(program, ctx);
  registerDashboard(program, ctx);
  registerValidate(program, ctx);
  registerCompletion(program, ctx);
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    return reportError(e, context?.e ?? colors(colorFor(process.stderr, process.env)));
  }
}

/**
 * Exit once stdout and stderr have drained. process.exit drops what a pipe
 * has not taken yet, so `proposals --json | slow-reader` was cut at 64 KiB
 * (invalid JSON); an empty write's callback runs after every earlier write.
 */
function exitAfterFlush(code: number): void {
  let left = 2;
  const done = (): void => {
    if (--left === 0) process.exit(code);
  };
  for (const stream of [process.stdout, process.stderr]) {
    // A reader that went away (EPIPE) has nothing left to wait for; the write's callback and
    // 'error' may both fire for one stream, which must count once.
    let settled = false;
    const once = (): void => {
      if (settled) return;
      settled = true;
      done();
    };
    stream.once('error', once);
    stream.write('', once);
  }
}

main(process.argv).then(
  (code) => exitAfterFlush(code),
  (e: unknown) => exitAfterFlush(reportError(e, colors(colorFor(process.stderr, process.env)))),
);
