import type { Command } from 'commander';
import { doctor } from '../../index.js';
import type { CliContext } from '../context.js';
import { printJson } from '../output.js';

export function registerDoctor(program: Command, ctx: () => CliContext): void {
  program
    .command('doctor')
    .description('what this host offers (engine, gVisor, KVM, base images, registry), with the fix for each gap')
    .option('--no-network', 'skip checks that contact the internet (registry)')
    .option('--json', 'print a JSON array')
    .action(async (flags: { network: boolean; json?: boolean }) => {
      const c = ctx();
      const checks = await doctor(c.settings, { network: flags.network });
      if (flags.json) return printJson(checks);
      for (const ch of checks) {
        process.stdout.write(`${ch.ok ? c.c.green('ok ') : c.c.yellow('gap')}  ${ch.name.padEnd(28)} ${ch.detail}\n`);
        if (!ch.ok && ch.fix) process.stdout.write(`     ${' '.repeat(28)} ${c.c.dim('fix: ' + ch.fix)}\n`);
      }
      // Only an unreachable engine makes the host unusable.
      if (checks.some((ch) => ch.name === 'engine' && !ch.ok)) process.exitCode = 5;
    });
}
