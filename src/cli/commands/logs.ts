import type { Command } from 'commander';
import { followAudit, readAudit, readMetadata, type AuditEntry } from '../../index.js';
import type { CliContext } from '../context.js';
import type { Colors } from '../output.js';

export function registerLogs(program: Command, ctx: () => CliContext): void {
  program
    .command('logs')
    .description("the bottle's audit log: every egress request with its verdict, every push with its scan result, every proposal")
    .argument('<identity>', 'bottle identity')
    .option('-f, --follow', 'keep printing new entries until interrupted')
    .option('--json', 'one JSON object per line')
    .action(async (identity: string, flags: { follow?: boolean; json?: boolean }) => {
      const c = ctx();
      await readMetadata(c.settings.home, identity);
      const print = (e: AuditEntry) => process.stdout.write((flags.json ? JSON.stringify(e) : formatEntry(e, c.c)) + '\n');
      for (const e of await readAudit(c.settings.home, identity)) print(e);
      if (!flags.follow) return;
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      process.once('SIGTERM', () => stop.abort());
      await followAudit(c.settings.home, identity, print, stop.signal);
    });
}

const DENIED = /deny|block|reject|refus|hold|expired|fail/i;

export function formatEntry(e: AuditEntry, c: Colors): string {
  const s = (k: string): string => {
    const v = e[k];
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return `${v}`;
    return v === undefined || v === null ? '' : JSON.stringify(v);
  };
  const verdict = s('verdict') || s('state') || s('event');
  const paint = DENIED.test(verdict) ? c.red : verdict === 'allow' || verdict === 'accepted' || verdict === 'approved' ? c.green : (x: string) => x;
  const what =
    e.source === 'egress'
      ? `${s('method')} ${s('host')}${s('port') && s('port') !== '443' ? ':' + s('port') : ''}${s('path')} → ${s('status')} ${s('bytes_out')}/${s('bytes_in')} B ${s('ms')} ms`
      : e.source === 'git-gate'
        ? `${s('op')} ${s('repo')} ${s('refs')} ${s('commits_scanned') ? s('commits_scanned') + ' commits' : ''}`
        : `${s('id')} ${s('kind')} ${s('summary')}`;
  const why = [s('reason'), s('rule'), s('note')].filter(Boolean).join(' · ');
  return `${c.dim(e.time)}  ${e.source.padEnd(9)} ${paint(verdict.padEnd(10))} ${what}${why ? c.dim('  ' + why) : ''}`;
}
