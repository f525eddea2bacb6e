/** The page: every bottle of the home on the left, the selected one on the right. */
import { useEffect, useState } from 'preact/hooks';
import { API, type ActionBody, type WireBottle, type WireJob, type WireLogEntry, type WireProposal, type WireStatus } from '../wire.js';
import { ConfirmDialog, type Confirm } from './dialog.js';
import { useLive, type Connection } from './events.js';
import { Inert, inertText } from './inert.js';
import { EgressTable, Pushes } from './log.js';
import { DecidedRow, ProposalCard } from './proposals.js';
import { post, since } from './request.js';

const COLORS = new Set(['red', 'green', 'yellow', 'blue', 'magenta', 'cyan', 'white']);
const UP = new Set(['running', 'detached']);

function useNow(ms: number): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

function useHashSelection(): [string | null, (id: string) => void] {
  const read = () => decodeURIComponent(location.hash.replace(/^#/, '')) || null;
  const [sel, setSel] = useState<string | null>(read());
  useEffect(() => {
    const on = () => setSel(read());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return [sel, (id) => (location.hash = encodeURIComponent(id))];
}

export function App() {
  const [chosen, choose] = useHashSelection();
  const [archivedChosen, setArchivedChosen] = useState(false);
  const live = useLive(chosen, archivedChosen);
  const now = useNow(1000);
  const [confirm, setConfirm] = useState<Confirm | null>(null);
  const pending = live.proposals.filter((p) => p.state === 'pending');
  // Nothing chosen yet: the bottle that waits for a human, else the first one up.
  useEffect(() => {
    if (chosen !== null || live.bottles.length === 0) return;
    const first = pending[0]?.identity ?? live.bottles.find((b) => UP.has(b.status))?.identity ?? live.bottles[0]?.identity;
    if (first) choose(first);
  }, [chosen, live.bottles, pending]);
  const selected = live.bottles.find((b) => b.identity === chosen) ?? null;
  const isArchived = selected?.status === 'archived';
  useEffect(() => setArchivedChosen(isArchived), [isArchived]);

  return (
    <div class="app">
      <header class="top">
        <h1>
          <img src="/static/icon.svg" alt="" width="22" height="22" /> bot-bottle
        </h1>
        <span class="home muted" title="BOT_BOTTLE_HOME">
          {live.home}
        </span>
        <span class="spacer" />
        {pending.length > 0 && (
          <button class="waiting" onClick={() => pending[0] && choose(pending[0].identity)}>
            {pending.length} waiting for you
          </button>
        )}
        <ConnectionBadge c={live.connection} />
      </header>
      {live.connection === 'signed-out' && (
        <p class="banner bad" role="alert">
          This page's token is no longer valid (the dashboard was started with a new one). Open the URL that <code>bot-bottle dashboard</code> printed.
        </p>
      )}
      {live.problem && (
        <p class="banner warn" role="alert">
          <Inert text={live.problem} />
        </p>
      )}
      <div class="columns">
        <nav class="bottles" aria-label="bottles">
          {live.bottles.length === 0 && <p class="empty">No bottles in this home. Start one with <code>bot-bottle start</code>.</p>}
          {live.bottles.map((b) => (
            <BottleCard key={b.identity} b={b} now={now} selected={b.identity === chosen} waiting={pending.filter((p) => p.identity === b.identity).length} onSelect={() => choose(b.identity)} />
          ))}
        </nav>
        <main class="detail">
          {selected ? (
            <BottleDetail
              b={selected}
              now={now}
              proposals={selected.status === 'archived' && live.logOf === selected.identity ? live.archived : live.proposals.filter((p) => p.identity === selected.identity)}
              job={live.jobs.filter((j) => j.identity === selected.identity).at(-1) ?? null}
              log={live.logOf === selected.identity ? live.log : []}
              ask={setConfirm}
            />
          ) : (
            chosen !== null && live.bottles.length > 0 && <p class="empty">No bottle {chosen} in this home.</p>
          )}
        </main>
      </div>
      <ConfirmDialog ask={confirm} close={() => setConfirm(null)} />
    </div>
  );
}

function ConnectionBadge(props: { c: Connection }) {
  const text: Record<Connection, string> = { connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…', 'signed-out': 'signed out' };
  return (
    <span class={`conn conn-${props.c}`} role="status" aria-live="polite">
      <span class="dot" />
      {text[props.c]}
    </span>
  );
}

function Swatch(props: { color: string | null }) {
  const c = props.color && COLORS.has(props.color) ? props.color : 'none';
  return <span class={`swatch c-${c}`} aria-hidden="true" />;
}

function BottleCard(props: { b: WireBottle; now: number; selected: boolean; waiting: number; onSelect: () => void }) {
  const b = props.b;
  return (
    <button class={`bottle${props.selected ? ' selected' : ''}`} data-bottle={b.identity} aria-pressed={props.selected} onClick={props.onSelect} title={inertText(b.identity)}>
      <Swatch color={b.color} />
      <span class="names">
        <span class="label">
          <Inert text={b.label ?? b.identity} />
        </span>
        <span class="muted small">
          {b.label ? <Inert text={`${b.identity} · `} /> : null}
          <Inert text={b.agent ?? '?'} /> · {b.backend}
        </span>
      </span>
      <span class="meta">
        <span class={`status s-${b.status}`}>{b.status}</span>
        <span class="muted small">{UP.has(b.status) ? since(b.started_at, props.now) : ''}</span>
        {props.waiting > 0 && <span class="badge">{props.waiting}</span>}
      </span>
    </button>
  );
}

/** What each button does, said in its confirmation. */
const ACTIONS: readonly { action: ActionBody['action']; label: string; confirm: string; danger: boolean; body: string; allowed: (s: WireStatus) => boolean }[] = [
  {
    action: 'preserve',
    label: 'Preserve',
    confirm: 'Preserve',
    danger: false,
    body: 'Its containers stop; the workspace and state are kept, and Resume brings it back as it was.',
    allowed: (s) => UP.has(s),
  },
  {
    action: 'resume',
    label: 'Resume',
    confirm: 'Resume',
    danger: false,
    body: 'It is relaunched, detached, from its recorded agent, bottles and backend, with its workspace.',
    allowed: (s) => s === 'preserved' || s === 'stopped',
  },
  {
    action: 'stop',
    label: 'Stop',
    confirm: 'Stop and remove',
    danger: true,
    body: 'Its containers, workspace and state are removed; its audit log and proposals stay in the archive. To keep the workspace, Preserve instead.',
    allowed: (s) => s !== 'archived',
  },
];

function BottleDetail(props: { b: WireBottle; now: number; proposals: readonly WireProposal[]; job: WireJob | null; log: readonly WireLogEntry[]; ask: (c: Confirm) => void }) {
  const { b } = props;
  const [error, setError] = useState<string | null>(null);
  const pending = props.proposals.filter((p) => p.state === 'pending');
  const decided = props.proposals.filter((p) => p.state !== 'pending').reverse();
  const busy = props.job?.state === 'running';
  const act = (action: ActionBody['action']) => {
    setError(null);
    post(API.action(b.identity), { action } satisfies ActionBody).catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  };
  const up = UP.has(b.status);
  return (
    <>
      <section class="head">
        <div class="title">
          <Swatch color={b.color} />
          <h2>
            <Inert text={b.label ?? b.identity} />
          </h2>
          <span class={`status s-${b.status}`}>{b.status}</span>
        </div>
        <dl class="facts">
          <div>
            <dt>identity</dt>
            <dd>
              <code>
                <Inert text={b.identity} />
              </code>
            </dd>
          </div>
          <div>
            <dt>agent</dt>
            <dd>
              <Inert text={b.agent ?? '?'} />
            </dd>
          </div>
          <div>
            <dt>backend</dt>
            <dd>{b.backend}</dd>
          </div>
          <div>
            <dt>uptime</dt>
            <dd>{up ? since(b.started_at, props.now) : '–'}</dd>
          </div>
        </dl>
        <div class="buttons actions">
          {ACTIONS.map((a) => (
            <button
              key={a.action}
              class={a.danger ? 'danger' : 'quiet'}
              disabled={busy || !a.allowed(b.status)}
              onClick={() => props.ask({ title: `${a.label} ${b.identity}?`, body: a.body, confirm: a.confirm, danger: a.danger, run: () => act(a.action) })}
            >
              {a.label}
            </button>
          ))}
        </div>
        {props.job && (
          <p class={`job j-${props.job.state}`} role="status">
            <Inert text={`${props.job.action}: ${props.job.message}`} />
          </p>
        )}
        {error && (
          <p class="error" role="alert">
            <Inert text={error} />
          </p>
        )}
      </section>
      <section class="pending-list" aria-label="pending proposals">
        <h3>
          Waiting for you {pending.length > 0 && <span class="badge">{pending.length}</span>}
        </h3>
        {pending.length === 0 ? <p class="empty">Nothing pending. Proposals the agent or a sidecar raises appear here at once.</p> : pending.map((p) => <ProposalCard key={p.id} p={p} now={props.now} />)}
      </section>
      <section aria-label="egress log">
        <h3>Egress</h3>
        <EgressTable entries={props.log} />
      </section>
      <section aria-label="pushes">
        <h3>Pushes</h3>
        <Pushes entries={props.log} />
      </section>
      <section aria-label="decided proposals">
        <h3>Decided</h3>
        {decided.length === 0 ? <p class="empty">No decisions yet.</p> : <ul class="decided-list">{decided.map((p) => <DecidedRow key={p.id} p={p} />)}</ul>}
      </section>
    </>
  );
}
