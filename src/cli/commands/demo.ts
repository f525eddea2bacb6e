import { type Command, Option } from 'commander';
import { BACKENDS, type BackendName, ExitCode, runDemo } from '../../index.js';
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
      const { identity, steps } = await runDemo(c.settings, c.progress(flags.verbose), (s) => {
        if (flags.json) return;
        const mark = s.ok ? c.c.green('✔') : c.c.red('✘');
        const verdict = s.expect === 'reachable' ? 'reachable' : 'blocked  ';
        process.stdout.write(`${mark} ${verdict} ${s.name}${s.detail ? c.c.dim(`  — ${s.detail}`) : ''}\n`);
      }, flags.backend);
      const failed = steps.filter((s) => !s.ok).length;
      if (flags.json) printJson({ identity, steps, passed: steps.length - failed, failed });
      else process.stdout.write(`\n${failed === 0 ? c.c.green('demo passed') : c.c.red('demo FAILED')}: ${steps.length - failed} of ${steps.length} outcomes as expected; bottle ${identity} removed\n`);
      if (failed > 0) process.exitCode = ExitCode.failed;
    });
}
