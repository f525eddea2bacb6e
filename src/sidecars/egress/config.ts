/**
 * The egress proxy's config: plain JSON written by the host (or by
 * `bot-bottle egress serve`), read inside the bundle and validated
 * by hand, strictly: an unknown key is an error, because a typo in a security
 * setting must not silently become a default. Every error is one line.
 *
 * Routes use the manifest model (`EgressRoute`, snake_case inside a route);
 * the loader has already validated them, but this file is a trust boundary of
 * its own (it is re-read live), so they are checked again here.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { DEFAULT_DLP, type DlpRulePack, type EgressRoute, type HeaderMatch, type PathMatch, type RouteAuth, type RouteDlp, type RouteMatch } from '../../manifest/types.js';
import { jsonCheck, type JsonCheck } from '../json-check.js';
import { linearRegexProblem } from '../../manifest/linear-regex.js';

export const EGRESS_CONFIG_ENV = 'BOT_BOTTLE_EGRESS_CONFIG';

/** Bodies buffered for DLP up to this size; larger ones are refused (413). */
export const DEFAULT_BODY_CAP = 8 * 1024 * 1024;
export const DEFAULT_HOLD_TIMEOUT_MS = 10 * 60 * 1000;

export interface EgressConfig {
  /** Bottle identity, written into audit lines and proposals. */
  readonly identity: string;
  readonly listen: { readonly host: string; readonly port: number };
  readonly routes: readonly EgressRoute[];
  /** name -> IP address, consulted before DNS. */
  readonly hosts: Readonly<Record<string, string>>;
  /** Paths of extra PEM files trusted (with the system roots) for upstream TLS. */
  readonly caCerts: readonly string[];
  /** Where the CA key and cert live (a tmpfs in the bundle). Created if missing. */
  readonly caDir: string;
  /** Where the CA certificate (never the key) is also written, for the host. */
  readonly caCertOut: string | undefined;
  /** JSON `{token_ref: value}`, mode 600; re-read when it changes. */
  readonly tokensFile: string | undefined;
  /** JSON `string[]` of the bottle's own secret values, for DLP. */
  readonly knownSecretsFile: string | undefined;
  /** One JSON line per request is appended here. */
  readonly auditLog: string | undefined;
  /** Optional JSON `{routes: [...]}` laid over `routes` (same host:port replaces); reloaded live. */
  readonly policyFile: string | undefined;
  /** Where `supervise` DLP holds write their proposals. */
  readonly proposalsDir: string | undefined;
  readonly holdTimeoutMs: number;
  /** Largest request body buffered for DLP. */
  readonly bodyCap: number;
  /** Serving processes (1 = this process only, the default; see run.ts). */
  readonly workers: number | undefined;
}

export class EgressConfigError extends Error {
  override name = 'EgressConfigError';
}

const check: JsonCheck = jsonCheck(EgressConfigError);
// Annotated: TypeScript narrows after a `never` call only through a declared type.
const fail: JsonCheck['fail'] = check.fail;
const { isObj, onlyKeys, optStr, str } = check;







function bool(v: unknown, where: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') fail(where, 'must be true or false');
  return v;
}

function int(v: unknown, where: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(where, `must be an integer ${min}-${max}`);
  return v;
}

function arr(v: unknown, where: string): unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) fail(where, 'must be an array');
  return v;
}

function regex(source: string, where: string): void {
  // The same linear-time engine the policy runs the pattern on.
  const problem = linearRegexProblem(source);
  if (problem !== undefined) fail(where, problem);
}

const HOST_LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
const METHOD = /^[A-Za-z]+$/;
const SCHEME = /^[A-Za-z0-9._~+/-]*$/;

export function validHostName(host: string): boolean {
  return host.length > 0 && host.length <= 253 && isIP(host) === 0 && host.split('.').every((l) => HOST_LABEL.test(l));
}

function pathMatch(v: unknown, where: string): PathMatch {
  if (!isObj(v)) fail(where, 'must be an object');
  onlyKeys(v, where, ['type', 'value']);
  const type = v.type ?? 'prefix';
  if (type !== 'prefix' && type !== 'exact' && type !== 'regex') fail(`${where}.type`, 'must be prefix, exact or regex');
  const value = str(v.value, `${where}.value`);
  if (type === 'regex') regex(value, `${where}.value`);
  else if (!value.startsWith('/')) fail(`${where}.value`, 'a path starts with /');
  return { type, value };
}

function headerMatch(v: unknown, where: string): HeaderMatch {
  if (!isObj(v)) fail(where, 'must be an object');
  onlyKeys(v, where, ['name', 'type', 'value']);
  const name = str(v.name, `${where}.name`);
  if (!HEADER_NAME.test(name)) fail(`${where}.name`, 'must be an HTTP header name');
  const type = v.type ?? 'exact';
  if (type !== 'exact' && type !== 'regex') fail(`${where}.type`, 'must be exact or regex');
  if (typeof v.value !== 'string') fail(`${where}.value`, 'must be a string');
  if (type === 'regex') regex(v.value, `${where}.value`);
  return { name, type, value: v.value };
}

function routeMatch(v: unknown, where: string): RouteMatch {
  if (!isObj(v)) fail(where, 'must be an object');
  onlyKeys(v, where, ['paths', 'methods', 'headers']);
  const paths = arr(v.paths, `${where}.paths`).map((p, i) => pathMatch(p, `${where}.paths[${i}]`));
  const methods = arr(v.methods, `${where}.methods`).map((m, i) => {
    if (typeof m !== 'string' || !METHOD.test(m)) fail(`${where}.methods[${i}]`, 'must be an HTTP method such as GET');
    return m.toUpperCase();
  });
  const headers = arr(v.headers, `${where}.headers`).map((h, i) => headerMatch(h, `${where}.headers[${i}]`));
  return { paths, methods: [...new Set(methods)], headers };
}

function routeAuth(v: unknown, where: string): RouteAuth | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) fail(where, 'must be an object');
  onlyKeys(v, where, ['scheme', 'token_ref', 'header']);
  const header = v.header === undefined ? 'Authorization' : str(v.header, `${where}.header`);
  if (!HEADER_NAME.test(header)) fail(`${where}.header`, 'must be an HTTP header name');
  const custom = header.toLowerCase() !== 'authorization';
  const scheme = v.scheme === undefined ? (custom ? '' : 'Bearer') : v.scheme;
  if (typeof scheme !== 'string' || !SCHEME.test(scheme)) fail(`${where}.scheme`, 'must be an auth scheme such as Bearer');
  const tokenRef = str(v.token_ref, `${where}.token_ref`);
  return { scheme, token_ref: tokenRef, header };
}

const DLP_DEFAULT: RouteDlp = DEFAULT_DLP;
const PACKS: readonly DlpRulePack[] = ['credentials', 'pii', 'financial'];

function oneOf<T extends string>(v: unknown, where: string, allowed: readonly T[], dflt: T): T {
  if (v === undefined) return dflt;
  const hit = allowed.find((a) => a === v);
  if (hit === undefined) fail(where, allowed.length === 1 ? `must be ${allowed[0] ?? ''}` : `must be ${allowed.slice(0, -1).join(', ')} or ${allowed[allowed.length - 1] ?? ''}`);
  return hit;
}

function routeDlp(v: unknown, where: string): RouteDlp {
  // DLP is on unless a route turns it off, as in the manifest loader.
  if (v === undefined || v === null) return DLP_DEFAULT;
  if (!isObj(v)) fail(where, 'must be an object');
  onlyKeys(v, where, ['outbound', 'inbound', 'inbound_on_match', 'on_match', 'entropy', 'entropy_action', 'rules']);
  const rules = v.rules === undefined ? DLP_DEFAULT.rules : arr(v.rules, `${where}.rules`).map((x, i) => oneOf(x, `${where}.rules[${i}]`, PACKS, 'credentials'));
  if (!rules.includes('credentials')) fail(`${where}.rules`, 'must include credentials');
  return {
    outbound: bool(v.outbound, `${where}.outbound`, true),
    inbound: bool(v.inbound, `${where}.inbound`, false),
    inbound_on_match: oneOf(v.inbound_on_match, `${where}.inbound_on_match`, ['warn', 'block', 'supervise'], 'warn'),
    on_match: oneOf(v.on_match, `${where}.on_match`, ['block', 'redact', 'supervise'], 'block'),
    entropy: bool(v.entropy, `${where}.entropy`, false),
    entropy_action: oneOf(v.entropy_action, `${where}.entropy_action`, ['warn', 'enforce'], 'warn'),
    rules: [...new Set(rules)],
  };
}

export function parseRoute(v: unknown, where: string): EgressRoute {
  if (!isObj(v)) fail(where, 'must be an object');
  onlyKeys(v, where, ['host', 'port', 'matches', 'auth', 'dlp']);
  let host = str(v.host, `${where}.host`).toLowerCase().replace(/\.$/, '');
  let port = 443;
  const colon = host.lastIndexOf(':');
  if (colon !== -1 && !host.includes('[')) {
    port = int(Number(host.slice(colon + 1)), `${where}.host`, 1, 65535);
    host = host.slice(0, colon);
  }
  if (v.port !== undefined) port = int(v.port, `${where}.port`, 1, 65535);
  if (!validHostName(host)) fail(`${where}.host`, `"${host}" must be a host name (no IP, scheme, path or wildcard)`);
  const matches = arr(v.matches, `${where}.matches`).map((m, i) => routeMatch(m, `${where}.matches[${i}]`));
  return { host, port, matches, auth: routeAuth(v.auth, `${where}.auth`), dlp: routeDlp(v.dlp, `${where}.dlp`) };
}

/** Routes as a list; a later route for the same host:port replaces an earlier one. */
export function parseRoutes(v: unknown, where: string): EgressRoute[] {
  const byKey = new Map<string, EgressRoute>();
  for (const [i, r] of arr(v, where).entries()) {
    const route = parseRoute(r, `${where}[${i}]`);
    byKey.set(`${route.host}:${route.port}`, route);
  }
  return [...byKey.values()];
}

const CONFIG_KEYS = [
  'identity',
  'listen',
  'routes',
  'hosts',
  'caCerts',
  'caDir',
  'caCertOut',
  'tokensFile',
  'knownSecretsFile',
  'auditLog',
  'policyFile',
  'proposalsDir',
  'holdTimeoutMs',
  'bodyCap',
  'workers',
] as const;

/** Validate already-parsed JSON. Throws EgressConfigError with a one-line message. */
export function parseEgressConfig(raw: unknown): EgressConfig {
  if (!isObj(raw)) fail('config', 'must be a JSON object');
  onlyKeys(raw, 'config', CONFIG_KEYS);
  const identity = str(raw.identity, 'identity');
  if (!isObj(raw.listen)) fail('listen', 'must be an object {host, port}');
  onlyKeys(raw.listen, 'listen', ['host', 'port']);
  const listen = { host: str(raw.listen.host, 'listen.host'), port: int(raw.listen.port, 'listen.port', 0, 65535) };

  const hosts: Record<string, string> = {};
  if (raw.hosts !== undefined) {
    if (!isObj(raw.hosts)) fail('hosts', 'must be an object of name -> IP address');
    for (const [name, ip] of Object.entries(raw.hosts)) {
      const host = name.toLowerCase();
      if (!validHostName(host)) fail(`hosts.${name}`, 'must be a host name');
      if (typeof ip !== 'string' || isIP(ip) === 0) fail(`hosts.${name}`, 'must be an IP address');
      hosts[host] = ip;
    }
  }
  const caCerts = arr(raw.caCerts, 'caCerts').map((p, i) => str(p, `caCerts[${i}]`));
  const holdTimeoutMs = raw.holdTimeoutMs === undefined ? DEFAULT_HOLD_TIMEOUT_MS : int(raw.holdTimeoutMs, 'holdTimeoutMs', 1, 24 * 3600 * 1000);
  const bodyCap = raw.bodyCap === undefined ? DEFAULT_BODY_CAP : int(raw.bodyCap, 'bodyCap', 1024, 256 * 1024 * 1024);
  const workers = raw.workers === undefined ? undefined : int(raw.workers, 'workers', 1, 64);

  return {
    identity,
    listen,
    routes: parseRoutes(raw.routes, 'routes'),
    hosts,
    caCerts,
    caDir: str(raw.caDir, 'caDir'),
    caCertOut: optStr(raw.caCertOut, 'caCertOut'),
    tokensFile: optStr(raw.tokensFile, 'tokensFile'),
    knownSecretsFile: optStr(raw.knownSecretsFile, 'knownSecretsFile'),
    auditLog: optStr(raw.auditLog, 'auditLog'),
    policyFile: optStr(raw.policyFile, 'policyFile'),
    proposalsDir: optStr(raw.proposalsDir, 'proposalsDir'),
    holdTimeoutMs,
    bodyCap,
    workers,
  };
}

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new EgressConfigError(`cannot read ${path}: ${code}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new EgressConfigError(`${path} is not valid JSON: ${(err as Error).message.replace(/\s+/g, ' ')}`);
  }
}

/** Read and validate the config file. Throws EgressConfigError on any problem. */
export function loadEgressConfig(path: string): EgressConfig {
  return parseEgressConfig(readJson(path));
}

/** Routes of a policy file: `{routes: [...]}` (or a bare array). */
export function loadPolicyRoutes(path: string): EgressRoute[] {
  const raw = readJson(path);
  if (Array.isArray(raw)) return parseRoutes(raw, `${path}: routes`);
  if (!isObj(raw)) fail(path, 'must be a JSON object {routes: [...]}');
  onlyKeys(raw, path, ['routes']);
  return parseRoutes(raw.routes, `${path}: routes`);
}

/**
 * The routes in force: the config's, then the policy file's (what a human
 * approved while the bottle ran). An approved route never replaces a
 * config route for the same host:port: it sits after it, so the config
 * route (a provider's, with its token) keeps deciding what it allows, and
 * the approval only adds what it asked for, never with a token (a policy
 * file written by an older version held whole copies of routes, auth
 * included: the auth is dropped here, whatever wrote it).
 */
export function effectiveRoutes(configPath: string, policyFile: string | undefined): EgressRoute[] {
  const base = loadEgressConfig(configPath).routes;
  if (policyFile === undefined) return [...base];
  let overlay: EgressRoute[] = [];
  try {
    overlay = loadPolicyRoutes(policyFile);
  } catch (err) {
    // A policy file that does not exist yet adds nothing; a broken one is an error.
    if (!(err instanceof EgressConfigError && /: ENOENT$/.test(err.message))) throw err;
  }
  const approved = overlay.map((r): EgressRoute => ({ ...r, auth: undefined }));
  return [...base, ...approved];
}

/** `{token_ref: value}`: a missing file is an empty map. */
export function readStringMap(path: string): Map<string, string> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    // Never the parser's message: it quotes the text, and this text is tokens.
    throw new EgressConfigError(`${path}: ${(err as NodeJS.ErrnoException).code ?? 'not valid JSON'}`);
  }
  if (!isObj(raw)) throw new EgressConfigError(`${path}: must be a JSON object of name -> string`);
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(raw)) if (typeof v === 'string' && v !== '') out.set(k, v);
  return out;
}

/** `string[]`: a missing file is an empty list. */
export function readStringList(path: string): string[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new EgressConfigError(`${path}: ${(err as NodeJS.ErrnoException).code ?? 'not valid JSON'}`);
  }
  if (!Array.isArray(raw)) throw new EgressConfigError(`${path}: must be a JSON array of strings`);
  return raw.filter((v): v is string => typeof v === 'string' && v !== '');
}
