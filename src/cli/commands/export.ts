import type { Command } from 'commander';
import { exportBottle } from '../../index.js';
import type { CliContext } from '../context.js';
import { printJson } from '../output.js';

export function registerExport(program: Command, ctx: () => CliContext): void {
  program
    .command('export')
    .description("bring the agent's commits back to the host as a new branch (a git bundle; the agent's files are never mounted)")
    .argument('<identity>', 'the bottle')
    .argument('<dir>', 'a git repository (usually the one given to --cwd), or a new folder')
    .option('--branch <name>', 'branch to create (default: bot-bottle/<identity>); an existing branch is never overwritten')
    .option('--json', 'print {dir, branch, head, commits}')
    .addHelpText('after', '\nExamples:\n  bot-bottle export coder-x1y2z3 .\n  bot-bottle export coder-x1y2z3 ../review --branch agent-fix\n')
    .action(async (identity: string, dir: string, flags: { branch?: string; json?: boolean }) => {
      const c = ctx();
      const r = await exportBottle(c.settings, identity, dir, flags.branch === undefined ? {} : { branch: flags.branch });
      if (flags.json) printJson(r);
      else process.stdout.write(`${r.branch}: ${r.commits} commit${r.commits === 1 ? '' : 's'} from ${identity} in ${r.dir} (${r.head.slice(0, 12)})\n`);
    });
}
