/**
 * Planning: spec -> plan with nothing created and no secret asked for, read
 * or required (SPEC §3). Every value a launch will need is reported instead,
 * with where it comes from (a host variable, a question at launch, a file)
 * and whether this host has it now. `start --dry-run`, `validate` and
 * orchestrators share it; `startBottle` prepares through the same function.
 */
import { getBackend } from '../backends/index.js';
import type { Backend, Plan } from '../bottle/backend.js';
import { mintIdentity } from '../bottle/identity.js';
import { existsSync } from 'node:fs';
import { AGENT, BUNDLE_HOST, bundleServiceDir } from '../bottle/layout.js';
import type { PreparedSidecar } from '../bottle/sidecar.js';
import { BottleState } from '../bottle/state.js';
import type { BottleSpec } from '../bottle/spec.js';
import { loadAgent, loadBottlesFor } from '../manifest/index.js';
import type { Agent, Bottle, ResolvedEnv } from '../manifest/types.js';
import { type Progress, silentProgress } from '../progress.js';
import type { Settings } from '../settings.js';
import { BottleError } from '../errors.js';
import { getProvider, refuseRouteConflicts, type Provider, type ProviderSetup, type SessionCommands } from '../providers/index.js';
import { prepareSidecars } from '../sidecars/index.js';
import { MCP_PATH, SUPERVISE_PORT } from '../sidecars/supervise/config.js';
import { collectWorkspace } from '../workspace/collect.js';
import { resolveAgentImage } from './agent-image.js';

/** Where a needed value comes from. */
export type NeedSource = 'host_variable' | 'typed_at_launch' | 'file';

export interface SecretNeed {
  /** The manifest key that asks for it, e.g. `env.DEPLOY_KEY`, `egress.routes[api.github.com].auth.token_ref`. */
  readonly key: string;
  readonly source: NeedSource;
  /** The host variable's name, the question asked at launch, or the file's path. Never a value. */
  readonly from: string;
  /** Whether this host has it now; `null` for a value typed at launch. */
  readonly available: boolean | null;
  /** A launch without it fails; optional ones only weaken something (e.g. a provider login). */
  readonly required: boolean;
}

/** Every secret the bottle will need at launch, in manifest order. Reads names and file existence only. */
export function secretNeeds(bottle: Bottle, hostEnv: Readonly<Record<string, string>>, fileExists: (path: string) => boolean): SecretNeed[] {
  const hostVar = (key: string, name: string, required = true): SecretNeed => ({
    key,
    source: 'host_variable',
    from: name,
    available: Object.hasOwn(hostEnv, name) && hostEnv[name] !== '',
    required,
  });
  const needs: SecretNeed[] = [];
  for (const [name, source] of Object.entries(bottle.env)) {
    if (source.kind === 'host') needs.push(hostVar(`env.${name}`, source.variable));
    if (source.kind === 'prompt') needs.push({ key: `env.${name}`, source: 'typed_at_launch', from: source.text || `Value for ${name}`, available: null, required: true });
  }
  for (const r of bottle.egress.routes) {
    if (r.auth) needs.push(hostVar(`egress.routes[${r.host}${r.port === 443 ? '' : `:${r.port}`}].auth.token_ref`, r.auth.token_ref));
  }
  for (const [name, repo] of Object.entries(bottle.git_gate.repos)) {
    if (repo.identity !== undefined) needs.push({ key: `git-gate.repos.${name}.identity`, source: 'file', from: repo.identity, available: fileExists(repo.identity), required: true });
    if (repo.token_ref !== undefined) needs.push(hostVar(`git-gate.repos.${name}.token_ref`, repo.token_ref));
  }
  if (bottle.agent_provider.auth_token !== undefined) needs.push(hostVar('agent_provider.auth_token', bottle.agent_provider.auth_token, false));
  return needs;
}

/** Stands in for every secret while planning: a plan lists names, never values. */
export const PLANNING_PLACEHOLDER = '<needed at launch>';

export interface PlanReport {
  readonly identity: string;
  readonly agent: string;
  /** The bottle files merged, in order. */
  readonly bottle_files: readonly string[];
  readonly needs: readonly SecretNeed[];
  /** The backend's description of the plan (names, images, limits; no values). */
  readonly plan: Record<string, unknown>;
}

export interface PrepareArgs {
  readonly spec: BottleSpec;
  readonly identity: string;
  readonly agent: Agent;
  readonly bottle: Bottle;
  readonly env: ResolvedEnv;
  readonly resuming: boolean;
  readonly backend: Backend;
  /** The host environment the provider and sidecars read token values from. */
  readonly hostEnv: Readonly<Record<string, string>>;
  /** Planning: placeholders for secrets, no secret file read. */
  readonly planning: boolean;
}

export interface Prepared {
  readonly plan: Plan;
  readonly sidecars: readonly PreparedSidecar[];
  /** How a session runs this bottle's agent. */
  readonly session: SessionCommands;
  /** The `--cwd` copy's git HEAD, recorded for `export`. */
  readonly workspaceHead: string | undefined;
  /** Host files holding secrets that the provider reads at launch (planning only names them). */
  readonly secretFiles: readonly { readonly key: string; readonly path: string }[];
}

/**
 * The provider's setup, the `--cwd` workspace, the sidecars' and the
 * backend's prepare (pure: nothing written): the one path from a loaded
 * manifest to a plan, for a launch and for planning alike.
 */
export async function preparePlan(settings: Settings, a: PrepareArgs, progress: Progress, warn: (message: string) => void = (m) => progress.warn(m)): Promise<Prepared> {
  const { spec, identity, agent, bottle, env, resuming } = a;
  const state = new BottleState(settings.home, identity);
  const provider = await getProvider(settings, bottle.agent_provider.template);
  checkOutputFormat(provider, spec.outputFormat);
  const providerSetup = await provider.setup({
    identity,
    agent,
    bottle,
    hostEnv: a.hostEnv,
    userHome: settings.userHome,
    mcpUrl: bottle.supervise ? `http://${BUNDLE_HOST}:${SUPERVISE_PORT}${MCP_PATH}` : undefined,
    label: spec.label,
    color: spec.color,
    planning: a.planning,
  });
  await refuseRouteConflicts(bottle, provider.name, providerSetup.routes);
  // A resumed bottle keeps its workspace volume: nothing is copied again.
  const workspace =
    spec.copyCwd === undefined || resuming
      ? undefined
      : await collectWorkspace(spec.copyCwd, { at: AGENT.workspace, includeIgnored: spec.includeIgnored, allowSecrets: spec.allowSecrets });
  for (const f of workspace?.findings ?? []) warn(`--allow-secrets: copying ${f.file}${f.line > 0 ? `:${f.line}` : ''} (${f.rule}: ${f.redacted})`);
  const agentImage = await resolveAgentImage(provider, state, bottle);
  const sidecars = await prepareSidecars(
    {
      identity,
      bottle: withProviderRoutes(bottle, providerSetup),
      providerTokens: providerSetup.tokens,
      agent,
      hostEnv: a.hostEnv,
      knownSecrets: Object.values(env.secrets),
      agentDockerfile: agentImage.kind === 'recipe' ? agentImage.text : undefined,
      planning: a.planning,
    },
    (name) => ({ hostDir: state.service(name), bundleDir: bundleServiceDir(name) }),
  );
  const plan = await a.backend.prepare({ settings, spec, identity, state, agent, bottle, env, resuming, agentImage, sidecars, providerSetup, workspace: workspace?.tree }, progress);
  return { plan, sidecars, session: providerSetup.session, workspaceHead: workspace?.head, secretFiles: providerSetup.secretFiles ?? [] };
}

function checkOutputFormat(provider: Provider, format: string | undefined): void {
  if (format === undefined || provider.outputFormats.includes(format)) return;
  throw new BottleError('usage', `--output-format ${format}: the ${provider.name} provider ${provider.outputFormats.length === 0 ? 'has no output formats' : `accepts ${provider.outputFormats.join(', ')}`}`, {
    fix: provider.outputFormats.length === 0 ? 'drop --output-format' : `use one of ${provider.outputFormats.join(', ')}`,
  });
}

/** The bottle as the egress sidecar sees it: the provider's own routes first. */
function withProviderRoutes(bottle: Bottle, setup: ProviderSetup): Bottle {
  if (setup.routes.length === 0) return bottle;
  return { ...bottle, egress: { ...bottle.egress, routes: [...setup.routes, ...bottle.egress.routes] } };
}

/**
 * The plan of a start, with what it will need: loads and checks the manifests,
 * prepares (pure) with placeholders for every secret, and never asks, reads or
 * requires a secret value. Creates nothing in the engine or the home.
 */
export async function planBottle(settings: Settings, spec: BottleSpec, opts: { progress?: Progress; fileExists?: (path: string) => boolean } = {}): Promise<PlanReport> {
  return (await planWithNeeds(settings, spec, opts)).report;
}

/** planBottle, with the prepared plan itself (for `startBottle`'s dry run). */
export async function planWithNeeds(settings: Settings, spec: BottleSpec, opts: { progress?: Progress; fileExists?: (path: string) => boolean } = {}): Promise<{ report: PlanReport; prepared: Prepared }> {
  const progress = opts.progress ?? silentProgress;
  const { agent, warnings } = await loadAgent(settings, spec.agent);
  for (const w of warnings) progress.warn(w);
  const bottle = await loadBottlesFor(settings, agent, [...spec.bottles]);
  const needs = secretNeeds(bottle, settings.hostEnv, opts.fileExists ?? existsSync);
  const hostEnv = { ...settings.hostEnv };
  for (const n of needs) if (n.source === 'host_variable') hostEnv[n.from] = PLANNING_PLACEHOLDER;
  const env: ResolvedEnv = {
    literals: Object.fromEntries(Object.entries(bottle.env).flatMap(([k, s]) => (s.kind === 'literal' ? [[k, s.value]] : []))),
    secrets: Object.fromEntries(Object.entries(bottle.env).flatMap(([k, s]) => (s.kind === 'literal' ? [] : [[k, PLANNING_PLACEHOLDER]]))),
  };
  const identity = spec.identity ?? mintIdentity(agent.name);
  const backend = spec.backend ?? bottle.backend ?? 'docker';
  const prepared = await preparePlan(
    settings,
    { spec: { ...spec, backend }, identity, agent, bottle, env, resuming: spec.identity !== undefined, backend: getBackend(settings, backend), hostEnv, planning: true },
    progress,
  );
  const fileExists = opts.fileExists ?? existsSync;
  const fileNeeds = prepared.secretFiles.map((f): SecretNeed => ({ key: f.key, source: 'file', from: f.path, available: fileExists(f.path), required: true }));
  return { report: { identity, agent: agent.name, bottle_files: bottle.files, needs: [...needs, ...fileNeeds], plan: prepared.plan.describe() }, prepared };
}
