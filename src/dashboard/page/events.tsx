/**
 * The server's event stream, as Preact state. EventSource reconnects by
 * itself when the dashboard restarts (the server asks for a 1 s retry); each
 * (re)connection begins with `hello` and the full state, so the page is
 * whole again without a reload. A 401 closes the stream for good: the token
 * changed (`--new-token`), and only the new URL helps.
 */
import { useEffect, useState } from 'preact/hooks';
import { API, LOG_KEEP, type ServerEvent, type WireBottle, type WireJob, type WireLogEntry, type WireProposal } from '../wire.js';

export type Connection = 'connecting' | 'live' | 'reconnecting' | 'signed-out';

export interface LiveState {
  readonly connection: Connection;
  readonly bottles: readonly WireBottle[];
  readonly proposals: readonly WireProposal[];
  readonly jobs: readonly WireJob[];
  readonly problem: string | null;
  /** The followed bottle's audit log, oldest first. */
  readonly log: readonly WireLogEntry[];
  readonly logOf: string | null;
  /** The followed bottle's proposals from its archive, when it was torn down. */
  readonly archived: readonly WireProposal[];
  readonly home: string;
}

const EMPTY: LiveState = { connection: 'connecting', bottles: [], proposals: [], jobs: [], problem: null, log: [], logOf: null, archived: [], home: '' };

/**
 * `archived`: the followed bottle was torn down. A change of it opens a new
 * stream, which sends the bottle's record from the archive.
 */
export function useLive(bottle: string | null, archived = false): LiveState {
  const [state, setState] = useState<LiveState>(EMPTY);
  useEffect(() => {
    const url = bottle === null ? API.events : `${API.events}?bottle=${encodeURIComponent(bottle)}`;
    const source = new EventSource(url);
    const apply = (e: ServerEvent) => setState((s) => reduce(s, e));
    for (const type of ['hello', 'bottles', 'proposals', 'jobs', 'log', 'record', 'problem'] as const) {
      source.addEventListener(type, (m: MessageEvent<string>) => apply(JSON.parse(m.data) as ServerEvent));
    }
    source.onopen = () => setState((s) => ({ ...s, connection: 'live' }));
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        // Closed for good: find out whether it was the token.
        void fetch(API.session).then((r) => setState((s) => ({ ...s, connection: r.status === 401 ? 'signed-out' : 'reconnecting' })));
      } else setState((s) => ({ ...s, connection: 'reconnecting' }));
    };
    return () => source.close();
  }, [bottle, archived]);
  return state;
}

function reduce(s: LiveState, e: ServerEvent): LiveState {
  switch (e.type) {
    case 'hello':
      // A new connection sends everything again: start the log afresh.
      return { ...s, home: e.home, log: [], logOf: e.bottle, archived: [] };
    case 'bottles':
      return { ...s, bottles: e.bottles };
    case 'proposals':
      return { ...s, proposals: e.proposals };
    case 'jobs':
      return { ...s, jobs: e.jobs };
    case 'problem':
      return { ...s, problem: e.message };
    case 'record':
      return e.identity === s.logOf ? { ...s, archived: e.proposals } : s;
    case 'log': {
      if (e.identity !== s.logOf) return s;
      const merged = [...s.log, ...e.entries];
      // Sources append independently; keep the page in time order.
      if (s.log.length && e.entries.some((x) => x.time < (s.log[s.log.length - 1]?.time ?? ''))) merged.sort((a, b) => a.time.localeCompare(b.time));
      return { ...s, log: merged.slice(-LOG_KEEP) };
    }
  }
}
