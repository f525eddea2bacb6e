/**
 * The structured request of each agent-raised proposal kind, how it is
 * validated (the agent's input and a human's edit alike), summarised, and
 * turned into its effect (an egress route, a Dockerfile). Shared by the MCP
 * server in the bundle and the host CLI: no dependencies beyond
 * the egress config's route parser.
 */
import type { EgressRoute } from '../../manifest/types.js';
import { parseRoute } from '../egress/config.js';
import type { Proposal } from './queue.js';

export class RequestError extends Error {
  override name = 'RequestError';
}

// ---------------------------------------------------------------- egress-route

export interface EgressRequest {
  readonly host: string;
  readonly port: number;
  /** Path prefixes (each starts with `/`); empty means every path. */
  readonly paths: readonly string[];
  /** Upper-case HTTP methods; empty means any. */
  readonly methods: readonly string[];
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function strings(v: unknown, where: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw new RequestError(`${where} must be a list of strings`);
  return v as string[];
}

/** Validate and normalise an egress request (from the agent, or as a human edited it). */
export function parseEgressRequest(raw: unknown): EgressRequest {
  if (!isObj(raw)) throw new RequestError('an egress request is a JSON object {host, port, paths, methods}');
  for (const k of Object.keys(raw)) {
    if (!['host', 'port', 'paths', 'methods'].includes(k)) throw new RequestError(`unknown key "${k}" (allowed: host, port, paths, methods)`);
  }
  if (typeof raw.host !== 'string' || raw.host.trim() === '') throw new RequestError('host must be a host name such as api.example.com');
  const host = raw.host.trim();
  if (/[/\s]|^[a-z]+:\/\//i.test(host)) throw new RequestError(`host "${host}" must be a bare host name (no scheme, path or spaces)`);
  const paths = strings(raw.paths, 'paths').map((p) => p.trim()).filter(Boolean);
  for (const p of paths) if (!p.startsWith('/')) throw new RequestError(`path "${p}" must start with /`);
  const methods = [...new Set(strings(raw.methods, 'methods').map((m) => m.trim().toUpperCase()).filter(Boolean))];
  const route = toRoute(host, raw.port, paths, methods);
  return { host: route.host, port: route.port, paths, methods };
}

function toRoute(host: string, port: unknown, paths: readonly string[], methods: readonly string[]): EgressRoute {
  const matches = paths.length === 0 && methods.length === 0 ? [] : [{ paths: paths.map((value) => ({ type: 'prefix', value })), methods, headers: [] }];
  try {
    return parseRoute({ host, ...(port === undefined || port === null ? {} : { port }), matches }, 'request');
  } catch (e) {
    throw new RequestError((e instanceof Error ? e.message : String(e)).replace(/^request(\.|: )?/, ''));
  }
}

/** The route an approved egress request adds: no auth (never a token), DLP on as for any route. */
export function egressRoute(req: EgressRequest): EgressRoute {
  return toRoute(req.host, req.port, req.paths, req.methods);
}

export function egressSummary(req: EgressRequest): string {
  const where = req.port === 443 ? req.host : `${req.host}:${req.port}`;
  const methods = req.methods.length ? req.methods.join(',') : 'any method';
  const paths = req.paths.length ? req.paths.join(' ') : 'every path';
  return `egress to ${where} (${methods}; ${paths})`;
}

// ------------------------------------------------------------------ capability

export interface CapabilityRequest {
  /** What the agent sent: lines to append, or a whole Dockerfile. */
  readonly change: string;
  readonly mode: 'append' | 'replace';
  /** The agent's Dockerfile when the proposal was raised ('' if unknown). */
  readonly base: string;
  /** The proposed per-bottle Dockerfile: what approval writes. */
  readonly dockerfile: string;
}

export const MAX_DOCKERFILE_BYTES = 256 * 1024;

/** A change with its own FROM line is a whole Dockerfile; anything else is appended. */
export function capabilityRequest(base: string, change: string): CapabilityRequest {
  const trimmed = change.replace(/\s+$/, '');
  if (trimmed === '') throw new RequestError('dockerfile_change is empty');
  const replace = /^\s*FROM\s+\S/im.test(trimmed);
  const baseText = base.replace(/\s+$/, '');
  // Appended lines run as root (an install needs it), then the image's own user is restored.
  const lastUser = [...baseText.matchAll(/^\s*USER\s+(\S+)\s*$/gim)].at(-1)?.[1];
  const appended = lastUser && lastUser !== 'root' && !/^\s*USER\s/im.test(trimmed) ? `USER root\n${trimmed}\nUSER ${lastUser}` : trimmed;
  const dockerfile = replace || baseText === '' ? `${trimmed}\n` : `${baseText}\n\n${appended}\n`;
  if (Buffer.byteLength(dockerfile) > MAX_DOCKERFILE_BYTES) throw new RequestError(`the proposed Dockerfile is over ${MAX_DOCKERFILE_BYTES / 1024} KiB`);
  if (!/^\s*FROM\s+\S/im.test(dockerfile)) {
    throw new RequestError('the current Dockerfile is unknown, so the change must be a whole Dockerfile (with a FROM line)');
  }
  return { change: trimmed, mode: replace ? 'replace' : 'append', base, dockerfile };
}

/** The Dockerfile approval writes: the human's edit when there is one. */
export function approvedDockerfile(p: Proposal): string {
  const req = (p.edited_request ?? p.request) as Partial<CapabilityRequest>;
  if (typeof req.dockerfile !== 'string' || !/^\s*FROM\s+\S/im.test(req.dockerfile)) {
    throw new RequestError(`proposal ${p.id} has no Dockerfile with a FROM line`);
  }
  return req.dockerfile.endsWith('\n') ? req.dockerfile : `${req.dockerfile}\n`;
}

export function capabilitySummary(req: CapabilityRequest): string {
  const first = req.change.split('\n').find((l) => l.trim() !== '') ?? '';
  const lines = req.change.split('\n').length;
  const head = first.length > 60 ? `${first.slice(0, 57)}...` : first;
  return `${req.mode === 'replace' ? 'replace the Dockerfile' : 'Dockerfile +'}: ${head}${lines > 1 ? ` (+${lines - 1} lines)` : ''}`;
}

// ----------------------------------------------------------------------- allow

export interface AllowRequest {
  /** The held proposal (`dlp-hold` or `push-hold`) the agent argues for. */
  readonly proposal_id: string;
  readonly held_kind: string;
  readonly held_summary: string;
}

export function allowTarget(p: Proposal): string | undefined {
  if (p.kind !== 'allow') return undefined;
  const id = p.request.proposal_id;
  return typeof id === 'string' ? id : undefined;
}

// ------------------------------------------------------------------- decisions

export function isApproved(p: Proposal): boolean {
  return p.state === 'approved' || p.state === 'approved-with-edits';
}

/** The first line a client (and `bottle-ask`) reads: `decision: <state>`. */
export function decisionText(p: Proposal, effect?: string): string {
  const lines = [`decision: ${p.state}`, `proposal: ${p.id} (${p.summary})`];
  if (p.decided_by) lines.push(`decided by: ${p.decided_by}`);
  if (p.note) lines.push(`${p.state === 'rejected' ? 'reason' : 'note'}: ${p.note}`);
  if (p.edited_request) lines.push(`edited by the human, as approved: ${JSON.stringify(p.edited_request.dockerfile === undefined ? p.edited_request : { dockerfile: p.edited_request.dockerfile })}`);
  if (effect) lines.push(effect);
  return lines.join('\n');
}
