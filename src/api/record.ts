/**
 * A bottle's record: its audit log and proposals, read from its state while
 * it exists and from its archive after teardown (SPEC §3: the record outlives
 * the bottle). `logs` and the dashboard read it through here.
 */
import { type ArchivedBottle, listArchivedIdentities, readArchived } from '../bottle/archive.js';
import { type AuditEntry, auditOrigin, readAudit } from '../bottle/audit.js';
import { type BottleMetadata, BottleState } from '../bottle/state.js';
import { BottleError } from '../errors.js';
import type { Settings } from '../settings.js';
import type { Proposal } from '../sidecars/supervise/queue.js';
import { archivedProposals, listProposals } from './proposals.js';

export type { ArchivedBottle } from '../bottle/archive.js';

export interface BottleRecord {
  readonly identity: string;
  /** `state` while the bottle exists (running, preserved, stopped), `archive` once it was torn down. */
  readonly origin: 'state' | 'archive';
  readonly metadata: BottleMetadata | undefined;
  /** When the archive was written (archive only). */
  readonly archived_at: string | undefined;
  readonly audit: readonly AuditEntry[];
  /** Every proposal of the bottle, decided ones included. */
  readonly proposals: readonly Proposal[];
}

/** The whole record of one bottle; exit 4 when neither state nor archive exists. */
export async function readRecord(settings: Settings, identity: string): Promise<BottleRecord> {
  const origin = await auditOrigin(settings.home, identity);
  if (origin === undefined) {
    throw new BottleError('not-found', `no bottle or archive for ${identity}`, {
      fix: `see \`bot-bottle list\`; archives are kept ${settings.archiveDays} days (BOT_BOTTLE_ARCHIVE_DAYS)`,
    });
  }
  const audit = await readAudit(settings.home, identity);
  if (origin === 'state') {
    const metadata = await new BottleState(settings.home, identity).readMetadata().catch(() => undefined);
    const proposals = (await listProposals(settings.home, { all: true })).filter((p) => p.identity === identity).map((p) => p.proposal);
    return { identity, origin, metadata, archived_at: undefined, audit, proposals };
  }
  const archived = await readArchived(settings.home, identity);
  return { identity, origin, metadata: archived.metadata, archived_at: archived.archived_at, audit, proposals: await archivedProposals(settings.home, identity) };
}

/** Every archived bottle of this home, most recently archived first. */
export async function listArchive(settings: Settings): Promise<ArchivedBottle[]> {
  const all = await Promise.all((await listArchivedIdentities(settings.home)).map((id) => readArchived(settings.home, id)));
  return all.sort((a, b) => String(b.archived_at).localeCompare(String(a.archived_at)));
}

export interface AuditWindow {
  /** Only the last N entries. */
  readonly tail?: number;
  /** Only entries at or after this time. */
  readonly since?: Date;
}

export function auditWindow(entries: readonly AuditEntry[], w: AuditWindow): AuditEntry[] {
  const since = w.since?.toISOString();
  const recent = since === undefined ? [...entries] : entries.filter((e) => e.time >= since);
  return w.tail === undefined ? recent : w.tail === 0 ? [] : recent.slice(-w.tail);
}

const UNITS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `--since`: a duration back from now (`90s`, `10m`, `2h`, `1d`, `1h30m`) or a date (`2026-12-02`, ISO 8601). */
export function parseSince(text: string, now = Date.now()): Date {
  const t = text.trim();
  if (/^([0-9]+[smhdw])+$/.test(t)) {
    let ms = 0;
    for (const [, n, u] of t.matchAll(/([0-9]+)([smhdw])/g)) ms += Number(n) * (UNITS[u ?? 's'] ?? 0);
    return new Date(now - ms);
  }
  if (/^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9:.]+(Z|[+-][0-9:]+)?)?$/.test(t)) {
    const d = new Date(t);
    if (!Number.isNaN(d.getTime())) return d;
  }
  throw new BottleError('usage', `--since ${JSON.stringify(text)} is neither a duration nor a date`, { fix: '--since 10m, --since 2h, --since 1d or --since 2026-12-02T10:00:00Z' });
}
