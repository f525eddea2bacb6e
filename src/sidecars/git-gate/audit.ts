/**
 * The gate's audit log: one JSON line per fetch and per push, appended to a
 * file on the host-mounted state folder. Findings are recorded by rule, path,
 * line and commit: never the value, not even redacted.
 */
import { appendFile } from 'node:fs/promises';
import type { InboundHit } from './inbound.js';

export interface AuditFinding {
  readonly commit: string;
  readonly path: string;
  readonly line: number;
  readonly rule: string;
  readonly allowed?: boolean;
}

export interface RefUpdate {
  readonly ref: string;
  readonly old: string;
  readonly new: string;
}

export interface AuditRecord {
  readonly time: string;
  readonly repo: string;
  readonly op: 'fetch' | 'push';
  readonly refs: readonly RefUpdate[];
  readonly commits_scanned: number;
  readonly findings: readonly AuditFinding[];
  readonly verdict: string;
  readonly ms: number;
  readonly upstream_ms?: number;
  readonly proposal?: string;
  readonly reason?: string;
  /** Fetch: prompt-injection heuristics over what upstream gained (reported, not blocking). */
  readonly inbound?: readonly InboundHit[];
  readonly inbound_commits?: number;
  readonly inbound_truncated?: boolean;
  readonly inbound_error?: string;
}

export async function appendAudit(path: string | undefined, rec: AuditRecord): Promise<void> {
  if (!path) return;
  try {
    await appendFile(path, JSON.stringify(rec) + '\n', { mode: 0o600 });
  } catch (e) {
    // The log is evidence, not a gate: a full disk must not turn into a silent pass or a hang.
    process.stderr.write(`git-gate: cannot append to audit log ${path}: ${(e as Error).message}\n`);
  }
}
