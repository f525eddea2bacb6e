/**
 * The bottle's audit log: each sidecar appends JSON lines to `audit.jsonl` in
 * its own state folder; readers merge them by time. Entries are whatever the
 * sidecar wrote, tagged with the source. Once the bottle is gone, the same
 * files are read from its archive.
 */
import { type FSWatcher, watch } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { archivedAuditLog } from './archive.js';
import { AUDIT_SOURCES, type AuditSource } from './layout.js';
import { BottleState, exists } from './state.js';

export { AUDIT_SOURCES, type AuditSource } from './layout.js';

export interface AuditEntry {
  readonly source: AuditSource;
  readonly time: string;
  readonly [key: string]: unknown;
}

function auditFile(home: string, identity: string, source: AuditSource): string {
  return new BottleState(home, identity).auditLog(source);
}

function parseLines(source: AuditSource, text: string): AuditEntry[] {
  const out: AuditEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const v = JSON.parse(line) as Record<string, unknown>;
      out.push({ ...v, source, time: typeof v.time === 'string' ? v.time : '' });
    } catch {
      // a line cut by a crash mid-write: skip it, keep the rest
    }
  }
  return out;
}

/** Where the log is read from: the live state folder, or the archive of a bottle torn down. */
export async function auditOrigin(home: string, identity: string): Promise<'state' | 'archive' | undefined> {
  const state = new BottleState(home, identity);
  if (await exists(state.metadataFile)) return 'state';
  if (await exists(state.archiveDir)) return 'archive';
  return undefined;
}

/** Every entry, oldest first: from the state folder while the bottle has one, else from its archive. */
export async function readAudit(home: string, identity: string): Promise<AuditEntry[]> {
  const state = new BottleState(home, identity);
  const live = (await auditOrigin(home, identity)) !== 'archive';
  const all: AuditEntry[] = [];
  for (const s of AUDIT_SOURCES) {
    try {
      all.push(...parseLines(s, await readFile(live ? state.auditLog(s) : archivedAuditLog(state, s), 'utf8')));
    } catch {
      // this sidecar has written nothing yet
    }
  }
  return all.sort((a, b) => a.time.localeCompare(b.time));
}

/**
 * New entries as they are appended, until the signal aborts. A change to a
 * sidecar's folder wakes the reader at once (a live page or `logs --follow`
 * shows a request within milliseconds of its line); the poll every 200 ms
 * covers file systems that do not report changes.
 */
export async function followAudit(home: string, identity: string, onEntry: (e: AuditEntry) => void, signal: AbortSignal, fromStart = false): Promise<void> {
  const offsets = new Map<AuditSource, number>();
  for (const s of AUDIT_SOURCES) offsets.set(s, fromStart ? 0 : await size(auditFile(home, identity, s)));
  // Set by any event, also one that lands while a round reads, so none is slept through.
  let changed = false;
  let wake: (() => void) | undefined;
  const poke = (): void => {
    changed = true;
    wake?.();
  };
  const watchers: FSWatcher[] = [];
  for (const s of AUDIT_SOURCES) {
    try {
      const w = watch(dirname(auditFile(home, identity, s)), poke);
      w.on('error', () => undefined);
      watchers.push(w);
    } catch {
      // no folder yet: the poll finds the file when it comes
    }
  }
  signal.addEventListener('abort', poke);
  try {
    while (!signal.aborted) {
      changed = false;
      for (const s of AUDIT_SOURCES) {
        const file = auditFile(home, identity, s);
        const end = await size(file);
        const start = offsets.get(s) ?? 0;
        if (end <= start) continue;
        const fh = await open(file, 'r');
        try {
          const buf = Buffer.alloc(end - start);
          await fh.read(buf, 0, buf.length, start);
          // Only whole lines: a partial last line waits for the next round.
          const text = buf.toString('utf8');
          const cut = text.lastIndexOf('\n') + 1;
          offsets.set(s, start + Buffer.byteLength(text.slice(0, cut)));
          for (const e of parseLines(s, text.slice(0, cut))) onEntry(e);
        } finally {
          await fh.close();
        }
      }
      if (changed || signal.aborted) continue;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 200);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wake = undefined;
    }
  } finally {
    signal.removeEventListener('abort', poke);
    for (const w of watchers) w.close();
  }
}

async function size(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}
