/**
 * Holds: a request DLP flagged on a `supervise` route (or an answer the
 * inbound heuristics flagged on an `inbound: {on_match: supervise}` route,
 * released to the agent instead of sent upstream) waits for a human. The
 * proposal goes into the bottle's queue (proposals.ts); the agent's
 * connection stays open until the human approves (the request is released
 * as sent), rejects, or the hold times out; a client that goes away
 * withdraws it.
 */
import type { Exchange } from './exchange.js';
import { QueueFullError } from '../supervise/queue.js';
import { hold } from './proposals.js';

export interface HeldFinding {
  /** Rule names, comma-separated. */
  readonly rules: string;
  /** Where they were found, comma-separated. */
  readonly wheres: string;
  /** The refusal text used when the hold cannot be raised or is not answered. */
  readonly blockDetail: string;
}

/** Hold `ex` for a human; `release` sends it upstream once approved. */
export function holdForHuman(ex: Exchange, finding: HeldFinding, release: () => void): void {
  const { ctx, t, res } = ex;
  const { rules, wheres, blockDetail } = finding;
  const dir = ctx.config.proposalsDir;
  if (dir === undefined) return ex.deny(403, 'dlp-blocked', `${blockDetail} (no proposal queue to hold it for a human)`, undefined, rules, 'dlp-block');
  ex.verdict = 'dlp-hold';
  const ac = new AbortController();
  const onClose = (): void => {
    if (!res.writableFinished) ac.abort();
  };
  res.once('close', onClose);
  hold({
    dir,
    bottle: ctx.config.identity,
    request: { method: ex.method, host: t.host, path: ex.path, rule: rules, where: wheres },
    timeoutMs: ctx.config.holdTimeoutMs,
    signal: ac.signal,
    onRaised: (id) => ctx.log(`egress: held ${ex.method} https://${t.host}${ex.path} (${rules}) for a human: proposal ${id}`),
  }).then(
    (outcome) => {
      res.off('close', onClose);
      switch (outcome.state) {
        case 'approved':
          ex.verdict = 'dlp-approved';
          ex.reason = 'dlp-approved';
          release();
          return;
        case 'rejected':
          return ex.deny(403, 'dlp-rejected', `a human refused to release it: ${outcome.reason.replace(/[\r\n]+/g, ' ')}`, undefined, rules, 'dlp-rejected');
        case 'expired':
          return ex.deny(403, 'dlp-hold-expired', `nobody answered within ${Math.round(ctx.config.holdTimeoutMs / 1000)} s; ${blockDetail}`, undefined, rules, 'dlp-expired');
        case 'withdrawn':
          ex.verdict = 'dlp-hold';
          ex.reason = 'client-gone';
          ex.finish(499);
          return;
        default: {
          const never: never = outcome;
          throw new Error(`unknown hold outcome ${String(never)}`);
        }
      }
    },
    (err: unknown) => {
      const full = err instanceof QueueFullError;
      ctx.log(`egress: hold failed: ${err instanceof Error ? err.message : String(err)}`);
      ex.deny(403, 'dlp-blocked', `${blockDetail} (${full ? err.message : 'the hold could not be raised'})`, undefined, rules, 'dlp-block');
    },
  );
}
