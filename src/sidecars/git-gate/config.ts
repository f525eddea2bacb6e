/**
 * The git-gate's config: plain JSON written by the host-side prepare, read in
 * the bundle by the server and by every pre-receive hook process.
 * Validated by hand and strictly (an unknown key is an error: a typo in a
 * security setting must not silently become a default). It holds no secret:
 * credentials are files in the bundle's tmpfs, named here.
 */
import { readFileSync } from 'node:fs';
import { jsonCheck, type JsonCheck } from '../json-check.js';

export const GIT_GATE_CONFIG_ENV = 'BOT_BOTTLE_GIT_GATE_CONFIG';
export const GIT_GATE_PORT = 9420;
export const DEFAULT_MIRROR_ROOT = '/tmp/git-gate';
export const DEFAULT_HOLD_TIMEOUT_MS = 10 * 60 * 1000;
export const DEFAULT_FETCH_TIMEOUT_MS = 15_000;
export const DEFAULT_PUSH_TIMEOUT_MS = 120_000;
export const DEFAULT_CONNECT_TIMEOUT_S = 5;

export type Transport = 'ssh' | 'https';

export interface GateRepo {
  /** The upstream URL exactly as the bottle wrote it (ssh://, scp-like, https://). */
  readonly url: string;
  readonly transport: Transport;
  /** ssh: secret file names (inside secretsDir) of the private key and the pinned known_hosts. */
  readonly sshKeySecret: string | undefined;
  readonly knownHostsSecret: string | undefined;
  /** https: secret file name of the token. */
  readonly tokenSecret: string | undefined;
}

export interface GitGateConfig {
  readonly identity: string;
  readonly listen: { readonly host: string; readonly port: number };
  /** Writable scratch (the bundle's /tmp tmpfs): mirrors, key copies. */
  readonly mirrorRoot: string;
  /**
   * Where the server writes the pre-receive hook script: a folder on a mount
   * that allows exec (Docker's --tmpfs is noexec unless told otherwise, and
   * git silently skips a hook it cannot execute). Default `<mirrorRoot>/hooks`.
   */
  readonly hooksDir: string;
  /** Where the backend writes bundleSecrets (tmpfs, mode 600). */
  readonly secretsDir: string;
  /** Secret file (JSON string array): the bottle's own secret values, reported wherever a push carries them. */
  readonly knownSecretsSecret: string | undefined;
  /** One JSON line per fetch and push. */
  readonly auditLog: string | undefined;
  /** The bottle's proposal queue; without it an allow-marked push is refused. */
  readonly proposalsDir: string | undefined;
  readonly holdTimeoutMs: number;
  /** A push that rewrites history or deletes a ref: refused (default), held for a human, or allowed. */
  readonly rewrites: 'refuse' | 'supervise' | 'allow';
  readonly fetchTimeoutMs: number;
  readonly pushTimeoutMs: number;
  readonly connectTimeoutS: number;
  readonly repos: Readonly<Record<string, GateRepo>>;
}

export class GitGateConfigError extends Error {
  override name = 'GitGateConfigError';
}

const check: JsonCheck = jsonCheck(GitGateConfigError);
// Annotated: TypeScript narrows after a `never` call only through a declared type.
const fail: JsonCheck['fail'] = check.fail;
const { isObj, onlyKeys, optStr, str } = check;






function int(v: unknown, where: string, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(where, `must be an integer ${min}-${max}`);
  return v;
}

/** Repo names become URL path segments and file names. */
export const REPO_NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$/;
/** Secret names are file names inside secretsDir. */
const SECRET_NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$/;

function secretName(v: unknown, where: string): string | undefined {
  const s = optStr(v, where);
  if (s !== undefined && (!SECRET_NAME_RE.test(s) || s.includes('..'))) fail(where, 'must be a plain file name');
  return s;
}

function absPath(v: unknown, where: string): string {
  const s = str(v, where);
  if (!s.startsWith('/')) fail(where, 'must be an absolute path');
  return s;
}

function repo(v: unknown, where: string): GateRepo {
  if (!isObj(v)) fail(where, 'must be an object');
  onlyKeys(v, where, ['url', 'transport', 'sshKeySecret', 'knownHostsSecret', 'tokenSecret']);
  const url = str(v.url, `${where}.url`);
  const transport = v.transport;
  if (transport !== 'ssh' && transport !== 'https') fail(`${where}.transport`, 'must be "ssh" or "https"');
  const r: GateRepo = {
    url,
    transport,
    sshKeySecret: secretName(v.sshKeySecret, `${where}.sshKeySecret`),
    knownHostsSecret: secretName(v.knownHostsSecret, `${where}.knownHostsSecret`),
    tokenSecret: secretName(v.tokenSecret, `${where}.tokenSecret`),
  };
  if (transport === 'ssh' && (!r.sshKeySecret || !r.knownHostsSecret)) fail(where, 'an ssh upstream needs sshKeySecret and knownHostsSecret');
  if (transport === 'https' && !url.toLowerCase().startsWith('https://')) fail(`${where}.url`, 'an https upstream needs an https:// URL');
  return r;
}

function rewritesOf(v: unknown): GitGateConfig['rewrites'] {
  if (v === undefined) return 'refuse';
  if (v !== 'refuse' && v !== 'supervise' && v !== 'allow') fail('rewrites', 'must be "refuse", "supervise" or "allow"');
  return v;
}

export function parseGitGateConfig(raw: unknown): GitGateConfig {
  if (!isObj(raw)) fail('config', 'must be a JSON object');
  onlyKeys(raw, 'config', [
    'identity',
    'listen',
    'mirrorRoot',
    'hooksDir',
    'secretsDir',
    'knownSecretsSecret',
    'auditLog',
    'proposalsDir',
    'holdTimeoutMs',
    'rewrites',
    'fetchTimeoutMs',
    'pushTimeoutMs',
    'connectTimeoutS',
    'repos',
  ]);
  let listen = { host: '0.0.0.0', port: GIT_GATE_PORT };
  if (raw.listen !== undefined) {
    if (!isObj(raw.listen)) fail('listen', 'must be an object');
    onlyKeys(raw.listen, 'listen', ['host', 'port']);
    listen = { host: str(raw.listen.host, 'listen.host'), port: int(raw.listen.port, 'listen.port', GIT_GATE_PORT, 0, 65535) };
  }
  if (!isObj(raw.repos)) fail('repos', 'must be an object');
  const repos: Record<string, GateRepo> = {};
  for (const [name, r] of Object.entries(raw.repos)) {
    if (!REPO_NAME_RE.test(name) || name.includes('..')) fail(`repos.${name}`, 'name must be letters, digits, `.`, `_`, `-`');
    repos[name] = repo(r, `repos.${name}`);
  }
  const mirrorRoot = raw.mirrorRoot === undefined ? DEFAULT_MIRROR_ROOT : absPath(raw.mirrorRoot, 'mirrorRoot');
  return {
    identity: str(raw.identity, 'identity'),
    listen,
    mirrorRoot,
    hooksDir: raw.hooksDir === undefined ? `${mirrorRoot}/hooks` : absPath(raw.hooksDir, 'hooksDir'),
    secretsDir: absPath(raw.secretsDir, 'secretsDir'),
    knownSecretsSecret: secretName(raw.knownSecretsSecret, 'knownSecretsSecret'),
    auditLog: raw.auditLog === undefined || raw.auditLog === null ? undefined : absPath(raw.auditLog, 'auditLog'),
    proposalsDir: raw.proposalsDir === undefined || raw.proposalsDir === null ? undefined : absPath(raw.proposalsDir, 'proposalsDir'),
    holdTimeoutMs: int(raw.holdTimeoutMs, 'holdTimeoutMs', DEFAULT_HOLD_TIMEOUT_MS, 1000, 24 * 3600 * 1000),
    rewrites: rewritesOf(raw.rewrites),
    fetchTimeoutMs: int(raw.fetchTimeoutMs, 'fetchTimeoutMs', DEFAULT_FETCH_TIMEOUT_MS, 1000, 600_000),
    pushTimeoutMs: int(raw.pushTimeoutMs, 'pushTimeoutMs', DEFAULT_PUSH_TIMEOUT_MS, 1000, 3600_000),
    connectTimeoutS: int(raw.connectTimeoutS, 'connectTimeoutS', DEFAULT_CONNECT_TIMEOUT_S, 1, 120),
    repos,
  };
}

export function loadGitGateConfig(path: string): GitGateConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new GitGateConfigError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new GitGateConfigError(`${path} is not valid JSON: ${(e as Error).message}`);
  }
  return parseGitGateConfig(raw);
}

/** The bottle's own secret values (JSON array), for the scanner. */
export const KNOWN_SECRETS_SECRET = 'git-gate.known-secrets.json';

/** Names of a repo's files in the bundle's secrets dir (the lead writes them from bundleSecrets). */
export function secretNames(repoName: string): { sshKey: string; knownHosts: string; token: string } {
  return {
    sshKey: `git-gate.${repoName}.ssh-key`,
    knownHosts: `git-gate.${repoName}.known-hosts`,
    token: `git-gate.${repoName}.token`,
  };
}
