/**
 * The dashboard's view of the home, kept current while a page is connected:
 * bottles (from the engine and recorded state), proposals (from every
 * bottle's queue, watched so a new one or a decision made by the CLI shows
 * at once) and the page's own jobs (stop, preserve, resume, rebuild). Each
 * change is sent to every subscriber; a subscriber that joins gets the
 * current state first. Nothing here is the source of truth: it is all read
 * back from disk and the engine, which is why a restarted dashboard loses
 * nothing.
 */
import { type FSWatcher, watch } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { isBottleError, list, listArchive, listProposals, superviseQueueDir, type Progress, type Settings } from '../index.js';
import { wireArchived, wireBottle, wireProposal } from './views.js';
import type { JobAction, ServerEvent, WireBottle, WireJob, WireProposal } from './wire.js';

const BOTTLES_EVERY_MS = 2000;
const PROPOSALS_EVERY_MS = 1000;
/** Decided proposals kept in the page (pending ones are always all there). */
const DECIDED_KEEP = 300;

export type Subscriber = (e: ServerEvent) => void;

export class Hub {
  private readonly subscribers = new Set<Subscriber>();
  private bottles: readonly WireBottle[] = [];
  private proposals: readonly WireProposal[] = [];
  private readonly jobs = new Map<string, WireJob>();
  private problem: string | null = null;
  private lastBottles = '';
  private lastProposals = '';
  private timers: NodeJS.Timeout[] = [];
  private readonly watchers = new Map<string, FSWatcher>();
  private proposalsRun: Promise<void> | undefined;
  private proposalsAgain = false;

  constructor(private readonly settings: Settings) {}

  /** Current state first, then every change, until the returned function is called. */
  subscribe(fn: Subscriber): () => void {
    fn({ type: 'bottles', bottles: this.bottles });
    fn({ type: 'proposals', proposals: this.proposals });
    fn({ type: 'jobs', jobs: [...this.jobs.values()] });
    fn({ type: 'problem', message: this.problem });
    this.subscribers.add(fn);
    if (this.subscribers.size === 1) this.start();
    return () => {
      this.subscribers.delete(fn);
      if (this.subscribers.size === 0) this.pause();
    };
  }

  /** Read bottles and proposals now (also before anyone subscribed). */
  async refresh(): Promise<void> {
    await Promise.all([this.refreshBottles(), this.refreshProposals()]);
  }

  close(): void {
    this.subscribers.clear();
    this.pause();
  }

  /** Run one long action on a bottle, reported as a job; one at a time per bottle. */
  startJob(identity: string, action: JobAction, run: (progress: Progress) => Promise<unknown>): WireJob {
    const busy = [...this.jobs.values()].find((j) => j.identity === identity && j.state === 'running');
    if (busy) return busy;
    const job: WireJob = { id: randomBytes(6).toString('hex'), identity, action, state: 'running', message: `${action}…`, started_at: new Date().toISOString() };
    const set = (patch: Partial<WireJob>) => {
      const cur = this.jobs.get(job.id) ?? job;
      this.jobs.set(job.id, { ...cur, ...patch });
      this.broadcast({ type: 'jobs', jobs: [...this.jobs.values()] });
    };
    set({});
    const progress: Progress = { step: (m) => set({ message: m }), detail: () => undefined, warn: (m) => set({ message: m }) };
    run(progress).then(
      () => set({ state: 'done', message: `${action} done` }),
      (e: unknown) => set({ state: 'failed', message: errorText(e) }),
    ).finally(() => {
      void this.refresh();
      // Finished jobs stay visible for a while, then go.
      const t = setTimeout(() => {
        this.jobs.delete(job.id);
        this.broadcast({ type: 'jobs', jobs: [...this.jobs.values()] });
      }, 60_000);
      t.unref();
    });
    return job;
  }

  /** Re-read proposals; calls made while a read runs coalesce into one more read. */
  refreshProposals(): Promise<void> {
    if (this.proposalsRun) {
      this.proposalsAgain = true;
      return this.proposalsRun;
    }
    this.proposalsRun = (async () => {
      do {
        this.proposalsAgain = false;
        await this.readProposals();
      } while (this.proposalsAgain);
    })().finally(() => (this.proposalsRun = undefined));
    return this.proposalsRun;
  }

  private async readProposals(): Promise<void> {
    try {
      const all = (await listProposals(this.settings.home, { all: true })).map(wireProposal);
      const pending = all.filter((p) => p.state === 'pending');
      const decided = all.filter((p) => p.state !== 'pending').slice(-DECIDED_KEEP);
      const next = [...pending, ...decided];
      const text = JSON.stringify(next);
      if (text === this.lastProposals) return;
      this.lastProposals = text;
      this.proposals = next;
      this.broadcast({ type: 'proposals', proposals: next });
    } catch (e) {
      this.setProblem(`cannot read proposals: ${errorText(e)}`);
    }
  }

  async refreshBottles(): Promise<void> {
    try {
      const live = (await list(this.settings)).map(wireBottle);
      this.setProblem(null);
      this.watchQueues(live.map((b) => b.identity));
      // Torn-down bottles stay on the page with their record, after the live ones.
      const up = new Set(live.map((b) => b.identity));
      const next = [...live, ...(await listArchive(this.settings)).filter((a) => !up.has(a.identity)).map(wireArchived)];
      const text = JSON.stringify(next);
      if (text === this.lastBottles) return;
      this.lastBottles = text;
      this.bottles = next;
      this.broadcast({ type: 'bottles', bottles: next });
    } catch (e) {
      this.setProblem(errorText(e));
    }
  }

  private setProblem(message: string | null): void {
    if (message === this.problem) return;
    this.problem = message;
    this.broadcast({ type: 'problem', message });
  }

  private broadcast(e: ServerEvent): void {
    for (const s of this.subscribers) s(e);
  }

  private start(): void {
    void this.refresh();
    this.timers = [
      setInterval(() => void this.refreshBottles(), BOTTLES_EVERY_MS),
      // The watch is instant on a local disk; the poll covers bind mounts it misses.
      setInterval(() => void this.refreshProposals(), PROPOSALS_EVERY_MS),
    ];
  }

  private pause(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  private watchQueues(identities: readonly string[]): void {
    if (this.subscribers.size === 0) return;
    const want = new Set(identities);
    for (const [id, w] of this.watchers) {
      if (!want.has(id)) {
        w.close();
        this.watchers.delete(id);
      }
    }
    for (const id of want) {
      if (this.watchers.has(id)) continue;
      try {
        const w = watch(superviseQueueDir(this.settings.home, id), () => void this.refreshProposals());
        w.on('error', () => undefined);
        this.watchers.set(id, w);
      } catch {
        // no queue yet (a bottle without supervise): the poll covers it
      }
    }
  }
}

export function errorText(e: unknown): string {
  if (isBottleError(e)) return e.fix ? `${e.message} (fix: ${e.fix})` : e.message;
  return e instanceof Error ? e.message : String(e);
}
