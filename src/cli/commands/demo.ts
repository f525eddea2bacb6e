import { type Command, Option } from 'commander';
import { BACKENDS, type BackendName, type DemoStep, ExitCode, runDemo } from '../../index.js';
import type { CliContext } from '../context.js';
import { printJson } from '../output.js';

export function registerDemo(program: Command, ctx: () => CliContext): void {
  program
    .command('demo')
    .description('build what is needed, start a bottle with a scripted agent and show, live, what it can and cannot reach')
    .addOption(new Option('--backend <name>', 'where the demo bottle runs').choices([...BACKENDS]).default('docker'))
    .option('--json', 'print the results as JSON')
    .option('--verbose', 'show image build output')
    .action(async (flags: { backend: BackendName; json?: boolean; verbose?: boolean }) => {
      const c = ctx();
      // Ctrl-C or SIGTERM: the demo's bottle and upstream are removed before exiting (a second Ctrl-C forces).
      const interrupt = new AbortController();
      const onSignal = (signal: NodeJS.Signals) => {
        process.stderr.write(`\n${signal}: removing the demo bottle\n`);
        interrupt.abort();
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const print = (s: DemoStep) => {
        if (flags.json) return;
        const mark = s.ok ? c.c.green('✔') : c.c.red('✘');
        const verdict = s.expect === 'reachable' ? 'reachable' : 'blocked  ';
        process.stdout.write(`${mark} ${verdict} ${s.name}${s.detail ? c.c.dim(`  — ${s.detail}`) : ''}\n`);
      };
      let result: Awaited<ReturnType<typeof runDemo>>;
      try {
        result = await runDemo(c.settings, c.progress(flags.verbose), print, flags.backend, interrupt.signal);
      } catch (e) {
        if (!interrupt.signal.aborted) throw e;
        process.exitCode = ExitCode.interrupted;
        return;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      const { identity, steps } = result;
      const failed = steps.filter((s) => !s.ok).length;
      if (flags.json) printJson({ identity, steps, passed: steps.length - failed, failed });
      else process.stdout.write(`\n${failed === 0 ? c.c.green('demo passed') : c.c.red('demo FAILED')}: ${steps.length - failed} of ${steps.length} outcomes as expected; bottle ${identity} removed\n`);
      if (failed > 0) process.exitCode = ExitCode.failed;
    });
}
