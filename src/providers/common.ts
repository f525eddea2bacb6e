/** What the templates share: provider routes, placeholders, skills, labels, route conflicts. */
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { BottleError, errnoCode, ManifestError } from '../errors.js';
import { parseFrontMatter } from '../manifest/frontmatter.js';
import { DEFAULT_DLP, type Bottle, type EgressRoute, type RouteAuth } from '../manifest/types.js';
import type { TreeEntry, AgentTree } from '../bottle/tree.js';
import { readFile } from 'node:fs/promises';
import type { ProviderContext } from './types.js';

/**
 * What the agent holds instead of a credential. Clients need *a* value to
 * start without a login prompt; the proxy drops it and injects the real one.
 * Deliberately not shaped like any provider's key, so DLP never mistakes it
 * for one and nobody mistakes it for a leak.
 */
export const PLACEHOLDER = 'bot-bottle-placeholder-the-egress-proxy-injects-the-real-credential';

/** The key under which a provider's token reaches the egress sidecar (not a host variable name). */
export const providerTokenRef = (provider: string, what = 'token'): string => `bot-bottle-provider-${provider}-${what}`;

/** A provider-owned route: every path and method of `host:443`, DLP on, the token injected. */
export function providerRoute(host: string, auth: RouteAuth | undefined, paths: readonly string[] = []): EgressRoute {
  return {
    host,
    port: 443,
    matches: paths.length === 0 ? [] : [{ paths: paths.map((value) => ({ type: 'prefix' as const, value })), methods: [], headers: [] }],
    auth,
    dlp: DEFAULT_DLP,
  };
}

/** The host variable named by `agent_provider.auth_token`, or a clear error. */
export function hostToken(ctx: ProviderContext, provider: string): { name: string; value: string } | undefined {
  const name = ctx.bottle.agent_provider.auth_token;
  if (name === undefined) return undefined;
  const value = ctx.hostEnv[name];
  if (value === undefined || value === '') {
    throw new BottleError('usage', `agent_provider.auth_token names ${name}, which is not set in the host environment`, {
      fix: `export ${name}=… (your ${provider} credential) before starting, or change auth_token in ${ctx.bottle.files.at(-1) ?? 'the bottle'}`,
    });
  }
  return { name, value };
}

/**
 * A route the manifest declares for a host the provider owns is an error: the
 * provider's route carries the credential, and two routes for one host would
 * leave it unclear which one does. Names the file and line of the route.
 */
export async function refuseRouteConflicts(bottle: Bottle, provider: string, owned: readonly EgressRoute[]): Promise<void> {
  const ownedKeys = new Set(owned.map((r) => `${r.host}:${r.port}`));
  const clash = bottle.egress.routes.find((r) => ownedKeys.has(`${r.host}:${r.port}`));
  if (clash === undefined) return;
  const where = await locateRoute(bottle.files, clash);
  const hostText = clash.port === 443 ? clash.host : `${clash.host}:${clash.port}`;
  throw new ManifestError(where.file, `${hostText} is a host of the ${provider} template, which owns its route and injects its credential there`, {
    keyPath: `egress.routes[${where.index}].host`,
    ...(where.line !== undefined ? { line: where.line } : {}),
    fix: `remove this route (the ${provider} template already allows ${hostText}); to point the client at a test server, map the host with egress.hosts`,
  });
}

async function locateRoute(files: readonly string[], route: EgressRoute): Promise<{ file: string; index: number; line: number | undefined }> {
  for (const file of [...files].reverse()) {
    try {
      const fm = parseFrontMatter(file, await readFile(file, 'utf8'));
      const routes = (fm.data.egress as { routes?: { host?: unknown }[] } | undefined)?.routes ?? [];
      const index = routes.findIndex((r) => {
        if (typeof r.host !== 'string') return false;
        const [h, p] = r.host.toLowerCase().replace(/\.$/, '').split(':');
        return h === route.host && Number(p ?? 443) === route.port;
      });
      if (index >= 0) return { file, index, line: fm.lineOf(['egress', 'routes', index, 'host']) };
    } catch {
      // Already loaded once; a file that changed since is reported without a line.
    }
  }
  return { file: files.at(-1) ?? 'bottle', index: 0, line: undefined };
}

const SKILL_LIMIT_BYTES = 64 * 1024 * 1024;

/**
 * The agent's `skills`, copied from the host's `~/.claude/skills/<name>/` into
 * `<home>/<under>/<name>/` (owned by the agent). Symlinks are copied as links.
 */
export async function skillTrees(ctx: ProviderContext, home: string, under = '.claude/skills'): Promise<AgentTree[]> {
  if (ctx.agent.skills.length === 0) return [];
  const entries: TreeEntry[] = [];
  const parts = under.split('/').filter(Boolean);
  for (let i = 1; i <= parts.length; i++) entries.push({ path: parts.slice(0, i).join('/'), kind: 'dir', mode: 0o755 });
  let total = 0;
  for (const name of ctx.agent.skills) {
    const src = join(ctx.userHome, '.claude', 'skills', name);
    try {
      if (!(await lstat(src)).isDirectory()) throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' });
    } catch (e) {
      throw new ManifestError(ctx.agent.file, `skill "${name}" is not a folder at ${src} (${errnoCode(e) ?? 'error'})`, {
        keyPath: 'skills',
        fix: `create ${src}/SKILL.md, or remove "${name}" from skills`,
      });
    }
    const walk = async (abs: string, rel: string): Promise<void> => {
      const st = await lstat(abs);
      if (st.isSymbolicLink()) entries.push({ path: rel, kind: 'symlink', mode: 0o777, target: await readlink(abs) });
      else if (st.isDirectory()) {
        entries.push({ path: rel, kind: 'dir', mode: 0o755 });
        for (const n of (await readdir(abs)).sort()) await walk(join(abs, n), `${rel}/${n}`);
      } else if (st.isFile()) {
        total += st.size;
        if (total > SKILL_LIMIT_BYTES) {
          throw new BottleError('usage', `skills of ${ctx.agent.name} exceed ${SKILL_LIMIT_BYTES / 1024 / 1024} MiB (at ${abs})`, { fix: 'keep large data out of skill folders' });
        }
        entries.push({ path: rel, kind: 'file', mode: st.mode & 0o111 ? 0o755 : 0o644, source: abs });
      }
    };
    await walk(src, [...parts, name].join('/'));
  }
  return [{ at: home, entries, what: `skills ${ctx.agent.skills.join(', ')}` }];
}

const ANSI: Record<string, number> = { red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, white: 37, gray: 90, grey: 90 };

/** A label the user gave, safe to print on the agent's terminal: control characters dropped, length bounded. */
export function safeLabel(label: string | undefined): string | undefined {
  if (label === undefined) return undefined;
  // eslint-disable-next-line no-control-regex
  const clean = label.replace(/[\u0000-\u001f\u007f-\u009f]/g, '').trim().slice(0, 80);
  return clean === '' ? undefined : clean;
}

/** SGR colour code for a `--color` name, or undefined. */
export function ansiColor(color: string | undefined): number | undefined {
  return color === undefined ? undefined : ANSI[color.toLowerCase()];
}

/** A POSIX sh single-quoted literal. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
