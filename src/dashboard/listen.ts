/**
 * Where the dashboard listens: loopback only. `--listen` takes `HOST:PORT`
 * with HOST one of 127.0.0.0/8, `localhost` or `[::1]`; anything else is a
 * usage error, since the page can change what bottles may do.
 */
import { BottleError } from '../index.js';

export interface ListenAddress {
  /** The address bound (never a wildcard). */
  readonly host: string;
  /** 0: any free port. */
  readonly port: number;
}

/** A fixed default so a restarted dashboard is found again by its open pages. */
export const DEFAULT_LISTEN: ListenAddress = { host: '127.0.0.1', port: 7319 };

const V4_LOOPBACK = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function parseListen(text: string): ListenAddress {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text.trim());
  const bad = (why: string) =>
    new BottleError('usage', `--listen ${JSON.stringify(text)}: ${why}`, { fix: `--listen ${DEFAULT_LISTEN.host}:${DEFAULT_LISTEN.port} (or port 0 for any free port)` });
  if (!m) throw bad('expected HOST:PORT');
  const host = (m[1] ?? m[2] ?? '').toLowerCase();
  const port = Number(m[3]);
  if (port > 65535) throw bad('port out of range');
  if (host === 'localhost') return { host: '127.0.0.1', port };
  if (host === '::1') return { host: '::1', port };
  const v4 = V4_LOOPBACK.exec(host);
  if (v4 && v4.slice(1).every((o) => Number(o) <= 255)) return { host, port };
  throw bad('the dashboard serves loopback only (127.0.0.1, localhost or [::1])');
}

/** `host:port` as it appears in a URL and a Host header. */
export function hostPort(a: ListenAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
