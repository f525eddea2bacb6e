/**
 * The proposal queue: one mechanism for every proposal, whoever raises it
 * (the agent through MCP, the egress proxy for a DLP hold, the git-gate for a
 * push with an allow comment). One JSON file per proposal in a folder that
 * the host owns and the bundle has mounted; every write is atomic (temp file
 * + rename), so a reader never sees half a proposal and a crashed CLI loses
 * nothing. Dependency-free: it runs in the bundle (Node 18) and on the host.
 */
import { randomBytes } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export type ProposalKind = 'egress-route' | 'capability' | 'allow' | 'dlp-hold' | 'push-hold';
export type ProposalState = 'pending' | 'approved' | 'approved-with-edits' | 'rejected' | 'expired';
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

const ID_RE = /^[a-z]+-[a-z0-9]{8}$/;
const PREFIX: Record<ProposalKind, string> = {
  'egress-route': 'egress',
  capability: 'cap',
  allow: 'allow',
  'dlp-hold': 'dlp',
  'push-hold': 'push',
};

export function isDecided(p: Proposal): boolean {
  return p.state !== 'pending';
}

export class ProposalQueue {
  constructor(readonly dir: string) {}

  async raise(input: Omit<Proposal, 'id' | 'state' | 'created_at'>): Promise<Proposal> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const id = `${PREFIX[input.kind]}-${randomBytes(5).toString('hex').slice(0, 8)}`;
    const p: Proposal = { ...input, id, state: 'pending', created_at: new Date().toISOString() };
    await this.write(p);
    return p;
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

  /** Decide a pending proposal. Deciding twice is an error: the first human wins. */
  async decide(id: string, d: Decision): Promise<Proposal> {
    const p = await this.get(id);
    if (isDecided(p)) throw new QueueError(`proposal ${id} is already ${p.state}`);
    if (d.state === 'rejected' && !d.note) throw new QueueError(`rejecting ${id} needs a reason`);
    if ((d.state === 'approved' || d.state === 'approved-with-edits') && p.needs_reason && !d.note) {
      throw new QueueError(`approving ${id} needs a reason: it was raised by ${p.raised_by} (${p.summary})`);
    }
    const decided: Proposal = {
      ...p,
      state: d.state,
      decided_at: new Date().toISOString(),
      decided_by: d.by,
      ...(d.note === undefined ? {} : { note: d.note }),
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
    const deadline = Date.now() + opts.timeoutMs;
    let watcher: FSWatcher | undefined;
    let wake: (() => void) | undefined;
    try {
      watcher = watch(this.dir, () => wake?.());
    } catch {
      watcher = undefined;
    }
    try {
      for (;;) {
        const p = await this.get(id);
        if (isDecided(p)) return p;
        if (opts.signal?.aborted) throw new QueueError(`waiting for ${id} was cancelled`);
        const left = deadline - Date.now();
        if (left <= 0) {
          try {
            return await this.decide(id, { state: 'expired', by: 'timeout', note: `no answer within ${Math.round(opts.timeoutMs / 1000)} s` });
          } catch (e) {
            if (e instanceof QueueError) return this.get(id);
            throw e;
          }
        }
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.min(left, opts.pollMs ?? 250));
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
    } finally {
      watcher?.close();
    }
  }

  private path(id: string): string {
    return join(this.dir, `${id}.json`);
  }

  private async write(p: Proposal): Promise<void> {
    const tmp = join(this.dir, `.${p.id}.${process.pid}.${randomBytes(3).toString('hex')}.tmp`);
    await writeFile(tmp, JSON.stringify(p, null, 2) + '\n', { mode: 0o600 });
    await rename(tmp, this.path(p.id));
  }
}
