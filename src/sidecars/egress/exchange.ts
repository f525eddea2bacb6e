/**
 * One request through the proxy, from admission to its audit line: where it
 * is going, what was decided, how many bytes moved. Every module that handles
 * a request (admission, DLP action, holds, upstream) works on an Exchange and
 * the shared ProxyContext, so none of them needs the proxy itself.
 */
import type * as http from 'node:http';
import type { AuditEntry, AuditSink, Verdict } from './audit.js';
import type { EgressConfig } from './config.js';
import type { KnownSecrets } from './dlp.js';
import type { RouteTable } from './policy.js';
import { auditPath, denyText, sendDeny } from './reply.js';

/** Where a tunnel goes: the CONNECT authority. */
export interface Target {
  readonly host: string;
  readonly port: number;
}

/** What every part of the request path reads from the proxy: live, reloadable state. */
export interface ProxyContext {
  readonly config: EgressConfig;
  readonly audit: AuditSink;
  readonly log: (line: string) => void;
  /** Routes in force now. */
  table(): RouteTable;
  /** The host token for a token_ref (re-reading the tokens file once if it is missing). */
  token(ref: string): string | undefined;
  /** Every host token value of the bottle. */
  tokenValues(): readonly string[];
  known(): KnownSecrets;
}

export class Exchange {
  readonly t0 = Date.now();
  /** Audit path: no query, secrets redacted. */
  path: string;
  verdict: Verdict = 'deny';
  reason: string | undefined = undefined;
  rule: string | undefined = undefined;
  bytesOut = 0;
  bytesIn = 0;
  warnings: string[] | undefined = undefined;
  done = false;

  constructor(
    readonly ctx: ProxyContext,
    readonly req: http.IncomingMessage,
    readonly res: http.ServerResponse,
    readonly t: Target,
    readonly method: string,
    /** The request target as forwarded (origin form). */
    public target: string,
  ) {
    this.path = auditPath(target);
  }

  /** Refuse with a reason header and a body naming the route that would allow it; audit it. */
  deny(status: number, reason: string, detail: string, suggestion?: string, rule?: string, verdict: Verdict = 'deny'): void {
    this.verdict = verdict;
    this.reason = reason;
    this.rule = rule;
    const where = `${this.method} https://${this.t.host}${this.t.port === 443 ? '' : `:${this.t.port}`}${this.path}`;
    // Errors from 414 up end the connection. A 413 keeps it: its body is being
    // drained (bounded: bounded-body.ts), and the client must read the answer first.
    sendDeny(this.res, status, reason, denyText(where, reason, detail, suggestion), status > 413, rule);
    this.finish(status);
  }

  /** Write the audit line, once. */
  finish(status: number): void {
    if (this.done) return;
    this.done = true;
    const e: AuditEntry = {
      method: this.method,
      host: this.t.host,
      port: this.t.port,
      path: this.path,
      status,
      verdict: this.verdict,
      reason: this.reason,
      rule: this.rule,
      bytes_out: this.bytesOut,
      bytes_in: this.bytesIn,
      ms: Date.now() - this.t0,
    };
    if (this.warnings !== undefined) e.warnings = this.warnings;
    this.ctx.audit.write(e);
  }
}

/** One audit line for something refused before it became an exchange (a tunnel, a plain request). */
export function auditDeny(ctx: ProxyContext, method: string, host: string, port: number, target: string, status: number, reason: string, rule?: string): void {
  ctx.audit.write({ method, host, port, path: auditPath(target), status, verdict: 'deny', reason, rule, bytes_out: 0, bytes_in: 0, ms: 0 });
}
