/** The selected bottle's audit log: egress requests as a table, pushes through the git-gate as a list. */
import type { WireLogEntry } from '../wire.js';
import { Inert } from './inert.js';
import { bytes, clock } from './request.js';

const SHOWN = 300;

function s(e: WireLogEntry, k: string): string {
  return text(e[k]);
}

function text(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return v === undefined || v === null ? '' : JSON.stringify(v);
}

function verdictClass(v: string): string {
  if (v === 'allow' || v === 'accepted' || v === 'forwarded' || v === 'ok' || v.endsWith('approved')) return 'ok';
  if (/hold|redact|pending/.test(v)) return 'warn';
  return 'bad';
}

export function EgressTable(props: { entries: readonly WireLogEntry[] }) {
  const rows = props.entries.filter((e) => e.source === 'egress');
  const shown = rows.slice(-SHOWN).reverse();
  if (rows.length === 0) return <p class="empty">No egress yet: requests appear here as the agent makes them.</p>;
  return (
    <div class="table-wrap">
      <table class="egress">
        <thead>
          <tr>
            <th>time</th>
            <th>method</th>
            <th>host</th>
            <th>path</th>
            <th>status</th>
            <th>verdict</th>
            <th class="num">out / in</th>
            <th class="num">ms</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((e, i) => {
            const verdict = s(e, 'verdict');
            const port = s(e, 'port');
            const why = [s(e, 'reason'), s(e, 'rule')].filter(Boolean).join(' · ');
            return (
              <tr key={`${e.time}-${rows.length - i}`} data-log-row class={`v-${verdictClass(verdict)}`}>
                <td class="time" data-label="time">{clock(e.time)}</td>
                <td data-label="method">
                  <Inert text={s(e, 'method')} />
                </td>
                <td class="host" data-label="host">
                  <Inert text={s(e, 'host') + (port && port !== '443' ? `:${port}` : '')} />
                </td>
                <td class="path" data-label="path">
                  <Inert text={s(e, 'path')} />
                </td>
                <td data-label="status">{s(e, 'status')}</td>
                <td data-label="verdict">
                  <span class={`verdict ${verdictClass(verdict)}`}>
                    <Inert text={verdict} />
                  </span>
                  {why && <Inert class="why-cell" text={why} />}
                </td>
                <td class="num" data-label="out / in">
                  {bytes(e.bytes_out)} / {bytes(e.bytes_in)}
                </td>
                <td class="num" data-label="ms">{s(e, 'ms')}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {rows.length > SHOWN && <p class="muted">Showing the latest {SHOWN} of {rows.length}. `bot-bottle logs` has them all.</p>}
    </div>
  );
}

type Fields = Readonly<Record<string, unknown>>;

export function Pushes(props: { entries: readonly WireLogEntry[] }) {
  const pushes = props.entries.filter((e) => e.source === 'git-gate' && e.op === 'push').reverse();
  if (pushes.length === 0) return <p class="empty">No pushes through the git-gate yet.</p>;
  return (
    <ul class="pushes">
      {pushes.map((e, i) => {
        const verdict = s(e, 'verdict');
        const refs = Array.isArray(e.refs) ? (e.refs as Fields[]) : [];
        const findings = Array.isArray(e.findings) ? (e.findings as Fields[]) : [];
        return (
          <li key={`${e.time}-${i}`} data-push>
            <span class={`verdict ${verdictClass(verdict)}`}>
              <Inert text={verdict} />
            </span>{' '}
            <Inert class="repo" text={s(e, 'repo')} />{' '}
            {refs.map((r) => (
              <code>
                <Inert text={`${text(r.ref)} → ${text(r['new']).slice(0, 10)}`} />
              </code>
            ))}{' '}
            <span class="muted">
              {s(e, 'commits_scanned')} commits scanned · {clock(e.time)}
            </span>
            {s(e, 'reason') && (
              <div class="why-cell">
                <Inert text={s(e, 'reason')} />
              </div>
            )}
            {findings.length > 0 && (
              <ul class="findings">
                {findings.map((f) => (
                  <li>
                    <Inert text={`${text(f.rule)} in ${text(f.path)}:${text(f.line)} (commit ${text(f.commit).slice(0, 10)})`} />
                  </li>
                ))}
              </ul>
            )}
          </li>
        );
      })}
    </ul>
  );
}
