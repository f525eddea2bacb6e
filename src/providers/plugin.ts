/**
 * User plugins: `~/.bot-bottle/contrib/<name>/` with a `plugin.md` manifest
 * and the Dockerfile it names. A folder without a valid manifest is an error,
 * never silently a shell.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BottleError, errnoCode, ManifestError } from '../errors.js';
import { parseFrontMatter } from '../manifest/frontmatter.js';
import { manifestErrorFrom } from '../manifest/issues.js';
import type { RouteAuth } from '../manifest/types.js';
import type { AgentFile } from '../bottle/sidecar.js';
import { hostToken, PLACEHOLDER, providerRoute, providerTokenRef, safeLabel, shQuote, skillTrees } from './common.js';
import { nodeImage, shellImage } from './images.js';
import { PLACEHOLDERS, PLUGIN_FILE, pluginManifest, type PluginManifest } from './plugin-schema.js';
import { titled } from './session.js';
import type { Provider, ProviderContext, ProviderSetup } from './types.js';

export function contribDir(home: string, name: string): string {
  return join(home, 'contrib', name);
}

/** Read and validate a plugin's manifest; undefined when the folder does not exist. */
export async function loadPlugin(home: string, name: string): Promise<Provider | undefined> {
  const dir = contribDir(home, name);
  const file = join(dir, PLUGIN_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw new ManifestError(file, `cannot be read (${errnoCode(e) ?? 'error'})`);
    try {
      await readFile(join(dir, 'Dockerfile'));
    } catch {
      return undefined;
    }
    throw new BottleError('usage', `${dir} has a Dockerfile but no ${PLUGIN_FILE}: a plugin says how its agent runs and authenticates`, {
      fix: `add ${file} (see examples/ in the bot-bottle package for one)`,
    });
  }
  const fm = parseFrontMatter(file, text);
  const parsed = pluginManifest.safeParse(fm.data);
  if (!parsed.success) throw manifestErrorFrom(file, fm, pluginManifest, parsed.error.issues);
  return pluginProvider(name, dir, parsed.data);
}

export function pluginProvider(name: string, dir: string, m: PluginManifest): Provider {
  return {
    name,
    image: { repository: `bot-bottle/agent-${name}`, dir, dockerfile: m.dockerfile, buildArgs: {}, bases: { NODE_IMAGE: nodeImage(), AGENT_BASE: shellImage() } },
    user: m.user,
    home: m.home,
    outputFormats: m.headless.output_formats,
    setup: (ctx) => pluginSetup(name, m, ctx),
  };
}

async function pluginSetup(name: string, m: PluginManifest, ctx: ProviderContext): Promise<ProviderSetup> {
  const token = hostToken(ctx, name);
  const ref = providerTokenRef(name);
  let auth: RouteAuth | undefined;
  if (m.auth !== undefined && token !== undefined) {
    const custom = m.auth.header.toLowerCase() !== 'authorization';
    auth = { header: m.auth.header, scheme: m.auth.scheme ?? (custom ? '' : 'Bearer'), token_ref: ref };
  }
  if (token !== undefined && m.auth === undefined) {
    throw new BottleError('usage', `the ${name} plugin does not say how a credential is injected, but the bottle sets auth_token`, {
      fix: `add auth: to ${join(contribDir('~/.bot-bottle', name), PLUGIN_FILE)}, or remove auth_token`,
    });
  }
  const routes = m.hosts.map((h) => providerRoute(h.host.toLowerCase(), h.host.toLowerCase() === m.auth?.host.toLowerCase() ? auth : undefined, h.paths ?? []));
  const agentEnv: Record<string, string> = { ...m.env };
  if (auth !== undefined) for (const v of m.auth?.placeholder_env ?? []) agentEnv[v] = PLACEHOLDER;
  const files: AgentFile[] = [];
  const prompt = ctx.agent.prompt.trim();
  if (m.system_prompt !== undefined && prompt !== '') files.push({ path: `${m.home}/${m.system_prompt.file}`, owner: 'agent', mode: 0o644, content: prompt + '\n' });
  const json = new Map<string, Record<string, unknown>>(m.files.map((f) => [f.path, f.json]));
  if (m.mcp !== undefined && ctx.mcpUrl !== undefined) {
    json.set(m.mcp.file, deepMerge(json.get(m.mcp.file) ?? {}, substitute(m.mcp.json, ctx.mcpUrl) as Record<string, unknown>));
  }
  for (const [path, content] of json) files.push({ path: `${m.home}/${path}`, owner: 'agent', mode: 0o600, content: JSON.stringify(content, null, 2) + '\n' });
  const headless = m.headless;
  return {
    routes,
    tokens: token === undefined || auth === undefined ? {} : { [ref]: token.value },
    agentEnv,
    agentFiles: files,
    agentTrees: await skillTrees(ctx, m.home, m.skills),
    session: {
      interactive: titled(m.interactive, safeLabel(ctx.label)),
      headless: (promptFile, format) => {
        const argv = headless.argv.map((a) => (a === PLACEHOLDERS.PROMPT_FILE ? promptFile : a));
        if (format !== undefined && headless.output_format !== undefined) argv.push(...headless.output_format.map((a) => (a === PLACEHOLDERS.FORMAT ? format : a)));
        if (!argv.includes(PLACEHOLDERS.PROMPT)) return argv;
        // Replace each whole `{prompt}` argument by the file's text, inside the agent (POSIX sh).
        const script =
          `f=$1; shift; p=$(cat "$f"); n=$#; for a do if [ "$a" = ${shQuote(PLACEHOLDERS.PROMPT)} ]; then set -- "$@" "$p"; else set -- "$@" "$a"; fi; done; shift "$n"; exec "$@" </dev/null`;
        return ['sh', '-c', script, 'plugin-headless', promptFile, ...argv];
      },
    },
    describe: { plugin: name, hosts: routes.map((r) => r.host), credential: auth === undefined ? 'none' : `${auth.header} from ${token?.name ?? ''}`, mcp: m.mcp !== undefined && ctx.mcpUrl !== undefined ? ctx.mcpUrl : null },
  };
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
    out[k] = isObj(prev) && isObj(v) ? deepMerge(prev, v) : v;
  }
  return out;
}

function substitute(v: unknown, url: string): unknown {
  if (v === '{mcp_url}') return url;
  if (Array.isArray(v)) return v.map((x) => substitute(x, url));
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substitute(x, url)]));
  return v;
}
