import { type Command, Option } from 'commander';
import { ExitCode, validateManifests, type FileCheck, type ManifestKind } from '../../index.js';
import type { CliContext } from '../context.js';
import { printJson } from '../output.js';

export function registerValidate(program: Command, ctx: () => CliContext): void {
  program
    .command('validate')
    .description('check agent and bottle files without starting anything or asking for secrets (editors, CI)')
    .argument('[files...]', 'manifest files (default: every agent and bottle this home and folder would load)')
    .addOption(new Option('--kind <kind>', 'what the files are, when their folder (agents/, bottles/) does not say').choices(['agent', 'bottle']))
    .option('--json', 'print one JSON object: {"ok", "files": [{"file", "kind", "ok", "error", "needs"}]}')
    .addHelpText('after', '\nExit codes: 0 every file is valid, 3 at least one is not (each is reported).\n\nExamples:\n  bot-bottle validate\n  bot-bottle validate ~/.bot-bottle/bottles/dev.md --json\n')
    .action(async (files: string[], flags: { kind?: ManifestKind; json?: boolean }) => {
      const c = ctx();
      const checks = await validateManifests(c.settings, files, flags.kind === undefined ? {} : { kind: flags.kind });
      const ok = checks.every((f) => f.ok);
      if (flags.json) printJson({ ok, files: checks });
      else if (checks.length === 0) process.stdout.write('no agent or bottle files to check\n');
      else for (const f of checks) process.stdout.write(checkText(f, c));
      if (!ok) process.exitCode = ExitCode.manifest;
    });
}

function checkText(f: FileCheck, c: CliContext): string {
  const kind = `${f.kind}${f.kind_guessed ? '?' : ''}`.padEnd(7);
  if (!f.ok) {
    const lines = [`${c.c.red('FAIL')}  ${kind} ${f.file}`, `      ${f.error?.message ?? ''}`];
    if (f.error?.fix) lines.push(`      ${c.c.dim('fix: ' + f.error.fix)}`);
    return lines.join('\n') + '\n';
  }
  const needs = f.needs.map((n) => {
    const from = n.source === 'host_variable' ? `$${n.from}` : n.source === 'file' ? n.from : 'typed at launch';
    const flag = n.available === false ? (n.required ? c.c.red(' missing') : c.c.yellow(' missing')) : '';
    return `${n.key} ← ${from}${flag}`;
  });
  return `${c.c.green('ok')}    ${kind} ${f.file}${needs.length ? c.c.dim(`  needs: ${needs.join('; ')}`) : ''}\n`;
}
