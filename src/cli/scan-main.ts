/**
 * `bot-bottle scan` on its own: the same command as main.ts registers (same
 * options, help, output and exit codes), without loading the rest of the
 * program. It imports the scanner and errors directly rather than through
 * index.ts, whose other operations pull in every backend's libraries.
 */
import { Command, CommanderError } from 'commander';
import { ExitCode } from '../errors.js';
import { registerScan } from './commands/scan.js';
import { exitAfterFlush, failIfUnsettled, noteClosedPipe } from './exit.js';
import { colorFor, colors, reportError } from './output.js';

async function main(argv: string[]): Promise<number> {
  const c = colors(colorFor(process.stdout, process.env));
  const e = colors(colorFor(process.stderr, process.env));
  const program = new Command('bot-bottle').showHelpAfterError('(add --help for usage)').exitOverride();
  registerScan(program, () => ({ c }));
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    return reportError(err, e);
  }
}

// `scan --json` piped into another program must arrive whole; one that stops reading is no error of ours.
noteClosedPipe();
const end = (code: number) => exitAfterFlush(code, ExitCode.pipeClosed);
const run = main(process.argv);
failIfUnsettled(run, 'the scan');
run.then(end, (e: unknown) => end(reportError(e, colors(colorFor(process.stderr, process.env)))));
