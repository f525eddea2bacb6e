/**
 * The human side of supervise, on the host: every bottle's proposal queue
 * (BottleState.proposalsDir), listed together; decisions written through the
 * same ProposalQueue the bundle waits on, audited to the bottle's supervise
 * audit log; the host's share of an
 * approval's effect (a capability change writes the per-bottle Dockerfile
 * and preserves the bottle).
 *
 * Proposals raised by other sidecars may be in their own dialect of the
 * format (the egress proxy's DLP holds: `reason`, no `why`); they are read
 * tolerantly and decided with both `note` and `reason` set.
 */
import { readdir } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { BottleError, errnoCode } from '../errors.js';
import type { EgressRoute } from '../manifest/types.js';
import { archivedProposalsDir } from '../bottle/archive.js';
import { BottleState, homeDirs, writeSecretFile } from '../bottle/state.js';
import type { Settings } from '../settings.js';
import { appendAudit, auditEntry } from '../sidecars/supervise/audit.js';
import { unifiedDiff } from '../sidecars/supervise/diff.js';
import { type Decision, ID_RE, type Proposal, ProposalQueue, QueueError, isDecided, needsReason } from '../sidecars/supervise/queue.js';
import { RequestError, allowTarget, approvedDockerfile, egressRoute, isApproved, parseEgressRequest } from '../sidecars/supervise/requests.js';

const IDENTITY_RE = /^[a-z][a-z0-9-]{0,62}$/;

/** The folder a screen watches for a bottle's new proposals. */
export function proposalsDir(home: string, identity: string): string {
  return new BottleState(home, identity).proposalsDir;
}

function queueOf(home: string, identity: string): ProposalQueue {
  return new ProposalQueue(new BottleState(home, identity).proposalsDir);
}

export interface LocatedProposal {
  /** The bottle whose queue holds it. */
  readonly identity: string;
  readonly proposal: Proposal;
}

/** A proposal as this module reads it: foreign dialects mapped onto the queue's fields. */
function normalize(raw: Proposal): Proposal {
  const r = raw as Proposal & { reason?: unknown };
  return {
    ...raw,
    why: typeof raw.why === 'string' ? raw.why : '',
    needs_reason: needsReason(raw),
    request: typeof raw.request === 'object' && raw.request !== null ? raw.request : {},
    summary: typeof raw.summary === 'string' ? raw.summary : `${raw.kind} ${raw.id}`,
    ...(raw.note === undefined && typeof r.reason === 'string' ? { note: r.reason } : {}),
  };
}

async function identities(home: string): Promise<string[]> {
  try {
    return (await readdir(homeDirs(home).state, { withFileTypes: true }))
      .filter((d) => d.isDirectory() && IDENTITY_RE.test(d.name))
      .map((d) => d.name)
      .sort();
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return [];
    throw e;
  }
}

/** Proposals of every bottle of this home, oldest first; pending only unless `all`. */
export async function listProposals(home: string, opts: { all?: boolean } = {}): Promise<LocatedProposal[]> {
  const out: LocatedProposal[] = [];
  for (const identity of await identities(home)) {
    for (const p of await queueOf(home, identity).list()) {
      if (typeof p.id !== 'string' || typeof p.kind !== 'string') continue;
      const n = normalize(p);
      if (opts.all || !isDecided(n)) out.push({ identity, proposal: n });
    }
  }
  return out.sort((a, b) => String(a.proposal.created_at).localeCompare(String(b.proposal.created_at)));
}

/** The proposals (decided or not) kept in a torn-down bottle's archive, oldest first. */
export async function archivedProposals(home: string, identity: string): Promise<Proposal[]> {
  const queue = new ProposalQueue(archivedProposalsDir(new BottleState(home, identity)));
  return (await queue.list())
    .filter((p) => typeof p.id === 'string' && typeof p.kind === 'string')
    .map(normalize)
    .sort((a, b) => String(a.created_at).localeCompare(String(b.created_at)));
}

/** The proposal with this id, in whichever bottle's queue holds it. Exit 4 when none does. */
export async function findProposal(home: string, id: string): Promise<LocatedProposal> {
  if (ID_RE.test(id)) {
    for (const identity of await identities(home)) {
      try {
        return { identity, proposal: normalize(await queueOf(home, identity).get(id)) };
      } catch (e) {
        if (!(e instanceof QueueError)) throw e;
      }
    }
  }
  throw new BottleError('not-found', `no proposal ${JSON.stringify(id)} in any bottle`, { fix: 'bot-bottle proposals --all' });
}

export interface HumanDecision {
  readonly approve: boolean;
  /** The note (approval) or reason (rejection). */
  readonly note?: string;
  /** Approve a changed request (egress-route, capability only); validated here. */
  readonly edited_request?: Readonly<Record<string, unknown>>;
  /** Who decides; default `human:<user>`. */
  readonly by?: string;
}

export interface DecideResult {
  readonly identity: string;
  readonly proposal: Proposal;
  /** What happened on the host because of it, one line each. */
  readonly effects: readonly string[];
}

export function defaultDecider(settings: Settings): string {
  let user = settings.hostEnv.USER ?? settings.hostEnv.LOGNAME;
  if (!user) {
    try {
      user = userInfo().username;
    } catch {
      user = 'unknown';
    }
  }
  return `human:${user}`;
}

/** Check a human's edit of a request; returns it normalised. Throws a usage BottleError. */
export function validateEdit(p: Proposal, edited: unknown): Record<string, unknown> {
  try {
    switch (p.kind) {
      case 'egress-route':
        return { ...parseEgressRequest(edited) };
      case 'capability': {
        const e = edited as Record<string, unknown> | null;
        if (typeof e !== 'object' || e === null || typeof e.dockerfile !== 'string') throw new RequestError('a capability edit is {"dockerfile": "<the whole Dockerfile>"}');
        if (!/^\s*FROM\s+\S/im.test(e.dockerfile)) throw new RequestError('the edited Dockerfile has no FROM line');
        return { ...p.request, dockerfile: e.dockerfile.endsWith('\n') ? e.dockerfile : `${e.dockerfile}\n` };
      }
      case 'allow':
      case 'dlp-hold':
      case 'push-hold':
        throw new RequestError(`a ${p.kind} proposal cannot be edited, only approved or rejected`);
    }
  } catch (e) {
    if (e instanceof BottleError) throw e;
    throw new BottleError('usage', `edit of ${p.id}: ${e instanceof Error ? e.message : String(e)}`);
  }
  throw new BottleError('usage', `edit of ${p.id}: unknown kind ${String(p.kind)}`);
}

/**
 * Decide a proposal as a human. Approving or rejecting an `allow` proposal
 * decides the held request it argues for (that is what the human answers);
 * deciding a held request closes the `allow` proposals pointing at it.
 * Approving a capability change writes the per-bottle Dockerfile.
 */
export async function decideProposal(settings: Settings, id: string, d: HumanDecision): Promise<DecideResult> {
  const { identity, proposal } = await findProposal(settings.home, id);
  const queue = queueOf(settings.home, identity);
  const by = d.by ?? defaultDecider(settings);
  const note = d.note?.trim() ? d.note.trim() : undefined;
  if (!d.approve && !note) throw new BottleError('usage', `rejecting ${id} needs a reason`, { fix: `bot-bottle reject ${id} --reason "..."` });
  if (isDecided(proposal)) {
    throw new BottleError('usage', `proposal ${id} is already ${proposal.state}${proposal.decided_by ? ` (by ${proposal.decided_by})` : ''}`);
  }
  const effects: string[] = [];

  let target: Proposal = proposal;
  const heldId = allowTarget(proposal);
  if (heldId !== undefined) {
    // The human answers the held request; the allow proposal follows it.
    const held = normalize(await queue.get(heldId).catch(() => proposal));
    if (held.id !== proposal.id && !isDecided(held)) target = held;
  }
  let edited: Record<string, unknown> | undefined;
  if (d.edited_request !== undefined) {
    if (!d.approve) throw new BottleError('usage', 'only an approval carries edits');
    edited = validateEdit(target, d.edited_request);
  }
  const decision: Decision = {
    state: d.approve ? (edited ? 'approved-with-edits' : 'approved') : 'rejected',
    by,
    ...(note === undefined ? {} : { note }),
    ...(edited === undefined ? {} : { edited_request: edited }),
  };
  if (d.approve && needsReason(target) && !note) {
    throw new BottleError('usage', `approving ${target.id} needs a reason: it was raised by ${target.raised_by} (${target.summary})`, {
      fix: `bot-bottle approve ${id} --note "why this is safe"`,
    });
  }

  let decided: Proposal;
  try {
    decided = normalize(await queue.decide(target.id, decision));
  } catch (e) {
    if (e instanceof QueueError) throw new BottleError('usage', e.message);
    throw e;
  }
  await audit(settings.home, identity, decided);
  if (target.id !== proposal.id) effects.push(`decided the held ${target.kind} ${target.id}`);

  // Close allow proposals that argued for this (held) one, and the allow itself.
  for (const p of await queue.list()) {
    if (p.kind === 'allow' && !isDecided(p) && allowTarget(p) === target.id) {
      const mirrored = await queue
        .decide(p.id, { state: d.approve ? 'approved' : 'rejected', by, note: note ?? `${target.id} ${decided.state}` })
        .catch(() => undefined);
      if (mirrored) await audit(settings.home, identity, mirrored);
    }
  }

  if (decided.kind === 'capability' && isApproved(decided)) {
    const r = await applyCapability(settings, identity, decided);
    // Applying it (rebuild, resume) is the caller's next step: `rebuildAndResume`, as `approve` and `supervise` do.
    effects.push(`wrote ${r.dockerfile} and preserved ${identity}`);
  }
  if (decided.kind === 'egress-route' && isApproved(decided)) effects.push('the bottle\'s supervise server adds the route to the running egress proxy');
  const final = target.id === proposal.id ? decided : normalize(await queue.get(proposal.id));
  return { identity, proposal: final, effects };
}

async function audit(home: string, identity: string, p: Proposal): Promise<void> {
  try {
    await appendAudit(new BottleState(home, identity).auditLog('supervise'), auditEntry('decided', p));
  } catch {
    // a bottle whose state folder is gone: the decision itself is on disk
  }
}

/**
 * The host's share of an approved capability change: write the per-bottle
 * Dockerfile (`<home>/state/<identity>/Dockerfile`, which the next start or
 * resume builds from) and mark the bottle preserved, so that stopping it to
 * rebuild keeps its workspace.
 */
export async function applyCapability(settings: Settings, identity: string, proposal: Proposal): Promise<{ dockerfile: string }> {
  if (proposal.kind !== 'capability') throw new BottleError('usage', `${proposal.id} is a ${proposal.kind} proposal, not a capability change`);
  if (!isApproved(proposal)) throw new BottleError('usage', `${proposal.id} is ${proposal.state}, not approved`);
  let text: string;
  try {
    text = approvedDockerfile(proposal);
  } catch (e) {
    throw new BottleError('usage', e instanceof Error ? e.message : String(e));
  }
  const state = new BottleState(settings.home, identity);
  const path = state.dockerfile;
  await writeSecretFile(path, text, 0o644);
  await state.markPreserved(`capability ${proposal.id} approved`);
  return { dockerfile: path };
}

/** Routes approved for a bottle, in approval order: for an egress prepare that rebuilds its policy on resume. */
export async function approvedEgressRoutes(home: string, identity: string): Promise<EgressRoute[]> {
  const out: EgressRoute[] = [];
  const all = await queueOf(home, identity).list();
  all.sort((a, b) => String(a.decided_at ?? '').localeCompare(String(b.decided_at ?? '')));
  for (const p of all) {
    if (p.kind !== 'egress-route' || !isApproved(p)) continue;
    try {
      out.push(egressRoute(parseEgressRequest(p.edited_request ?? p.request)));
    } catch {
      // an unreadable request installs nothing
    }
  }
  return out;
}

/** For display: the unified diff a capability proposal makes (the human's edit when there is one). */
export function capabilityDiff(p: Proposal): string | undefined {
  if (p.kind !== 'capability') return undefined;
  const base = typeof p.request.base === 'string' ? p.request.base : '';
  const after = (p.edited_request ?? p.request).dockerfile;
  if (typeof after !== 'string') return undefined;
  return unifiedDiff(base, after, { from: 'Dockerfile (current)', to: 'Dockerfile (proposed)' });
}

/** What `$EDITOR` opens for an edit: the request JSON, or the Dockerfile itself for a capability. */
export function editableText(p: Proposal): { text: string; suffix: string } {
  if (p.kind === 'capability') {
    const d = (p.edited_request ?? p.request).dockerfile;
    return { text: typeof d === 'string' ? d : '', suffix: '.Dockerfile' };
  }
  return { text: JSON.stringify(p.edited_request ?? p.request, null, 2) + '\n', suffix: '.json' };
}

/** Parse what the editor saved back into an edited request; undefined when unchanged. */
export function parseEditedText(p: Proposal, text: string): Record<string, unknown> | undefined {
  if (text === editableText(p).text) return undefined;
  if (p.kind === 'capability') return validateEdit(p, { dockerfile: text });
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new BottleError('usage', `edit of ${p.id}: not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  return validateEdit(p, raw);
}
