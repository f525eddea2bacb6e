/**
 * What the supervise tools do, independent of MCP: raise a proposal in the
 * bottle's queue, wait for the human, apply the effect that belongs to the
 * bundle (an approved egress route is written where the egress proxy loads
 * it), audit every step. The MCP layer (mcp.ts) only maps calls onto this.
 */
import { request as httpRequest } from 'node:http';
import { readFile } from 'node:fs/promises';
import { appendAudit, auditEntry } from './audit.js';
import { applyEgressRoute } from './egress-apply.js';
import type { SuperviseConfig } from './config.js';
import { type Proposal, ProposalQueue, QueueError, QueueFullError, isDecided } from './queue.js';
import {
  type AllowRequest,
  allowTarget,
  capabilityRequest,
  capabilitySummary,
  decisionText,
  egressRoute,
  egressSummary,
  isApproved,
  parseEgressRequest,
} from './requests.js';

export interface CallContext {
  readonly signal?: AbortSignal;
  /** Called every config.progressMs while the call waits for a human. */
  readonly progress?: (elapsedMs: number, message: string) => Promise<void>;
}

export type DecisionState = 'approved' | 'approved-with-edits' | 'rejected' | 'expired' | 'withdrawn' | 'cancelled';

export interface ToolOutcome {
  /** Text for the agent; its first line is `decision: <state>` (bottle-ask reads it). */
  readonly text: string;
  readonly isError: boolean;
  readonly structured?: {
    proposal_id: string;
    kind: string;
    decision: DecisionState;
    note?: string;
    decided_by?: string;
    effect?: string;
  };
}

const HELD_KINDS = new Set(['dlp-hold', 'push-hold']);
const ADMIN_TIMEOUT_MS = 3000;
const ADMIN_MAX_BYTES = 4 * 1024 * 1024;

function fail(text: string): ToolOutcome {
  return { text: `error: ${text}`, isError: true };
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class SuperviseService {
  readonly queue: ProposalQueue;
  private readonly applying = new Map<string, Promise<string>>();

  constructor(readonly config: SuperviseConfig) {
    this.queue = new ProposalQueue(config.queueDir);
  }

  // ------------------------------------------------------------------ tools

  async listEgressRoutes(): Promise<ToolOutcome> {
    let body: string;
    try {
      body = await getText(this.config.egressAdminUrl, ADMIN_TIMEOUT_MS);
    } catch (e) {
      return fail(`the egress proxy's route list is unreachable (${this.config.egressAdminUrl}: ${message(e)}); the proxy may be starting or not part of this bottle`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return fail(`the egress proxy answered something that is not JSON (${body.slice(0, 80)})`);
    }
    return { text: JSON.stringify(redactRoutes(parsed), null, 2), isError: false };
  }

  async requestEgress(args: { host: string; port?: number; paths?: string[]; methods?: string[]; why: string }, ctx: CallContext = {}): Promise<ToolOutcome> {
    let req;
    try {
      req = parseEgressRequest({ host: args.host, port: args.port, paths: args.paths, methods: args.methods });
    } catch (e) {
      return fail(`request-egress: ${message(e)}`);
    }
    const p = await this.raise({ kind: 'egress-route', request: { ...req }, summary: egressSummary(req), why: args.why, needs_reason: false });
    if (!('id' in p)) return fail(`request-egress: ${p.full}`);
    const decided = await this.wait(p, ctx);
    if (!decided) return this.cancelled(p);
    let effect: string | undefined;
    if (isApproved(decided)) effect = await this.applyEgress(decided);
    return this.outcome(decided, effect);
  }

  async requestCapability(args: { dockerfile_change: string; why: string }, ctx: CallContext = {}): Promise<ToolOutcome> {
    let base = '';
    try {
      base = await readFile(this.config.dockerfileCurrent, 'utf8');
    } catch {
      // unknown: the change must then be a whole Dockerfile
    }
    let req;
    try {
      req = capabilityRequest(base, args.dockerfile_change);
    } catch (e) {
      return fail(`request-capability: ${message(e)}`);
    }
    const p = await this.raise({ kind: 'capability', request: { ...req }, summary: capabilitySummary(req), why: args.why, needs_reason: false });
    if (!('id' in p)) return fail(`request-capability: ${p.full}`);
    const decided = await this.wait(p, ctx);
    if (!decided) return this.cancelled(p);
    const effect = isApproved(decided)
      ? 'effect: the host writes this Dockerfile as the bottle\'s image recipe, rebuilds the image and resumes the bottle; /workspace is kept, running processes and files outside /workspace are not. Expect this session to be restarted.'
      : undefined;
    return this.outcome(decided, effect);
  }

  async allow(args: { proposal_id: string; why: string }, ctx: CallContext = {}): Promise<ToolOutcome> {
    let held: Proposal;
    try {
      held = await this.queue.get(args.proposal_id.trim());
    } catch (e) {
      return fail(`allow: ${e instanceof QueueError ? `${message(e)} in this bottle's queue` : message(e)}`);
    }
    if (!HELD_KINDS.has(held.kind)) {
      return fail(`allow: ${held.id} is a ${held.kind} proposal; allow only argues for a held request (dlp-hold) or push (push-hold)`);
    }
    if (isDecided(held)) return this.outcome(held, 'note: this was already decided; your justification was not needed');
    const request: AllowRequest = { proposal_id: held.id, held_kind: held.kind, held_summary: held.summary };
    const p = await this.raise({ kind: 'allow', request: { ...request }, summary: `release ${held.id}: ${held.summary}`, why: args.why, needs_reason: held.needs_reason });
    if (!('id' in p)) return fail(`allow: ${p.full}`);
    let decidedHeld: Proposal | undefined;
    try {
      decidedHeld = await this.queue.watchUntil(
        async () => {
          const h = await this.queue.get(held.id);
          return isDecided(h) ? h : undefined;
        },
        { timeoutMs: this.config.timeoutMs, signal: progressSignal(this, p, ctx) },
      );
    } catch (e) {
      if (e instanceof QueueError) return this.cancelled(p);
      throw e;
    }
    if (!decidedHeld) {
      // Our wait is over; the held request keeps its own timeout (the proxy's or the gate's).
      const expired = await this.decideQuietly(p.id, { state: 'expired', by: 'timeout', note: `no answer within ${Math.round(this.config.timeoutMs / 1000)} s` });
      return this.outcome(expired ?? (await this.queue.get(p.id)));
    }
    await this.mirrorAllow(p.id, decidedHeld);
    return this.outcome(decidedHeld, `note: your justification was recorded as ${p.id}`);
  }

  // ---------------------------------------------------------------- effects

  /**
   * Write an approved egress route to `<egressRoutesDir>/<proposal-id>.json`
   * (atomically; idempotent). The host state folder holds it, so a resumed
   * bottle keeps it. Returns the effect line for the agent.
   */
  applyEgress(p: Proposal): Promise<string> {
    const running = this.applying.get(p.id);
    if (running) return running;
    const job = this.writeRoute(p);
    this.applying.set(p.id, job);
    return job;
  }

  private async writeRoute(p: Proposal): Promise<string> {
    const c = this.config;
    try {
      const route = egressRoute(parseEgressRequest(p.edited_request ?? p.request));
      const r = await applyEgressRoute({ routesDir: c.egressRoutesDir, configFile: c.egressConfigFile, policyFile: c.egressPolicyFile }, p.id, route);
      const where = route.port === 443 ? route.host : `${route.host}:${route.port}`;
      if (r.recordedNow || r.live === 'merged') await this.audit('applied', p, `route ${where} recorded in ${r.recorded}; live: ${r.live}`);
      switch (r.live) {
        case 'merged':
          return `effect: route to ${where} added to the running egress proxy (it reloads within a second): retry your request`;
        case 'already-covered':
          return `effect: the egress routes in force already allow this for ${where}: retry your request`;
        case 'no-policy-file':
          return `effect: route to ${where} recorded (${r.recorded}); the egress proxy picks it up when it loads recorded routes`;
      }
    } catch (e) {
      this.applying.delete(p.id);
      await this.audit('apply-failed', p, message(e));
      return `effect: approved, but the route could not be installed: ${message(e)}`;
    }
  }

  /**
   * Catch up with decisions nobody was waiting for (a call that was
   * cancelled, a server restart): install approved routes, close `allow`
   * proposals whose held request was decided. Safe to run any time.
   */
  async reconcile(): Promise<void> {
    const all = await this.queue.list();
    const byId = new Map(all.map((p) => [p.id, p]));
    for (const p of all) {
      if (p.kind === 'egress-route' && isApproved(p)) await this.applyEgress(p);
      if (p.kind === 'allow' && !isDecided(p)) {
        const target = allowTarget(p);
        const held = target === undefined ? undefined : byId.get(target);
        if (held && isDecided(held)) await this.mirrorAllow(p.id, held);
      }
    }
  }

  // ---------------------------------------------------------------- helpers

  /** The raised proposal, or why the queue refused it (too many pending: the agent is told, nothing is written). */
  private async raise(input: Pick<Proposal, 'kind' | 'request' | 'summary' | 'why' | 'needs_reason'>): Promise<Proposal | { full: string }> {
    let p: Proposal;
    try {
      p = await this.queue.raise({ ...input, bottle: this.config.identity, raised_by: 'agent' });
    } catch (e) {
      if (e instanceof QueueFullError) return { full: e.message };
      throw e;
    }
    await this.audit('raised', p);
    return p;
  }

  /** Wait for the human; undefined when the caller went away (the proposal stays pending). */
  private async wait(p: Proposal, ctx: CallContext): Promise<Proposal | undefined> {
    try {
      const decided = await this.queue.waitFor(p.id, { timeoutMs: this.config.timeoutMs, signal: progressSignal(this, p, ctx) });
      if (decided.decided_by === 'timeout') await this.audit('decided', decided);
      return decided;
    } catch (e) {
      if (e instanceof QueueError && ctx.signal?.aborted) return undefined;
      throw e;
    }
  }

  private async mirrorAllow(allowId: string, held: Proposal): Promise<void> {
    const state = held.state === 'pending' ? undefined : held.state;
    if (!state) return;
    const d = await this.decideQuietly(allowId, {
      state: state === 'approved-with-edits' ? 'approved' : state === 'withdrawn' ? 'expired' : state,
      by: held.decided_by ?? 'supervise',
      note: held.note ?? `held ${held.id} was ${held.state}`,
    });
    if (d) await this.audit('decided', d);
  }

  private async decideQuietly(id: string, d: Parameters<ProposalQueue['decide']>[1]): Promise<Proposal | undefined> {
    try {
      return await this.queue.decide(id, d);
    } catch (e) {
      if (e instanceof QueueError) return undefined;
      throw e;
    }
  }

  private outcome(p: Proposal, effect?: string): ToolOutcome {
    const decision: DecisionState = p.state === 'pending' ? 'expired' : p.state;
    return {
      text: decisionText(p, effect),
      isError: false,
      structured: {
        proposal_id: p.id,
        kind: p.kind,
        decision,
        ...(p.note === undefined ? {} : { note: p.note }),
        ...(p.decided_by === undefined ? {} : { decided_by: p.decided_by }),
        ...(effect === undefined ? {} : { effect }),
      },
    };
  }

  private cancelled(p: Proposal): ToolOutcome {
    return {
      text: `decision: cancelled\nproposal: ${p.id} is still pending; a human may still answer it`,
      isError: false,
      structured: { proposal_id: p.id, kind: p.kind, decision: 'cancelled' },
    };
  }

  async audit(event: 'raised' | 'decided' | 'applied' | 'apply-failed', p: Proposal, detail?: string): Promise<void> {
    try {
      await appendAudit(this.config.auditLog, auditEntry(event, p, detail === undefined ? {} : { detail }));
    } catch (e) {
      process.stderr.write(`supervise: audit log ${this.config.auditLog}: ${message(e)}\n`);
    }
  }
}

/**
 * Progress notifications while a call waits, so clients with request
 * timeouts that reset on progress keep waiting. Returns the caller's signal.
 */
function progressSignal(svc: SuperviseService, p: Proposal, ctx: CallContext): AbortSignal | undefined {
  const progress = ctx.progress;
  if (progress) {
    const t0 = Date.now();
    const timer = setInterval(() => {
      progress(Date.now() - t0, `waiting for a human to decide ${p.id} (${p.summary})`).catch(() => undefined);
    }, svc.config.progressMs);
    timer.unref();
    const stop = () => clearInterval(timer);
    // Stopped when the queue decides (watcher) or the caller goes away.
    void svc.queue
      .watchUntil(async () => ((await svc.queue.get(p.id).then(isDecided, () => true)) ? true : undefined), {
        timeoutMs: svc.config.timeoutMs + 1000,
        pollMs: 1000,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      })
      .catch(() => undefined)
      .finally(stop);
  }
  return ctx.signal;
}

/** Keep route lists free of anything secret-looking: auth keeps its scheme, header and token_ref name only. */
export function redactRoutes(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(redactRoutes);
  if (typeof v !== 'object' || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (/^(tokens?|token_value|secrets?|password|authorization)$/i.test(k)) continue;
    if (k === 'auth' && typeof val === 'object' && val !== null) {
      const a = val as Record<string, unknown>;
      out[k] = { scheme: a.scheme, header: a.header, token_ref: a.token_ref };
      continue;
    }
    out[k] = redactRoutes(val);
  }
  return out;
}

function getText(url: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'GET', timeout: timeoutMs, headers: { accept: 'application/json' } }, (res) => {
      let size = 0;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > ADMIN_MAX_BYTES) req.destroy(new Error('answer too large'));
        else chunks.push(c);
      });
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if ((res.statusCode ?? 0) >= 400) reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 120)}`));
        else resolve(text);
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
