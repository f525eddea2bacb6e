/**
 * The proposal queue: one mechanism for every proposal, whoever raises it
 * (the agent through MCP, the egress proxy for a DLP hold, the git-gate for a
 * push with an allow comment). One JSON file per proposal in a folder that
 * the host owns and the bundle has mounted; every write is atomic (temp file
 * + rename), so a reader never sees half a proposal and a crashed CLI loses
 * nothing. Dependency-free: it runs in the bundle and on the host.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, watch, type FSWatcher } from 'node:fs';
import { chown, mkdir, readdir, readFile, rename, rmdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export type ProposalKind = 'egress-route' | 'capability' | 'allow' | 'dlp-hold' | 'push-hold';
/** `withdrawn`: the raiser gave up (the held request's client went away). */
export type ProposalState = 'pending' | 'approved' | 'approved-with-edits' | 'rejected' | 'expired' | 'withdrawn';
export type RaisedBy = 'agent' | 'egress' | 'git-gate';

export interface Proposal {
  readonly id: string;
  readonly kind: ProposalKind;
  readonly bottle: string;
  readonly raised_by: RaisedBy;
  /** Structured request, per kind (e.g. {host, paths, methods} for egress-route). */
  readonly request: Readonly<Record<string, unknown>>;
  /** One human-readable line. */
  readonly summary: string;
  /** Why the asker wants it (the agent's words, or the sidecar's finding). */
  readonly why: string;
  readonly state: ProposalState;
  readonly created_at: string;
  /** Sidecar-raised proposals (a secret the gate found) need a reason to approve. */
  readonly needs_reason: boolean;
  readonly decided_at?: string;
  readonly decided_by?: string;
  /** The human's note (approval) or reason (rejection). */
  readonly note?: string;
  /** The rejection reason again, for readers of the hold protocol (the egress proxy). */
  readonly reason?: string;
  /** Present when approved with edits: the request as the human changed it. */
  readonly edited_request?: Readonly<Record<string, unknown>>;
}

export interface Decision {
  readonly state: 'approved' | 'approved-with-edits' | 'rejected' | 'expired';
  readonly by: string;
  readonly note?: string;
  readonly edited_request?: Readonly<Record<string, unknown>>;
}

export class QueueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueueError';
  }
}

/**
 * Proposals one bottle may have pending at once, whoever raised them. A
 * flood would bury the one that matters under noise a human stops reading;
 * past this the raiser is refused and told why.
 */
export const MAX_PENDING = 20;

export class QueueFullError extends QueueError {
  constructor(readonly pending: number) {
    super(`this bottle already has ${pending} proposals pending (at most ${MAX_PENDING}); wait for a human to answer them before asking again`);
    this.name = 'QueueFullError';
  }
}

/** How many proposals in `dir` are pending (synchronous, for raisers that are). */
export function pendingCountSync(dir: string): number {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  let n = 0;
  for (const name of names) {
    if (!name.endsWith('.json') || name.startsWith('.')) continue;
    try {
      if ((JSON.parse(readFileSync(join(dir, name), 'utf8')) as { state?: unknown }).state === 'pending') n++;
    } catch {
      // mid-rename or foreign: not a pending proposal
    }
  }
  return n;
}

// `<prefix>-<8 chars>` from raise(); other raisers (the egress proxy's DLP
// holds) use longer ids of the same alphabet. Never a path separator or dot.
export const ID_RE = /^[a-z]+-[a-z0-9][a-z0-9-]{6,46}$/;
const PREFIX: Record<ProposalKind, string> = {
  'egress-route': 'egress',
  capability: 'cap',
  allow: 'allow',
  'dlp-hold': 'dlp',
  'push-hold': 'push',
};

const LOCK_WAIT_MS = 2000;
const LOCK_STALE_MS = 10_000;
/** Not a proposal id (those are `<kind>-<hex>`), so it never meets a proposal's own lock. */
const RAISE_LOCK = 'raise';

function errCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null ? (e as { code?: string }).code : undefined;
}

/** Sidecar-raised proposals need a reason to approve unless they say otherwise. */
export function needsReason(p: Proposal): boolean {
  return typeof p.needs_reason === 'boolean' ? p.needs_reason : p.raised_by !== 'agent';
}

export function isDecided(p: Proposal): boolean {
  return p.state !== 'pending';
}

/** The raise in progress per queue folder (this process's raisers; other processes' are rare and few). */
const raising = new Map<string, Promise<void>>();

export class ProposalQueue {
  constructor(readonly dir: string) {}

  /** Write a new pending proposal; QueueFullError when the bottle already has MAX_PENDING. */
  raise(input: Omit<Proposal, 'id' | 'state' | 'created_at'>): Promise<Proposal> {
    // Count and write one raise at a time per folder: 40 tool calls at once all counted 20 before any wrote.
    const prev = raising.get(this.dir) ?? Promise.resolve();
    const mine = prev.then(() => this.raiseNow(input));
    const tail = mine.then(
      () => undefined,
      () => undefined,
    );
    raising.set(this.dir, tail);
    void tail.then(() => {
      if (raising.get(this.dir) === tail) raising.delete(this.dir);
    });
    return mine;
  }

  private async raiseNow(input: Omit<Proposal, 'id' | 'state' | 'created_at'>): Promise<Proposal> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    // The proxy, the gate and the MCP server raise from three processes: the
    // count and the write share a folder lock, or a burst from each passed the cap.
    const release = await this.lock(RAISE_LOCK, 'another proposal is being raised: try again');
    try {
      const pending = (await this.list()).filter((p) => p.state === 'pending').length;
      if (pending >= MAX_PENDING) throw new QueueFullError(pending);
      const id = `${PREFIX[input.kind]}-${randomBytes(5).toString('hex').slice(0, 8)}`;
      const p: Proposal = { ...input, id, state: 'pending', created_at: new Date().toISOString() };
      await this.write(p);
      return p;
    } finally {
      await release();
    }
  }

  async get(id: string): Promise<Proposal> {
    if (!ID_RE.test(id)) throw new QueueError(`not a proposal id: ${JSON.stringify(id)}`);
    try {
      return JSON.parse(await readFile(this.path(id), 'utf8')) as Proposal;
    } catch (e) {
      if (typeof e === 'object' && e !== null && (e as { code?: string }).code === 'ENOENT') throw new QueueError(`no proposal ${id}`);
      throw e;
    }
  }

  async list(): Promise<Proposal[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const out: Proposal[] = [];
    for (const n of names) {
      if (!n.endsWith('.json')) continue;
      try {
        out.push(JSON.parse(await readFile(join(this.dir, n), 'utf8')) as Proposal);
      } catch {
        // a file mid-rename or foreign junk: not a proposal
      }
    }
    return out.sort((a, b) => a.created_at.localeCompare(b.created_at));
  }

  /**
   * Decide a pending proposal. Deciding twice is an error: the first human
   * wins. The host CLI and the bundle (a timeout) may decide at the same
   * instant, so the read-check-write runs under a per-proposal lock.
   */
  async decide(id: string, d: Decision): Promise<Proposal> {
    await this.get(id); // validates the id and that the proposal exists
    const release = await this.lock(id, `proposal ${id} is being decided by someone else`);
    try {
      return await this.decideLocked(id, d);
    } finally {
      await release();
    }
  }

  private async decideLocked(id: string, d: Decision): Promise<Proposal> {
    const p = await this.get(id);
    if (isDecided(p)) throw new QueueError(`proposal ${id} is already ${p.state}`);
    if (d.state === 'rejected' && !d.note) throw new QueueError(`rejecting ${id} needs a reason`);
    if ((d.state === 'approved' || d.state === 'approved-with-edits') && needsReason(p) && !d.note) {
      throw new QueueError(`approving ${id} needs a reason: it was raised by ${p.raised_by} (${p.summary})`);
    }
    const decided: Proposal = {
      ...p,
      state: d.state,
      decided_at: new Date().toISOString(),
      decided_by: d.by,
      ...(d.note === undefined ? {} : { note: d.note }),
      // Readers written against the hold protocol look for `reason`.
      ...(d.state === 'rejected' && d.note !== undefined ? { reason: d.note } : {}),
      ...(d.edited_request === undefined ? {} : { edited_request: d.edited_request }),
    };
    await this.write(decided);
    return decided;
  }

  /**
   * Resolve when the proposal is decided; on timeout mark it expired. Watches
   * the folder (instant on a local disk) and polls as a fallback, since
   * inotify does not see writes made on the other side of some bind mounts.
   */
  async waitFor(id: string, opts: { timeoutMs: number; pollMs?: number; signal?: AbortSignal }): Promise<Proposal> {
    const decided = await this.watchUntil(async () => {
      const p = await this.get(id);
      return isDecided(p) ? p : undefined;
    }, opts);
    if (decided) return decided;
    try {
      return await this.decide(id, { state: 'expired', by: 'timeout', note: `no answer within ${Math.round(opts.timeoutMs / 1000)} s` });
    } catch (e) {
      if (e instanceof QueueError) return this.get(id); // a human answered at the last moment
      throw e;
    }
  }

  /**
   * Re-run `check` whenever the folder changes (and every pollMs) until it
   * returns a value; undefined once timeoutMs has passed. Unlike waitFor it
   * decides nothing: for waiting on a proposal that someone else owns.
   */
  async watchUntil<T>(check: () => Promise<T | undefined>, opts: { timeoutMs: number; pollMs?: number; signal?: AbortSignal }): Promise<T | undefined> {
    const deadline = Date.now() + opts.timeoutMs;
    // `changed` is set by any event, also one that lands while check() runs,
    // so that no change is slept through until the next poll.
    let changed = false;
    let wake: (() => void) | undefined;
    const poke = () => {
      changed = true;
      wake?.();
    };
    let watcher: FSWatcher | undefined;
    try {
      watcher = watch(this.dir, poke);
      watcher.on('error', () => undefined);
    } catch {
      watcher = undefined;
    }
    opts.signal?.addEventListener('abort', poke);
    try {
      for (;;) {
        changed = false;
        const v = await check();
        if (v !== undefined) return v;
        if (opts.signal?.aborted) throw new QueueError('waiting was cancelled');
        const left = deadline - Date.now();
        if (left <= 0) return undefined;
        if (changed) continue;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.min(left, opts.pollMs ?? 250));
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        wake = undefined;
      }
    } finally {
      opts.signal?.removeEventListener('abort', poke);
      watcher?.close();
    }
  }

  private path(id: string): string {
    return join(this.dir, `${id}.json`);
  }

  /**
   * A lock is a folder (mkdir is atomic on every filesystem, bind mounts too).
   * One left by a crashed decider is stale after LOCK_STALE_MS and taken over.
   */
  private async lock(name: string, busy: string): Promise<() => Promise<void>> {
    const path = join(this.dir, `.${name}.lock`);
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        await mkdir(path, { mode: 0o700 });
        return () => rmdir(path).catch(() => undefined);
      } catch (e) {
        if (errCode(e) !== 'EEXIST') throw e;
      }
      const st = await stat(path).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs > LOCK_STALE_MS) {
        await rmdir(path).catch(() => undefined);
        continue;
      }
      if (Date.now() > deadline) throw new QueueError(busy);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  private async write(p: Proposal): Promise<void> {
    const tmp = join(this.dir, `.${p.id}.${process.pid}.${randomBytes(3).toString('hex')}.tmp`);
    await writeFile(tmp, JSON.stringify(p, null, 2) + '\n', { mode: 0o600 });
    await this.matchOwner(tmp);
    await rename(tmp, this.path(p.id));
  }

  /**
   * As root (the host CLI), hand a file to the folder's owner: the bundle
   * runs as another uid and must still read the decision written here.
   */
  private async matchOwner(path: string): Promise<void> {
    if (process.getuid?.() !== 0) return;
    const st = await stat(this.dir);
    if (st.uid !== 0 || st.gid !== 0) await chown(path, st.uid, st.gid);
  }
}
