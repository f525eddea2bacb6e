/**
 * The supervise audit log: one JSON line per proposal raised, decided or
 * applied (who, when, what, note). Written by the MCP server in the bundle
 * and by the host CLI when a human decides; both append to the same file
 * (`<state>/<identity>/supervise/audit.jsonl`, `/run/bot-bottle/supervise/
 * audit.jsonl` in the bundle). Never carries a token value: requests hold
 * host names, paths and Dockerfile text only.
 */
import { appendFile, chown, mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Proposal, ProposalKind, ProposalState } from './queue.js';

export type AuditEvent = 'raised' | 'decided' | 'applied' | 'apply-failed';

export interface SuperviseAuditEntry {
  readonly time: string;
  readonly bottle: string;
  readonly event: AuditEvent;
  readonly id: string;
  readonly kind: ProposalKind;
  /** Who acted: the raiser for `raised`, the decider for `decided`, `supervise` for `applied`. */
  readonly by: string;
  readonly summary: string;
  readonly state?: ProposalState;
  readonly why?: string;
  readonly note?: string;
  readonly edited?: boolean;
  readonly detail?: string;
}

export function auditEntry(event: AuditEvent, p: Proposal, extra: { by?: string; detail?: string } = {}): SuperviseAuditEntry {
  const by = extra.by ?? (event === 'raised' ? p.raised_by : event === 'decided' ? (p.decided_by ?? 'unknown') : 'supervise');
  return {
    time: new Date().toISOString(),
    bottle: p.bottle,
    event,
    id: p.id,
    kind: p.kind,
    by,
    summary: p.summary,
    ...(event === 'raised' ? { why: p.why } : {}),
    ...(event === 'decided' ? { state: p.state, ...(p.note === undefined ? {} : { note: p.note }), edited: p.edited_request !== undefined } : {}),
    ...(extra.detail === undefined ? {} : { detail: extra.detail }),
  };
}

/** Append one line. A missing folder is created; as root the new file goes to the folder's owner. */
export async function appendAudit(path: string, entry: SuperviseAuditEntry): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const existed = await stat(path).then(
    () => true,
    () => false,
  );
  await appendFile(path, JSON.stringify(entry) + '\n', { mode: 0o600 });
  if (!existed && process.getuid?.() === 0) {
    const st = await stat(dir);
    if (st.uid !== 0 || st.gid !== 0) await chown(path, st.uid, st.gid).catch(() => undefined);
  }
}
