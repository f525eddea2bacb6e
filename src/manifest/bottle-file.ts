/**
 * One validated bottle file -> the resolved model: paths made absolute,
 * sizes in bytes, defaults filled in (and recorded in `defaulted`, so a later
 * merge can tell "said shell" from "said nothing").
 */
import { stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { errnoCode, ManifestError } from '../errors.js';
import { checkEnvSource } from './env.js';
import type { FrontMatter, KeyPath } from './frontmatter.js';
import { formatPath } from './issues.js';
import { parseHostPort, parseMemory } from './rules.js';
import type { BottleFrontMatter } from './schema.js';
import type {
  Bottle,
  DefaultedField,
  EgressRoute,
  EnvSource,
  GitGateRepo,
  RouteAuth,
  DlpRulePack,
  RouteDlp,
  RouteMatch,
} from './types.js';

type RawRoute = NonNullable<NonNullable<BottleFrontMatter['egress']>['routes']>[number];

export const DEFAULT_TEMPLATE = 'shell';

interface Context {
  readonly file: string;
  readonly fm: FrontMatter;
  readonly userHome: string;
}

export async function bottleFromFile(
  name: string,
  file: string,
  fm: FrontMatter,
  data: BottleFrontMatter,
  userHome: string,
): Promise<Bottle> {
  const ctx: Context = { file, fm, userHome };
  const provider = data.agent_provider ?? {};
  const gate = data['git-gate'] ?? {};
  const egress = data.egress ?? {};
  const runtime = data.runtime ?? {};
  const defaulted: DefaultedField[] = [];
  if (provider.template === undefined) defaulted.push('agent_provider.template');
  if (provider.forward_host_credentials === undefined) defaulted.push('agent_provider.forward_host_credentials');
  if (data.supervise === undefined) defaulted.push('supervise');

  const repos: [string, GitGateRepo][] = [];
  for (const [repoName, r] of Object.entries(gate.repos ?? {})) {
    // A secret file: resolved here, read only at launch (planning and `validate` need not have the key).
    const identity = r.identity === undefined ? undefined : manifestPath(ctx, r.identity, ['git-gate', 'repos', repoName, 'identity']);
    repos.push([repoName, { url: r.url, identity, host_key: r.host_key, token_ref: r.token_ref }]);
  }
  const caCerts: string[] = [];
  for (const [i, p] of (egress.ca_certs ?? []).entries()) {
    caCerts.push(await existingFile(ctx, p, ['egress', 'ca_certs', i]));
  }
  const memory = runtime.memory === undefined ? undefined : parseMemory(runtime.memory);

  return {
    name,
    files: [file],
    env: Object.fromEntries(Object.entries(data.env ?? {}).map(([k, v]) => [k, envSource(ctx, k, v)])),
    agent_provider: {
      template: provider.template ?? DEFAULT_TEMPLATE,
      dockerfile:
        provider.dockerfile === undefined
          ? undefined
          : await existingFile(ctx, provider.dockerfile, ['agent_provider', 'dockerfile']),
      auth_token: provider.auth_token,
      forward_host_credentials: provider.forward_host_credentials ?? false,
    },
    git_gate: { user: gate.user, repos: Object.fromEntries(repos), ...(gate.rewrites ? { rewrites: gate.rewrites } : {}) },
    egress: {
      routes: (egress.routes ?? []).map((r, i) => route(ctx, r, i)),
      hosts: Object.fromEntries(Object.entries(egress.hosts ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
      ca_certs: caCerts,
    },
    supervise: data.supervise ?? false,
    runtime: {
      cpus: runtime.cpus,
      memory: typeof memory === 'number' ? memory : undefined,
      pids: runtime.pids,
    },
    ...(data.backend === undefined ? {} : { backend: data.backend }),
    doc: fm.body,
    defaulted,
  };
}

function route(ctx: Context, r: RawRoute, index: number): EgressRoute {
  const hp = parseHostPort(r.host);
  // The schema already rejected bad hosts; this keeps the types honest.
  if (typeof hp === 'string') throw fail(ctx, ['egress', 'routes', index, 'host'], hp);
  const matches: RouteMatch[] = (r.matches ?? []).map((m) => ({
    paths: (m.paths ?? []).map((p) => ({ type: p.type ?? 'prefix', value: p.value })),
    methods: [...new Set((m.methods ?? []).map((x) => x.toUpperCase()))],
    headers: (m.headers ?? []).map((h) => ({ name: h.name, type: h.type ?? 'exact', value: h.value })),
  }));
  let auth: RouteAuth | undefined;
  if (r.auth !== undefined) {
    const header = r.auth.header ?? 'Authorization';
    const custom = header.toLowerCase() !== 'authorization';
    // `x-api-key: <token>` carries no scheme; `Authorization` nearly always does.
    auth = { scheme: r.auth.scheme ?? (custom ? '' : 'Bearer'), token_ref: r.auth.token_ref, header };
  }
  // DLP is on for every route unless a bottle turns it off: never leave it to a consumer's default.
  const inbound = r.dlp?.inbound;
  const entropy = r.dlp?.entropy;
  const dlp: RouteDlp = {
    outbound: r.dlp?.outbound ?? true,
    inbound: inbound !== undefined && inbound !== false,
    inbound_on_match: typeof inbound === 'object' ? (inbound.on_match ?? 'warn') : 'warn',
    on_match: r.dlp?.on_match ?? 'block',
    entropy: entropy !== undefined && entropy !== false,
    entropy_action: entropy === 'enforce' ? 'enforce' : 'warn',
    rules: [...new Set<DlpRulePack>(r.dlp?.rules ?? ['credentials'])],
  };
  return { host: hp.host, port: hp.port, matches, auth, dlp };
}

function envSource(ctx: Context, name: string, raw: string): EnvSource {
  const source = checkEnvSource(raw);
  if (typeof source === 'string') throw fail(ctx, ['env', name], source);
  return source;
}

/** `~/x` from the user's home, relative paths from the bottle file's folder. */
export function resolveManifestPath(p: string, file: string, userHome: string): string | undefined {
  if (p === '~') return userHome;
  if (p.startsWith('~/')) return join(userHome, p.slice(2));
  if (p.startsWith('~')) return undefined;
  return isAbsolute(p) ? p : resolve(dirname(file), p);
}

function manifestPath(ctx: Context, p: string, path: KeyPath): string {
  const abs = resolveManifestPath(p, ctx.file, ctx.userHome);
  if (abs === undefined) throw fail(ctx, path, 'only `~/` is expanded; write the full path');
  return abs;
}

async function existingFile(ctx: Context, p: string, path: KeyPath): Promise<string> {
  const abs = manifestPath(ctx, p, path);
  try {
    if (!(await stat(abs)).isFile()) throw fail(ctx, path, `${abs} is not a file`);
  } catch (e) {
    if (e instanceof ManifestError) throw e;
    const code = errnoCode(e);
    throw fail(ctx, path, code === 'ENOENT' ? `${abs} does not exist` : `${abs} cannot be read (${code ?? 'error'})`);
  }
  return abs;
}

function fail(ctx: Context, path: KeyPath, message: string): ManifestError {
  const line = ctx.fm.lineOf(path);
  return new ManifestError(ctx.file, message, { keyPath: formatPath(path), ...(line !== undefined ? { line } : {}) });
}
