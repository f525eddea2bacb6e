/**
 * Upstream URLs: which transport, which host (for the pinned known_hosts
 * line), and the spellings of the same repository an agent may type (for the
 * `insteadOf` rewrites of its git config).
 */
import type { Transport } from './config.js';

export interface ParsedUpstream {
  readonly transport: Transport;
  readonly host: string;
  /** Undefined: the transport's default port. */
  readonly port: number | undefined;
  readonly user: string | undefined;
  /** The path as written: for scp-like URLs relative (`org/repo.git`), else with its leading `/`. */
  readonly path: string;
  readonly scpLike: boolean;
}

// `[user@]host:path`, not `scheme://` (git's own rule: a colon before any slash).
const SCP_RE = /^(?:([A-Za-z0-9._-]+)@)?([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):(?!\/\/)(.+)$/;

export class UpstreamUrlError extends Error {
  override name = 'UpstreamUrlError';
}

export function parseUpstream(url: string): ParsedUpstream {
  const scp = SCP_RE.exec(url);
  if (scp && !url.includes('://')) {
    return { transport: 'ssh', host: (scp[2] ?? '').replace(/^\[|\]$/g, ''), port: undefined, user: scp[1], path: scp[3] ?? '', scpLike: true };
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UpstreamUrlError(`${url}: not an ssh or https URL`);
  }
  if (u.protocol !== 'ssh:' && u.protocol !== 'https:') throw new UpstreamUrlError(`${url}: only ssh and https upstreams are supported`);
  if (u.password) throw new UpstreamUrlError(`${url}: must not carry a password or token`);
  return {
    transport: u.protocol === 'ssh:' ? 'ssh' : 'https',
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port === '' ? undefined : Number(u.port),
    user: u.username === '' ? undefined : decodeURIComponent(u.username),
    path: decodeURIComponent(u.pathname),
    scpLike: false,
  };
}

/** The host field of a known_hosts line for this upstream: `host`, or `[host]:port` off port 22. */
export function knownHostsPattern(p: ParsedUpstream): string {
  return p.port === undefined || p.port === 22 ? p.host : `[${p.host}]:${p.port}`;
}

const KEY_TYPE_RE = /^(?:ssh-|ecdsa-|sk-)/;

/**
 * known_hosts content from a pinned `host_key`: `keytype base64 [comment]`
 * gets the upstream's host pattern in front; a line that already names its
 * host (`host keytype base64`, or a `@cert-authority` line) is kept as is.
 */
export function knownHostsLine(hostKey: string, p: ParsedUpstream): string {
  const line = hostKey.trim();
  const first = line.split(/\s+/)[0] ?? '';
  if (KEY_TYPE_RE.test(first)) return `${knownHostsPattern(p)} ${line}\n`;
  return `${line}\n`;
}

/** `https://host[:port]/`: the scope of the token header, so a redirect elsewhere never carries it. */
export function httpsOrigin(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}/`;
}

/**
 * Every spelling of the upstream an agent may use: the URL as written, with
 * and without `.git`, and the ssh URL's scp-like twin (or the reverse).
 */
export function upstreamSpellings(url: string): string[] {
  const p = parseUpstream(url);
  const forms = new Set<string>([url]);
  if (p.transport === 'ssh') {
    const user = p.user ? `${p.user}@` : '';
    const host = p.host.includes(':') ? `[${p.host}]` : p.host;
    if (p.scpLike) {
      // git reads `host:path` relative to the login directory, `ssh://host/path` as absolute;
      // hosting services treat both alike, which is the case worth rewriting.
      forms.add(`ssh://${user}${host}/${p.path.replace(/^\/+/, '')}`);
    } else if (p.port === undefined || p.port === 22) {
      // Absolute as written, and relative: hosting services read `host:org/repo` as `/org/repo`.
      forms.add(`${user}${host}:${p.path}`);
      forms.add(`${user}${host}:${p.path.replace(/^\/+/, '')}`);
    }
  }
  for (const f of [...forms]) {
    if (f.endsWith('.git')) forms.add(f.slice(0, -4));
    else forms.add(`${f}.git`);
  }
  return [...forms];
}
