import type { Command } from 'commander';
import { auditOrigin, auditWindow, BottleError, followAudit, parseSince, readArchived, readAudit, resolveIdentity, visible, visibleJson, type AuditEntry } from '../../index.js';
import type { CliContext } from '../context.js';
import { type Colors, printJsonLine } from '../output.js';

interface LogsFlags {
  follow?: boolean;
  json?: boolean;
  tail?: string;
  since?: string;
}

export function registerLogs(program: Command, ctx: () => CliContext): void {
  program
    .command('logs')
    .description("the bottle's audit log: every egress request with its verdict, every push with its scan result, every proposal (kept after the bottle is removed)")
    .argument('<identity>', 'bottle identity or a unique prefix (removed bottles too, while their archive is kept)')
    .option('-f, --follow', 'keep printing new entries until interrupted')
    .option('--json', 'JSON lines: one object per entry, nothing when there are none')
    .option('-n, --tail <n>', 'only the last N entries')
    .option('--since <when>', 'only entries since a duration ago (10m, 2h, 1d) or a date (2026-12-02T10:00:00Z)')
    .addHelpText('after', '\nA removed bottle\'s log is read from its archive (BOT_BOTTLE_ARCHIVE_DAYS, default 90 days).\n\nExamples:\n  bot-bottle logs dev-k3x9q2 --tail 20\n  bot-bottle logs dev-k3 --since 1h --json\n')
    .action(async (identityArg: string, flags: LogsFlags) => {
      const c = ctx();
      const tail = flags.tail === undefined ? undefined : Number(flags.tail);
      if (tail !== undefined && !(Number.isInteger(tail) && tail >= 0)) throw new BottleError('usage', `--tail ${JSON.stringify(flags.tail)} is not a whole number`, { fix: '--tail 20' });
      const since = flags.since === undefined ? undefined : parseSince(flags.since);
      const identity = await resolveIdentity(c.settings, identityArg, { archived: true });
      const origin = await auditOrigin(c.settings.home, identity);
      if (origin === undefined) throw new BottleError('not-found', `no log for ${identity}: its state is gone and nothing was archived`, { fix: 'BOT_BOTTLE_ARCHIVE_DAYS=0 keeps no archive; see `bot-bottle list`' });
      const print = (e: AuditEntry) => (flags.json ? printJsonLine(e) : process.stdout.write(formatEntry(e, c.c) + '\n'));
      if (origin === 'archive') {
        const a = await readArchived(c.settings.home, identity);
        process.stderr.write(c.e.dim(`${identity} was removed${a.archived_at ? ` at ${a.archived_at}` : ''}; its archived log:`) + '\n');
      }
      const entries = auditWindow(await readAudit(c.settings.home, identity), { ...(tail === undefined ? {} : { tail }), ...(since === undefined ? {} : { since }) });
      for (const e of entries) print(e);
      // An archived bottle writes nothing more: following it would wait forever.
      if (!flags.follow || origin === 'archive') return;
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
    // Every field a bottle could have written is shown with its control characters made visible.
    if (typeof v === 'string') return visible(v, { mark: (x) => c.inverse(x) });
    if (typeof v === 'number' || typeof v === 'boolean') return `${v}`;
    return v === undefined || v === null ? '' : visibleJson(v);
  };
  const verdict = s('verdict') || s('state') || s('event');
  const paint = DENIED.test(verdict) ? c.red : verdict === 'allow' || verdict === 'accepted' || verdict === 'approved' ? c.green : (x: string) => x;
  const what =
    e.source === 'egress'
      ? `${s('method')} ${s('host')}${s('port') && s('port') !== '443' ? ':' + s('port') : ''}${s('path')} → ${s('status')} ${s('bytes_out')}/${s('bytes_in')} B ${s('ms')} ms`
      : e.source === 'git-gate'
        ? `${s('op')} ${s('repo')} ${s('refs')} ${s('commits_scanned') ? s('commits_scanned') + ' commits' : ''}`
        : `${s('id')} ${s('kind')} ${s('summary')}`;
  const why = [s('reason'), s('rule'), s('note'), inboundSummary(e)].filter(Boolean).join(' · ');
  return `${c.dim(visible(String(e.time)))}  ${visible(String(e.source)).padEnd(9)} ${paint(verdict.padEnd(10))} ${what}${why ? c.dim('  ' + why) : ''}`;
}

/** A fetch's prompt-injection findings (upstream's text, hostile: every field made visible). */
function inboundSummary(e: AuditEntry): string {
  const hits = Array.isArray(e.inbound) ? (e.inbound as unknown[]) : [];
  if (hits.length === 0) return typeof e.inbound_error === 'string' ? `inbound scan failed: ${visible(e.inbound_error)}` : '';
  const str = (o: unknown, k: string): string => {
    const v = o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined;
    return typeof v === 'string' || typeof v === 'number' ? visible(String(v)) : '';
  };
  const shown = hits.slice(0, 5).map((h) => `${str(h, 'rule')} ${str(h, 'commit').slice(0, 10)} ${str(h, 'path')}:${str(h, 'line')} "${str(h, 'excerpt')}"`);
  const more = hits.length > shown.length ? `; ${hits.length - shown.length} more (--json)` : '';
  return `inbound: ${hits.length} prompt-injection finding(s)${e.inbound_truncated === true ? ' (scan cut short)' : ''}: ${shown.join('; ')}${more}`;
}
