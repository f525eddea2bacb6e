import { resolve } from 'node:path';
import type { Command } from 'commander';
// The scanner and errors directly, not index.ts: cli/scan-main.ts loads this without the rest of the program.
import { BottleError, ExitCode } from '../../errors.js';
import { scanRange, type GitFinding } from '../../secrets/index.js';
import type { CliContext } from '../context.js';

export interface ScanFlags {
  repo?: string;
  range?: string;
  all?: boolean;
  json?: boolean;
  entropy?: boolean;
}

/** One line per finding: `{"commit","path","line","rule"}` (+ `"allowed": true`). */
export function findingJson(f: GitFinding): string {
  const o: Record<string, unknown> = { commit: f.commit, path: f.path, line: f.line, rule: f.rule };
  if (f.allowed) o.allowed = true;
  return JSON.stringify(o);
}

/** Run a scan as the CLI does; returns the exit code (0 clean, 1 findings). */
export async function runScan(flags: ScanFlags, c: CliContext['c'], write: (s: string) => void): Promise<number> {
  if (flags.all && flags.range) throw new BottleError('usage', '--range and --all are exclusive', { fix: 'pass one of --range BASE..HEAD or --all' });
  if (!flags.all && !flags.range) throw new BottleError('usage', 'nothing to scan: no --range', { fix: 'pass --range BASE..HEAD (or --all for the whole history)' });
  if (flags.range && !/^[^\s.][^\s]*\.\.\.?[^\s]+$/.test(flags.range)) {
    // One commit named alone gets the range of that commit; a range with spaces in it, no example built from it.
    const oneCommit = !/\s|\.\./.test(flags.range);
    throw new BottleError('usage', `--range ${JSON.stringify(flags.range)} is not BASE..HEAD`, {
      fix: oneCommit ? `pass --range BASE..HEAD, e.g. --range ${flags.range}^..${flags.range} for one commit, or --all` : 'pass --range BASE..HEAD (two revisions, no spaces), e.g. --range origin/main..HEAD, or --all',
    });
  }
  const repo = resolve(flags.repo ?? '.');
  const findings = await scanRange(repo, flags.all ? '--all' : (flags.range ?? ''), { entropy: flags.entropy === true });
  if (flags.json) {
    // One write: to a file or a terminal each write is a system call of its own.
    if (findings.length > 0) write(findings.map((f) => findingJson(f) + '\n').join(''));
  } else if (findings.length === 0) {
    write(`${c.green('clean')}: no secrets in ${flags.all ? 'the history' : flags.range}\n`);
  } else {
    for (const f of findings) {
      const where = f.line > 0 ? `${f.path}:${f.line}` : f.path;
      const note = [f.via ? `in ${f.via}` : '', f.allowed ? c.yellow('allow marker: needs a human') : ''].filter(Boolean).join(', ');
      write(`${c.dim(f.commit.slice(0, 12))}  ${c.bold(where)}  ${c.red(f.rule)}  ${f.redacted}${note ? '  ' + note : ''}\n`);
    }
    const commits = new Set(findings.map((f) => f.commit)).size;
    write(`${c.red(`${findings.length} finding${findings.length === 1 ? '' : 's'}`)} in ${commits} commit${commits === 1 ? '' : 's'}; rewrite them (git commit --amend, git rebase -i) before pushing\n`);
  }
  return findings.length > 0 ? ExitCode.failed : ExitCode.ok;
}

export function registerScan(program: Command, ctx: () => Pick<CliContext, 'c'>, write: (s: string) => void = (s) => void process.stdout.write(s)): void {
  program
    .command('scan')
    .description('scan the commits of a range for secrets: added lines, binary files, commit and annotated tag messages')
    .option('--repo <path>', 'repository (working tree or bare)', '.')
    .option('--range <BASE..HEAD>', 'the commits to scan: those in HEAD and not in BASE')
    .option('--all', 'scan every commit reachable from any ref')
    .option('--entropy', 'also report high-entropy strings no rule names (noisy)')
    .option('--json', 'one JSON object per finding and line: {"commit","path","line","rule"} (+ "allowed": true)')
    .addHelpText(
      'after',
      [
        '',
        'Only lines a commit adds are scanned, so secrets already in BASE are not reported.',
        'path is <commit-message> or <tag:NAME> for messages; line 0 means inside a binary file.',
        'A line with `bot-bottle:allow` (or `gitleaks:allow`) is still reported, with "allowed": true.',
        '',
        'Exit codes: 0 no findings, 1 findings (allowed ones included), 2 usage (bad --repo or --range).',
        '',
        'Example:',
        '  bot-bottle scan --repo . --range origin/main..HEAD --json',
        '',
      ].join('\n'),
    )
    .action(async (flags: ScanFlags) => {
      const c = ctx();
      process.exitCode = await runScan(flags, c.c, write);
    });
}
