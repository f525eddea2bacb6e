/**
 * What the dashboard server sends the page and accepts from it: plain data,
 * shared by the server (Node) and the page (browser), so this file imports
 * nothing. Every string that a bottle wrote (summaries, reasons, hosts,
 * paths, Dockerfiles) travels as-is and is made visible by the page.
 */

export type WireStatus = 'running' | 'detached' | 'preserved' | 'stopped' | 'orphan' | 'archived';

export interface WireBottle {
  readonly identity: string;
  readonly agent: string | null;
  readonly label: string | null;
  readonly color: string | null;
  readonly backend: string;
  readonly status: WireStatus;
  readonly started_at: string | null;
  readonly services: Readonly<Record<string, string>>;
}

export interface WireProposal {
  readonly id: string;
  readonly identity: string;
  readonly kind: string;
  readonly state: string;
  readonly raised_by: string;
  readonly summary: string;
  readonly why: string;
  readonly created_at: string;
  readonly needs_reason: boolean;
  readonly decided_at: string | null;
  readonly decided_by: string | null;
  readonly note: string | null;
  /** The request as text: a route's lines or a Dockerfile's unified diff. */
  readonly diff: string;
  /** What an edit starts from, or null when this kind cannot be edited. */
  readonly editable: { readonly text: string; readonly format: 'json' | 'dockerfile' } | null;
}

export type JobAction = 'stop' | 'preserve' | 'resume' | 'rebuild';

export interface WireJob {
  readonly id: string;
  readonly identity: string;
  readonly action: JobAction;
  readonly state: 'running' | 'done' | 'failed';
  /** The latest progress step, or the error (with its fix) when failed. */
  readonly message: string;
  readonly started_at: string;
}

/** One audit line as a sidecar wrote it, tagged with its source. */
export interface WireLogEntry {
  readonly source: string;
  readonly time: string;
  readonly [key: string]: unknown;
}

/** Server-sent events, one JSON object per `data:` line; the SSE event name is `type`. */
export type ServerEvent =
  | { readonly type: 'hello'; readonly home: string; readonly bottle: string | null }
  | { readonly type: 'bottles'; readonly bottles: readonly WireBottle[] }
  | { readonly type: 'proposals'; readonly proposals: readonly WireProposal[] }
  | { readonly type: 'jobs'; readonly jobs: readonly WireJob[] }
  | { readonly type: 'log'; readonly identity: string; readonly entries: readonly WireLogEntry[] }
  /** A torn-down bottle's proposals, from its archive (live bottles' come with `proposals`). */
  | { readonly type: 'record'; readonly identity: string; readonly proposals: readonly WireProposal[] }
  | { readonly type: 'problem'; readonly message: string | null };

export interface DecideBody {
  readonly approve: boolean;
  /** The note (approve) or the reason (reject; required). */
  readonly note?: string;
  /** Approve this edited request instead (JSON, or the whole Dockerfile). */
  readonly edited?: string;
}

export interface ActionBody {
  readonly action: 'stop' | 'preserve' | 'resume';
}

/** Every error answer: a one-line message and, when there is one, the fix. */
export interface ErrorBody {
  readonly error: string;
  readonly fix?: string;
}

/** Paths of the API, named once for both sides. */
export const API = {
  events: '/api/events',
  /** 200 when the cookie is good, 401 when not: how the page tells a restart from a new token. */
  session: '/api/session',
  decide: (id: string) => `/api/proposals/${encodeURIComponent(id)}/decide`,
  action: (identity: string) => `/api/bottles/${encodeURIComponent(identity)}/action`,
} as const;

/** How many log lines the page keeps per bottle (and the server sends on connect). */
export const LOG_KEEP = 1000;
