/**
 * DLP holds (`on_match: supervise`): the request waits while a proposal file
 * sits in the bottle's queue (`proposalsDir`) until a human sets its `state`
 * to `approved` or `rejected` (with a `reason`), or the hold times out.
 *
 * The file is written atomically (temp + rename) and read by polling, which
 * works on any file system and costs nothing while no request is held. The
 * proposal names the rule and the request, never the secret.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_PENDING, pendingCountSync, QueueFullError } from '../supervise/queue.js';

export interface HoldRequest {
  readonly method: string;
  readonly host: string;
  /** Path without query, secrets redacted. */
  readonly path: string;
  readonly rule: string;
}

export interface DlpProposal {
  id: string;
  kind: 'dlp-hold';
  bottle: string;
  raised_by: 'egress';
  request: HoldRequest & { where: string };
  summary: string;
  /** Why it was raised: the finding (rule and place, never the secret). */
  why: string;
  state: 'pending' | 'approved' | 'approved-with-edits' | 'rejected' | 'expired' | 'withdrawn';
  created_at: string;
  /** A sidecar-raised proposal needs the human's reason to approve (supervise queue contract). */
  needs_reason: boolean;
  reason?: string;
  note?: string;
  decided_at?: string;
}

export type HoldOutcome = { readonly state: 'approved' } | { readonly state: 'rejected'; readonly reason: string } | { readonly state: 'expired' } | { readonly state: 'withdrawn' };

function writeAtomic(path: string, value: unknown): void {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, path);
}

export function proposalPath(dir: string, id: string): string {
  return join(dir, `${id}.json`);
}

export interface HoldOptions {
  readonly dir: string;
  readonly bottle: string;
  readonly request: HoldRequest & { where: string };
  readonly timeoutMs: number;
  readonly pollMs?: number;
  /** Aborted when the client goes away: the proposal is withdrawn. */
  readonly signal?: AbortSignal;
  /** Told the id once the proposal is written. */
  readonly onRaised?: (id: string) => void;
}

/** Raise a proposal and wait for the human's answer; rejected with QueueFullError when the bottle has too many pending. */
export function hold(opts: HoldOptions): Promise<HoldOutcome> {
  mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
  const pending = pendingCountSync(opts.dir);
  if (pending >= MAX_PENDING) return Promise.reject(new QueueFullError(pending));
  // The queue's id alphabet: `dlp-` + lower-case letters, digits and dashes.
  const id = `dlp-${new Date().toISOString().replace(/[-:.TZ]/g, '').slice(0, 14)}-${randomBytes(4).toString('hex')}`;
  const path = proposalPath(opts.dir, id);
  const r = opts.request;
  const proposal: DlpProposal = {
    id,
    kind: 'dlp-hold',
    bottle: opts.bottle,
    raised_by: 'egress',
    request: r,
    summary: `${r.method} https://${r.host}${r.path} carries something matching ${r.rule} (in ${r.where}); release it?`,
    why: `egress DLP found ${r.rule} in the request ${r.where}; the request is held open until a human decides`,
    state: 'pending',
    created_at: new Date().toISOString(),
    needs_reason: true,
  };
  writeAtomic(path, proposal);
  opts.onRaised?.(id);
  const pollMs = opts.pollMs ?? 250;
  const deadline = Date.now() + opts.timeoutMs;

  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const finish = (outcome: HoldOutcome, mark: boolean): void => {
      if (timer !== undefined) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (mark) {
        // Record why the hold ended, unless a human answered meanwhile.
        try {
          const cur = JSON.parse(readFileSync(path, 'utf8')) as DlpProposal;
          if (cur.state === 'pending') writeAtomic(path, { ...cur, state: outcome.state, decided_at: new Date().toISOString() });
        } catch {
          // gone: nothing to mark
        }
      }
      resolve(outcome);
    };
    const onAbort = (): void => finish({ state: 'withdrawn' }, true);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const poll = (): void => {
      let cur: Partial<DlpProposal> | undefined;
      try {
        cur = JSON.parse(readFileSync(path, 'utf8')) as Partial<DlpProposal>;
      } catch {
        cur = undefined; // mid-edit or removed: look again
      }
      if (cur?.state === 'approved' || cur?.state === 'approved-with-edits') return finish({ state: 'approved' }, false);
      if (cur?.state === 'rejected') {
        const why = typeof cur.reason === 'string' && cur.reason !== '' ? cur.reason : typeof cur.note === 'string' && cur.note !== '' ? cur.note : 'rejected by a human';
        return finish({ state: 'rejected', reason: why }, false);
      }
      // Someone else closed it (expired by the queue): treat as expired.
      if (cur?.state === 'expired' || cur?.state === 'withdrawn') return finish({ state: 'expired' }, false);
      if (Date.now() >= deadline) return finish({ state: 'expired' }, true);
      timer = setTimeout(poll, Math.min(pollMs, Math.max(1, deadline - Date.now())));
    };
    if (opts.signal?.aborted) return finish({ state: 'withdrawn' }, true);
    timer = setTimeout(poll, Math.min(pollMs, opts.timeoutMs));
  });
}
