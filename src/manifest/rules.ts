/**
 * The value rules shared by the schema and the loader. Each check returns a
 * problem sentence (or undefined) rather than throwing, so the schema can turn
 * it into an issue with a key path and line. No problem sentence ever quotes
 * the value: it might be a secret pasted in the wrong place.
 */
import { isIP } from 'node:net';
import { linearRegexProblem } from './linear-regex.js';

/** Agent and bottle file names, without `.md`. Also keeps names out of paths like `../`. */
export const MANIFEST_NAME = /^[a-z][a-z0-9-]*$/;
export const MANIFEST_FILE = /^[a-z][a-z0-9-]*\.md$/;

/** Environment variable names, both inside the bottle and on the host. */
export const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Folder names that are joined onto a host path (skills, repos, plugins). */
const FOLDER_NAME = /^[A-Za-z0-9._-]+$/;

export function folderNameProblem(name: string): string | undefined {
  if (!FOLDER_NAME.test(name)) return 'must be a folder name (letters, digits, `.`, `_`, `-`)';
  if (name === '.' || name.includes('..')) return 'must not contain `..`';
  return undefined;
}

export function varNameProblem(name: string): string | undefined {
  if (!VAR_NAME.test(name)) return 'must be a variable name (letters, digits and `_`, not starting with a digit)';
  // Would become an object's prototype if ever assigned with `obj[name] =`.
  if (name === '__proto__') return 'cannot be `__proto__`';
  return undefined;
}

// Shapes of well-known credentials: if one of these is written where a
// variable *name* belongs, the secret is already in the file and must move out.
const CREDENTIAL_SHAPES: readonly RegExp[] = [
  /^gh[pousr]_[A-Za-z0-9]{20,}/,
  /^github_pat_[A-Za-z0-9_]{20,}/,
  /^glpat-[A-Za-z0-9_-]{16,}/,
  /^sk-[A-Za-z0-9_-]{16,}/,
  /^(sk|rk|pk)_(live|test)_[A-Za-z0-9]{10,}/,
  /^xox[abposr]-[A-Za-z0-9-]{10,}/,
  /^(AKIA|ASIA)[0-9A-Z]{16}$/,
  /^AIza[0-9A-Za-z_-]{30,}/,
  /^eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
];

/** A well-known credential format (GitHub, AWS, OpenAI, Slack, a private key, …). */
export function hasCredentialShape(value: string): boolean {
  const v = value.trim();
  return CREDENTIAL_SHAPES.some((re) => re.test(v));
}

/** Known formats, plus random-looking strings: only for fields that must hold a name. */
export function looksLikeCredential(value: string): boolean {
  const v = value.trim();
  if (hasCredentialShape(v)) return true;
  // Long mixed-case-and-digit strings are random tokens, not names people type.
  return v.length >= 24 && /[a-z]/.test(v) && /[A-Z]/.test(v) && /[0-9]/.test(v) && !/[_\s]/.test(v);
}

/** For fields that hold the *name* of a host variable that holds a secret. */
export function secretRefProblem(ref: string): string | undefined {
  if (looksLikeCredential(ref)) {
    return 'looks like a credential, not the name of a host variable holding one; remove it from the file and rotate it';
  }
  return varNameProblem(ref);
}

/** Route regexes must compile for the linear-time matcher the proxy runs them on. */
export function regexProblem(source: string): string | undefined {
  return linearRegexProblem(source);
}

const HOST_LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Parses `host` or `host:port` (port 443 by default); returns a problem sentence on failure. */
export function parseHostPort(raw: string): HostPort | string {
  const value = raw.trim().toLowerCase();
  if (value === '') return 'host is empty';
  if (/^[a-z][a-z0-9+.-]*:\/\//.test(value)) {
    return 'must be a host name, not a URL: drop the scheme (`https://`); paths go in `matches`';
  }
  if (value.includes('/')) return 'must be a host name without a path; put paths in `matches[].paths`';
  if (value.includes('*')) return 'wildcards are not supported: list each host name as its own route';
  if (value.includes('@')) return 'must be a host name; credentials never go in a host (use `auth.token_ref`)';
  if (value.startsWith('[') || isIP(value) !== 0) {
    return 'IP addresses are not routed: name the service in `egress.hosts` and route that name';
  }
  let host = value;
  let port = 443;
  const colon = value.lastIndexOf(':');
  if (colon !== -1) {
    host = value.slice(0, colon);
    const portText = value.slice(colon + 1);
    if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
      return 'port must be a number from 1 to 65535';
    }
    port = Number(portText);
  }
  host = host.replace(/\.$/, '');
  if (isIP(host) !== 0) return 'IP addresses are not routed: name the service in `egress.hosts` and route that name';
  const problem = hostNameProblem(host);
  return problem ?? { host, port };
}

export function hostNameProblem(host: string): string | undefined {
  if (host.length === 0 || host.length > 253 || !host.split('.').every((l) => HOST_LABEL.test(l))) {
    return 'must be a host name (lower-case letters, digits, `-` and `.`)';
  }
  return undefined;
}

const MEMORY = /^([0-9]+(?:\.[0-9]+)?)\s*([kmgt]?)(i?b)?$/i;
const UNIT: Readonly<Record<string, number>> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** The engine's own floor: Docker refuses a memory limit under 6 MiB. */
export const MIN_MEMORY_BYTES = 6 * 1024 ** 2;

/** `512m`, `2g`, `1.5GiB` (binary units, like Docker) or a byte count; at least 6 MiB, as Docker requires. */
export function parseMemory(raw: string | number): number | string {
  let bytes: number;
  if (typeof raw === 'number') {
    if (!Number.isInteger(raw) || raw <= 0) return 'must be a whole number of bytes above 0, or a size like `512m`';
    bytes = raw;
  } else {
    const m = MEMORY.exec(raw.trim());
    const unit = UNIT[(m?.[2] ?? '').toLowerCase()];
    if (m === null || unit === undefined) return 'must be a size like `512m`, `2g` or a number of bytes';
    bytes = Math.floor(Number(m[1]) * unit);
  }
  if (!Number.isSafeInteger(bytes)) return 'is larger than any machine has: write a size like `4g`';
  if (bytes < MIN_MEMORY_BYTES) return 'must be at least 6m (6 MiB): the engine refuses less; a size like `512m`';
  return bytes;
}

/** The engine's CPU range: from 0.01 to the CPUs this host has (Docker refuses more). */
export function cpusProblem(cpus: number, hostCpus: number): string | undefined {
  if (!Number.isFinite(cpus) || cpus < 0.01) return 'must be at least 0.01';
  if (cpus > hostCpus) return `this host has ${hostCpus} CPU${hostCpus === 1 ? '' : 's'}: at most ${hostCpus}`;
  return undefined;
}
