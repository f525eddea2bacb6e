/**
 * A proposal: what was asked, why, the request as text (a route, a
 * Dockerfile diff), and for a pending one Approve / Edit / Reject. The one
 * text field is the note sent with an approval and the reason sent with a
 * rejection (required); sidecar-raised proposals need it to approve too.
 */
import { useState } from 'preact/hooks';
import { API, type DecideBody, type WireProposal } from '../wire.js';
import { Inert } from './inert.js';
import { clock, post, since } from './request.js';

export function ProposalCard(props: { p: WireProposal; now: number }) {
  const p = props.p;
  const [note, setNote] = useState('');
  const [edit, setEdit] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const needNote = p.needs_reason && note.trim() === '';
  const decide = (body: DecideBody) => {
    setBusy(true);
    setError(null);
    post(API.decide(p.id), body).then(
      () => setBusy(false),
      (e: unknown) => {
        setBusy(false);
        setError(e instanceof Error ? e.message : String(e));
      },
    );
  };
  const withNote = note.trim() ? { note: note.trim() } : {};
  return (
    <article class="proposal pending" data-proposal={p.id} aria-label={`proposal ${p.id}`}>
      <header>
        <span class={`kind kind-${p.kind}`}>{p.kind}</span>
        <strong class="summary">
          <Inert text={p.summary} />
        </strong>
        <span class="muted" title={p.created_at}>
          {p.raised_by} · {since(p.created_at, props.now)} ago · <code>{p.id}</code>
        </span>
      </header>
      {p.why && (
        <p class="why">
          <span class="label">why</span> <Inert text={p.why} lines />
        </p>
      )}
      {edit === null ? (
        <pre class="diff">
          <DiffText text={p.diff} />
        </pre>
      ) : (
        <textarea class="edit" aria-label="edited request" rows={Math.min(18, edit.split('\n').length + 1)} value={edit} spellcheck={false} onInput={(e) => setEdit(e.currentTarget.value)} />
      )}
      <textarea
        class="note"
        rows={1}
        placeholder={p.needs_reason ? 'Reason (required: a sidecar raised this); the agent reads it' : 'Note to approve, reason to reject; the agent reads it'}
        aria-label="note or reason"
        value={note}
        onInput={(e) => setNote(e.currentTarget.value)}
      />
      {error && (
        <p class="error" role="alert">
          <Inert text={error} />
        </p>
      )}
      <div class="buttons">
        {edit === null ? (
          <button class="primary" disabled={busy || needNote} onClick={() => decide({ approve: true, ...withNote })}>
            Approve
          </button>
        ) : (
          <button class="primary" disabled={busy || needNote} onClick={() => decide({ approve: true, ...withNote, edited: edit })}>
            Approve edited
          </button>
        )}
        {p.editable &&
          (edit === null ? (
            <button class="quiet" disabled={busy} onClick={() => setEdit(p.editable?.text ?? '')}>
              Edit
            </button>
          ) : (
            <button class="quiet" disabled={busy} onClick={() => setEdit(null)}>
              Cancel edit
            </button>
          ))}
        <button class="danger" disabled={busy || note.trim() === ''} title={note.trim() === '' ? 'write a reason first' : ''} onClick={() => decide({ approve: false, note: note.trim() })}>
          Reject
        </button>
      </div>
    </article>
  );
}

/** A diff's lines coloured by their first character; the text itself stays inert. */
function DiffText(props: { text: string }) {
  return (
    <>
      {props.text.split('\n').map((line, i) => (
        <span key={i} class={line.startsWith('+') && !line.startsWith('+++') ? 'add' : line.startsWith('-') && !line.startsWith('---') ? 'del' : line.startsWith('@@') ? 'hunk' : ''}>
          <Inert text={line} />
          {'\n'}
        </span>
      ))}
    </>
  );
}

export function DecidedRow(props: { p: WireProposal }) {
  const p = props.p;
  const good = p.state === 'approved' || p.state === 'approved-with-edits';
  return (
    <li class="decided" data-proposal={p.id}>
      <span class={`state ${good ? 'ok' : 'bad'}`}>{p.state}</span>
      <span class={`kind kind-${p.kind}`}>{p.kind}</span>
      <Inert text={p.summary} class="summary" />
      <span class="muted">
        {p.decided_by ? <Inert text={p.decided_by} /> : null}
        {p.decided_at ? ` · ${clock(p.decided_at)}` : ''}
      </span>
      {p.note && (
        <span class="note-text">
          “<Inert text={p.note} />”
        </span>
      )}
    </li>
  );
}
