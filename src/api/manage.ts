/**
 * list, destroy (`stop`), resume, findOrphans, cleanup, exec, freeze (`commit`):
 * by identity, from recorded state and engine labels.
 */
import { getBackend } from '../backends/index.js';
import type { ExecIO, RunningBottle } from '../bottle/backend.js';
import { retireState } from '../bottle/archive.js';
import { checkIdentity } from '../bottle/identity.js';
import { BACKENDS, type BackendName, type BottleSpec } from '../bottle/spec.js';
import { type BottleMetadata, BottleState, listStateIdentities, pidAlive, readMetadata, perBottleImageTag } from '../bottle/state.js';
import { BottleError } from '../errors.js';
import type { Settings } from '../settings.js';
import { type StartOptions, type Started, start } from './start.js';

/**
 * running/detached: up. preserved: kept for `resume`. stopped: its containers
 * stopped without us (an engine restart, a crash): kept, resumable, never
 * cleaned up. orphan: nobody owns it (its CLI died, or state without anything
 * in the engine): `cleanup` removes it.
 */
export type BottleStatus = 'running' | 'detached' | 'preserved' | 'stopped' | 'orphan';

export interface BottleListing {
  readonly identity: string;
  readonly agent: string | undefined;
  readonly label: string | undefined;
  readonly color: string | undefined;
  readonly backend: BackendName;
  readonly status: BottleStatus;
  readonly services: Readonly<Record<string, string>>;
  readonly started_at: string | undefined;
}

export async function list(settings: Settings): Promise<BottleListing[]> {
  const running = new Map<string, RunningBottle>();
  for (const b of BACKENDS) for (const r of await getBackend(settings, b).list()) running.set(r.identity, r);
  const identities = new Set([...running.keys(), ...(await listStateIdentities(settings.home))]);
  const out: BottleListing[] = [];
  for (const identity of [...identities].sort()) {
    const state = new BottleState(settings.home, identity);
    const meta = await state.readMetadata().catch(() => undefined);
    const engine = running.get(identity);
    const preserved = meta ? await state.isPreserved() : false;
    out.push({
      identity,
      agent: meta?.agent,
      label: meta?.label,
      color: meta?.color,
      backend: meta?.backend ?? engine?.backend ?? 'docker',
      status: statusOf(meta, engine, preserved),
      services: engine?.services ?? {},
      started_at: meta?.started_at ?? engine?.createdAt?.toISOString(),
    });
  }
  return out;
}

function statusOf(meta: BottleMetadata | undefined, engine: RunningBottle | undefined, preserved: boolean): BottleStatus {
  if (!meta) return 'orphan';
  const containersUp = engine !== undefined && engine.services.agent === 'running' && engine.services.bundle === 'running';
  if (preserved && !containersUp) return 'preserved';
  // Stopped without us: the workspace may hold work, so it is kept for `resume`.
  const hasWork = engine !== undefined && (engine.services.agent !== undefined || engine.services['volume-workspace'] !== undefined);
  if (!containersUp) return hasWork ? 'stopped' : 'orphan';
  if (meta.detached) return 'detached';
  if (pidAlive(meta.owner_pid)) return 'running';
  // Its session's CLI died: a preserved bottle still holds work for `resume`, never cleanup's to take.
  return preserved ? 'preserved' : 'orphan';
}

/** `stop`: remove the bottle's engine resources and state; with `preserve`, keep workspace and state for `resume`. Idempotent. */
export async function destroy(settings: Settings, identity: string, opts: { preserve?: boolean } = {}): Promise<void> {
  const state = new BottleState(settings.home, identity);
  const meta = await state.readMetadata().catch(() => undefined);
  const backend = getBackend(settings, meta?.backend ?? 'docker');
  if (opts.preserve) {
    if (!meta) throw new BottleError('not-found', `no recorded state for ${identity}; nothing to preserve`, { fix: `bot-bottle stop ${identity}` });
    await state.markPreserved('stop --preserve');
  }
  await backend.teardown(identity, { keepWorkspace: opts.preserve === true });
  if (!opts.preserve) await retireState(state, 'stop', settings.archiveDays);
}

/** Relaunch a preserved or stopped bottle with its recorded agent, bottles and backend. */
export async function resume(settings: Settings, identity: string, opts: StartOptions & { headless?: boolean; prompt?: string } = {}): Promise<Started> {
  const meta = await readMetadata(settings.home, checkIdentity(identity));
  const listing = (await list(settings)).find((b) => b.identity === identity);
  if (listing && (listing.status === 'running' || listing.status === 'detached')) {
    throw new BottleError('usage', `${identity} is already running`, { fix: `bot-bottle exec ${identity} -- bash` });
  }
  // Leftover containers of a crashed session go; the workspace stays.
  await getBackend(settings, meta.backend).teardown(identity, { keepWorkspace: true });
  const spec: BottleSpec = {
    agent: meta.agent,
    bottles: meta.bottles,
    backend: meta.backend,
    copyCwd: undefined,
    label: meta.label,
    color: meta.color,
    identity,
    headless: opts.headless ?? false,
    prompt: opts.prompt,
  };
  return start(settings, spec, opts);
}

export interface CleanupReport {
  readonly removed: readonly string[];
}

/** Orphans: engine resources without state, state whose owner died, half-removed bottles. */
export async function findOrphans(settings: Settings): Promise<BottleListing[]> {
  return (await list(settings)).filter((b) => b.status === 'orphan');
}

const CLEANUP_CONCURRENCY = 4;

export async function cleanup(settings: Settings, orphans?: readonly BottleListing[]): Promise<CleanupReport> {
  const targets = orphans ?? (await findOrphans(settings));
  // A few at a time: each teardown is mostly waiting on the engine, and twenty
  // orphans one by one took 25 s. After a failure no new teardown starts; the
  // ones under way finish, then the first error is thrown.
  const queue = [...targets];
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    for (let o = queue.shift(); o !== undefined && failure === undefined; o = queue.shift()) {
      try {
        await getBackend(settings, o.backend).teardown(o.identity, { keepWorkspace: false });
        await retireState(new BottleState(settings.home, o.identity), 'cleanup', settings.archiveDays);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CLEANUP_CONCURRENCY, targets.length) }, worker));
  if (failure) throw failure.error;
  return { removed: targets.map((t) => t.identity) };
}

export async function exec(settings: Settings, identity: string, argv: readonly string[], io: ExecIO): Promise<number> {
  const meta = await readMetadata(settings.home, checkIdentity(identity)).catch(() => undefined);
  return getBackend(settings, meta?.backend ?? 'docker').exec(identity, argv, io);
}

/** `commit`: snapshot the agent; the next resume boots from it. Preserves the bottle. Returns the image tag. */
export interface Frozen {
  /** The snapshot `resume` boots from. */
  readonly image: string;
  /** Whether the bottle is still up: it keeps running until `stop --preserve` (or its session ends). */
  readonly running: boolean;
}

export async function freeze(settings: Settings, identity: string): Promise<Frozen> {
  const state = new BottleState(settings.home, identity);
  const meta = await state.readMetadata();
  const tag = perBottleImageTag(identity).replace(/:latest$/, `:commit-${Date.now()}`);
  await getBackend(settings, meta.backend).commit(identity, tag);
  await state.writeCommittedImage(tag);
  await state.markPreserved('commit');
  const status = (await list(settings)).find((b) => b.identity === identity)?.status;
  return { image: tag, running: status === 'running' || status === 'detached' };
}
