/**
 * The library's records as the page receives them (wire.ts): bottles,
 * proposals with their request as text, audit lines. Pure functions.
 */
import { capabilityDiff, editableText, type ArchivedBottle, type BottleListing, type LocatedProposal } from '../index.js';
import type { WireBottle, WireProposal } from './wire.js';

export function wireBottle(b: BottleListing): WireBottle {
  return {
    identity: b.identity,
    agent: b.agent ?? null,
    label: b.label ?? null,
    color: b.color ?? null,
    backend: b.backend,
    status: b.status,
    started_at: b.started_at ?? null,
    services: b.services,
  };
}

/** A bottle torn down whose record (audit log, proposals) is kept in the archive. */
export function wireArchived(a: ArchivedBottle): WireBottle {
  const m = a.metadata;
  return {
    identity: a.identity,
    agent: m?.agent ?? null,
    label: m?.label ?? null,
    color: m?.color ?? null,
    backend: m?.backend ?? 'docker',
    status: 'archived',
    started_at: m?.started_at ?? null,
    services: {},
  };
}

const EDITABLE: Readonly<Record<string, 'json' | 'dockerfile'>> = { 'egress-route': 'json', capability: 'dockerfile' };

export function wireProposal({ identity, proposal: p }: LocatedProposal): WireProposal {
  const format = EDITABLE[p.kind];
  return {
    id: p.id,
    identity,
    kind: p.kind,
    state: p.state,
    raised_by: p.raised_by,
    summary: str(p.summary),
    why: str(p.why),
    created_at: str(p.created_at),
    needs_reason: p.needs_reason,
    decided_at: p.decided_at ?? null,
    decided_by: p.decided_by ?? null,
    note: p.note ?? null,
    diff: requestText(p.kind, p.edited_request ?? p.request) ?? capabilityDiff(p) ?? '',
    editable: format === undefined ? null : { text: editableText(p).text, format },
  };
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v);
}

/**
 * A request as the lines it would add to the bottle: a route for an egress
 * request, the JSON of anything else. Undefined for a capability change,
 * whose text is its Dockerfile diff.
 */
export function requestText(kind: string, request: Readonly<Record<string, unknown>>): string | undefined {
  if (kind === 'capability') return undefined;
  if (kind !== 'egress-route') return JSON.stringify(request, null, 2);
  const list = (v: unknown): string[] => (Array.isArray(v) ? v.map((x) => str(x)) : []);
  const port = typeof request.port === 'number' && request.port !== 443 ? `:${request.port}` : '';
  const paths = list(request.paths);
  const methods = list(request.methods);
  return [
    `+ route ${str(request.host)}${port}`,
    `+   methods: ${methods.length ? methods.join(', ') : 'any'}`,
    `+   paths:   ${paths.length ? paths.map((p) => `${p} (prefix)`).join(', ') : 'every path'}`,
  ].join('\n');
}
