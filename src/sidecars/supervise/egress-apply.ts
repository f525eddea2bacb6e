/**
 * Installing an approved egress route in the running bottle:
 * 1. the record: `<routesDir>/<proposal-id>.json`, one JSON EgressRoute,
 *    in the host state folder (kept by `stop --preserve` and `resume`);
 * 2. the live effect: the egress proxy re-reads its policy file
 *    (`{routes: [...]}`, laid over the config's routes, same host:port
 *    sits after it) when it changes. The approved paths/methods join the
 *    *approved* route for that host:port, never the config's: a provider's
 *    route keeps its token for exactly what it allowed, and what the human
 *    approved goes through without a token (an approval neither removes
 *    injection nor widens where the token goes).
 */
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EgressRoute } from '../../manifest/types.js';
import { effectiveRoutes, parseRoutes } from '../egress/config.js';

export interface EgressTargets {
  readonly routesDir: string;
  /** The proxy's config (base routes) and policy overlay; both or neither. */
  readonly configFile: string | undefined;
  readonly policyFile: string | undefined;
}

export interface ApplyResult {
  readonly recorded: string;
  /** False when the record was already there (a repeat: nothing new to audit). */
  readonly recordedNow: boolean;
  readonly live: 'merged' | 'already-covered' | 'no-policy-file';
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await rename(tmp, path);
}

function key(r: EgressRoute): string {
  return `${r.host}:${r.port}`;
}

/**
 * The route in force after adding `add` to `existing` (same host:port), or
 * undefined when `existing` already lets everything `add` asks for through.
 */
export function mergeRoute(existing: EgressRoute | undefined, add: EgressRoute): EgressRoute | undefined {
  if (!existing) return add;
  if (existing.matches.length === 0) return undefined; // every path and method already
  if (add.matches.length === 0) return { ...existing, matches: [] };
  const seen = new Set(existing.matches.map((m) => JSON.stringify(m)));
  const extra = add.matches.filter((m) => !seen.has(JSON.stringify(m)));
  if (extra.length === 0) return undefined;
  return { ...existing, matches: [...existing.matches, ...extra] };
}

// One writer at a time for the policy file (this process is its only writer).
let chain: Promise<unknown> = Promise.resolve();

export function applyEgressRoute(targets: EgressTargets, proposalId: string, route: EgressRoute): Promise<ApplyResult> {
  const job = chain.then(() => applyNow(targets, proposalId, route));
  chain = job.catch(() => undefined);
  return job;
}

async function applyNow(t: EgressTargets, proposalId: string, route: EgressRoute): Promise<ApplyResult> {
  const recorded = join(t.routesDir, `${proposalId}.json`);
  const recordedNow = !(await exists(recorded));
  if (recordedNow) {
    await mkdir(t.routesDir, { recursive: true, mode: 0o700 });
    await writeAtomic(recorded, JSON.stringify(route, null, 2) + '\n');
  }
  if (t.configFile === undefined || t.policyFile === undefined) return { recorded, recordedNow, live: 'no-policy-file' };
  const approved: EgressRoute = { ...route, auth: undefined };
  const inForce = effectiveRoutes(t.configFile, t.policyFile).filter((r) => key(r) === key(approved));
  if (covered(inForce, approved)) return { recorded, recordedNow, live: 'already-covered' };
  let overlay: EgressRoute[] = [];
  try {
    const raw = JSON.parse(await readFile(t.policyFile, 'utf8')) as unknown;
    overlay = parseRoutes(Array.isArray(raw) ? raw : (raw as { routes?: unknown }).routes, t.policyFile);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const previous = overlay.find((r) => key(r) === key(approved));
  const merged = mergeRoute(previous === undefined ? undefined : { ...previous, auth: undefined }, approved);
  if (!merged) return { recorded, recordedNow, live: 'already-covered' };
  const next = [...overlay.filter((r) => key(r) !== key(merged)), merged];
  await writeAtomic(t.policyFile, JSON.stringify({ routes: next }, null, 2) + '\n');
  return { recorded, recordedNow, live: 'merged' };
}

/** Does some route in force for the host:port already let through everything `add` asks for? */
function covered(inForce: readonly EgressRoute[], add: EgressRoute): boolean {
  if (inForce.some((r) => r.matches.length === 0)) return true;
  if (add.matches.length === 0) return false;
  const seen = new Set(inForce.flatMap((r) => r.matches.map((m) => JSON.stringify(m))));
  return add.matches.every((m) => seen.has(JSON.stringify(m)));
}
