/**
 * The audit log: one JSON line per request (and per refused tunnel), appended
 * through one stream per process. Lines never carry a token, a query string,
 * or a secret DLP found: callers pass paths without queries, already
 * redacted, and findings by rule name only.
 */
import { closeSync, mkdirSync, openSync, write, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export type Verdict =
  | 'allow'
  | 'deny'
  | 'dlp-block'
  | 'dlp-redact'
  | 'dlp-hold'
  | 'dlp-approved'
  | 'dlp-rejected'
  | 'dlp-expired'
  | 'error';

export interface AuditEntry {
  method: string;
  host: string;
  port: number;
  /** Path without its query, secrets redacted. */
  path: string;
  status: number;
  verdict: Verdict;
  reason?: string | undefined;
  rule?: string | undefined;
  bytes_out: number;
  bytes_in: number;
  ms: number;
  /** Advisory DLP verdicts (entropy, inbound prompt-injection) that did not change the outcome. */
  warnings?: string[] | undefined;
}

export interface AuditSink {
  write(entry: AuditEntry): void;
  close(): Promise<void>;
}

export function nullAudit(): AuditSink {
  return { write: () => undefined, close: () => Promise.resolve() };
}

/** Pending batches written synchronously if the process exits meanwhile. */
const live = new Set<() => void>();
let exitHooked = false;

/**
 * Lines are batched in memory and appended with one write per batch (at most
 * every `flushMs`, or sooner past 64 KiB): per-request syscalls were a tenth
 * of the proxy's CPU. The file is opened O_APPEND, so the workers' batches
 * never interleave inside a line.
 */
export function fileAudit(path: string, identity: string, flushMs = 50): AuditSink {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'a', 0o600);
  let broken = false;
  let buf: string[] = [];
  let bytes = 0;
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();
  const id = JSON.stringify(identity);
  // The time as text, made once a millisecond: under load several lines share
  // one, and a Date and its toISOString cost more than the rest of the line.
  let stampMs = -1;
  let stamp = '';
  const flushSync = (): void => {
    if (buf.length === 0 || broken) return;
    try {
      writeSync(fd, buf.join(''));
    } catch {
      // exiting anyway
    }
    buf = [];
  };
  live.add(flushSync);
  if (!exitHooked) {
    exitHooked = true;
    process.once('exit', () => {
      for (const f of live) f();
    });
  }
  const flush = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (buf.length === 0 || broken) return;
    const data = buf.join('');
    buf = [];
    bytes = 0;
    writing = writing.then(
      () =>
        new Promise<void>((resolve) => {
          write(fd, data, null, 'utf8', (err) => {
            if (err && !broken) {
              broken = true;
              process.stderr.write(`egress: audit log ${path}: ${err.message}\n`);
            }
            resolve();
          });
        }),
    );
  };
  return {
    write(e) {
      if (broken) return;
      // Hand-built prefix: stringify only the variable part.
      const body = JSON.stringify(e);
      const now = Date.now();
      if (now !== stampMs) {
        stampMs = now;
        stamp = new Date(now).toISOString();
      }
      const line = `{"time":"${stamp}","identity":${id},${body.slice(1)}\n`;
      buf.push(line);
      bytes += line.length;
      if (bytes > 65536) flush();
      else if (timer === undefined) {
        timer = setTimeout(flush, flushMs);
        timer.unref();
      }
    },
    async close() {
      flush();
      await writing;
      live.delete(flushSync);
      closeSync(fd);
    },
  };
}
