/**
 * Start and resume: spec -> plan (prepare) -> images (build) -> resources
 * (launch) -> optional session. The CLI and orchestrators share this path.
 */
import { PassThrough } from 'node:stream';
import { BottleError } from '../errors.js';
import { getBackend } from '../backends/index.js';
import { AGENT } from '../bottle/layout.js';
import { SIDECARS } from '../bottle/sidecar.js';
import type { Backend } from '../bottle/backend.js';
import { retireState } from '../bottle/archive.js';
import { mintIdentity } from '../bottle/identity.js';
import type { BottleSpec } from '../bottle/spec.js';
import { type BottleMetadata, BottleState } from '../bottle/state.js';
import { loadAgent, loadBottlesFor, resolveEnv } from '../manifest/index.js';
import type { ResolvedEnv } from '../manifest/types.js';
import { type Progress, silentProgress } from '../progress.js';
import type { Settings } from '../settings.js';
import type { SessionCommands } from '../providers/index.js';
import { writeWorkspaceBase } from '../workspace/state.js';
import { planWithNeeds, preparePlan, type SecretNeed } from './plan.js';

export type AskSecret = (name: string, text: string) => Promise<string>;

export interface StartOptions {
  readonly progress?: Progress;
  /** Asks for `?` env values; headless specs never call it. */
  readonly ask?: AskSecret;
  /** Plan only: create nothing, ask for and read no secret (see `planBottle`). */
  readonly dryRun?: boolean;
  /** Return once ready; the bottle lives until `stop`. */
  readonly detach?: boolean;
  readonly onWarning?: (message: string) => void;
  /**
   * Aborted (Ctrl-C, a closed terminal): the start stops at its next step and
   * removes what it created, then fails with an `interrupted` error. An engine
   * call or image build in flight finishes first.
   */
  readonly signal?: AbortSignal;
}

export interface Started {
  readonly identity: string;
  readonly plan: Record<string, unknown>;
  /** Present unless dry-run. */
  readonly backend: Backend | undefined;
  readonly env: ResolvedEnv;
  /** How a session runs this bottle's agent. */
  readonly session: SessionCommands;
  /** Headless output format for the provider's client, when asked for. */
  readonly outputFormat: string | undefined;
  /** Dry run only: the values a launch will need and where they come from. */
  readonly needs?: readonly SecretNeed[];
}

const noAsk: AskSecret = (name) => Promise.reject(new Error(`no way to ask for ${name}`));

/** Prepare, build and launch. With `dryRun`, only prepare. */
export async function start(settings: Settings, spec: BottleSpec, opts: StartOptions = {}): Promise<Started> {
  const progress = opts.progress ?? silentProgress;
  if (opts.dryRun) {
    // Planning asks for no secret: the values a launch needs are reported, not resolved.
    const { report, prepared } = await planWithNeeds(settings, spec, { progress });
    return { identity: report.identity, plan: report.plan, backend: undefined, env: { literals: {}, secrets: {} }, session: prepared.session, outputFormat: spec.outputFormat, needs: report.needs };
  }
  const { agent, warnings } = await loadAgent(settings, spec.agent);
  for (const w of warnings) (opts.onWarning ?? progress.warn)(w);
  const bottle = await loadBottlesFor(settings, agent, [...spec.bottles]);
  const backendName = spec.backend ?? bottle.backend ?? 'docker';
  const env = await resolveEnv(bottle.env, { hostEnv: settings.hostEnv, headless: spec.headless, ask: opts.ask ?? noAsk });
  progress.detail(`agent ${agent.name} and its bottles loaded`);
  const resuming = spec.identity !== undefined;
  const identity = spec.identity ?? mintIdentity(agent.name);
  const state = new BottleState(settings.home, identity);
  const backend = getBackend(settings, backendName);
  const checkpoint = () => {
    if (opts.signal?.aborted) throw new BottleError('interrupted', `interrupted: ${identity} was not started, and nothing of it is left`);
  };
  // Planning is pure: a failure up to here leaves nothing behind.
  const { plan, sidecars, session, workspaceHead } = await preparePlan(
    settings,
    { spec: { ...spec, backend: backendName }, identity, agent, bottle, env, resuming, backend, hostEnv: settings.hostEnv, planning: false },
    progress,
    opts.onWarning ?? ((m) => progress.warn(m)),
  );
  progress.detail('bottle planned');
  const outputFormat = spec.outputFormat;
  const meta: BottleMetadata = {
    identity,
    agent: agent.name,
    bottles: spec.bottles.length > 0 ? [...spec.bottles] : [...agent.bottles],
    backend: backendName,
    cwd: spec.copyCwd,
    label: spec.label,
    color: spec.color,
    started_at: new Date().toISOString(),
    owner_pid: opts.detach ? undefined : process.pid,
    detached: opts.detach === true,
  };
  checkpoint();
  try {
    await state.create(['agent', 'bundle', ...SIDECARS]);
    await state.writeSidecarState(sidecars);
    await state.writeMetadata(meta);
    if (workspaceHead !== undefined) await writeWorkspaceBase(settings.home, identity, workspaceHead);
    // A resumed bottle holds work from before: leaving its session keeps it, only `stop` removes it.
    if (resuming) await state.markPreserved('resumed: leaving the session keeps it');
    else await state.clearPreserved();
    progress.detail('state written');
    const built = await backend.build(plan, progress);
    checkpoint();
    await backend.launch(plan, built, env, progress);
    checkpoint();
  } catch (e) {
    // Nothing half-created: a failed build or launch removed its resources; an interrupted one is removed here.
    if (opts.signal?.aborted) await backend.teardown(identity, { keepWorkspace: resuming }).catch(() => undefined);
    if (!resuming) await state.remove();
    throw e;
  }
  return { identity, plan: plan.describe(), backend, env, session, outputFormat };
}

export type HeadlessSpec = Omit<BottleSpec, 'headless' | 'identity'>;

/** For orchestrators: start a detached, headless bottle; resolves to its identity once ready. */
export async function startHeadless(settings: Settings, spec: HeadlessSpec, opts: Omit<StartOptions, 'detach' | 'ask' | 'dryRun'> = {}): Promise<string> {
  return (await start(settings, { ...spec, headless: true, identity: undefined }, { ...opts, detach: true })).identity;
}

export interface SessionIO {
  readonly stdin: NodeJS.ReadableStream | undefined;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly tty: boolean;
  /**
   * True once the user's terminal is gone (a closed window, a dropped ssh
   * connection): the session's end then leaves the bottle to the caller,
   * which keeps it preserved, instead of removing it with its work.
   */
  readonly terminalLost?: () => boolean;
}

/**
 * An attached session: the headless prompt (or an interactive shell) runs in
 * the agent; at the end the bottle is torn down and its state deleted, unless
 * something preserved it.
 */
export async function runSession(settings: Settings, started: Started, prompt: string | undefined, io: SessionIO): Promise<number> {
  const backend = started.backend;
  if (!backend) throw new Error('runSession needs a launched bottle');
  let code = 1;
  let crashed = false;
  try {
    if (prompt !== undefined) {
      const promptFile = AGENT.prompt;
      const stdin = new PassThrough();
      stdin.end(prompt);
      const wrote = await backend.exec(started.identity, ['sh', '-c', `umask 077; cat > ${promptFile}`], { stdin, stdout: io.stderr, stderr: io.stderr, tty: false });
      if (wrote !== 0) throw new Error(`could not hand the prompt to the agent (exit ${wrote})`);
      code = await backend.exec(started.identity, started.session.headless(promptFile, started.outputFormat), { stdin: undefined, stdout: io.stdout, stderr: io.stderr, tty: false });
    } else {
      code = await backend.exec(started.identity, started.session.interactive, io);
    }
  } catch (e) {
    crashed = true;
    throw e;
  } finally {
    // A lost terminal's bottle is the caller's to preserve: removing it here would race that and could take its work.
    if (io.terminalLost?.() !== true) {
      // A bottle that died under the session (engine restart, OOM, crash) is kept for inspection and `resume`.
      if (crashed || !(await agentRunning(backend, started.identity, code >= 128))) {
        await new BottleState(settings.home, started.identity).markPreserved('crash: the agent stopped during the session');
      }
      await endSession(settings, backend, started.identity);
    }
  }
  return code;
}

/**
 * Is the agent still up after the session's command ended? A command killed by
 * a signal may have died with its container, whose state the engine reports a
 * moment later: look a few times before saying it is.
 */
async function agentRunning(backend: Backend, identity: string, suspicious: boolean): Promise<boolean> {
  for (let i = 0; i < (suspicious ? 5 : 1); i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 200));
    try {
      if ((await backend.list()).find((b) => b.identity === identity)?.services.agent !== 'running') return false;
    } catch {
      return false;
    }
  }
  return true;
}

export async function endSession(settings: Settings, backend: Backend, identity: string): Promise<void> {
  // A bottle that was resumed elsewhere meanwhile (a capability rebuild) is no longer this session's to remove.
  const state = new BottleState(settings.home, identity);
  const meta = await state.readMetadata().catch(() => undefined);
  if (meta && meta.owner_pid !== process.pid) return;
  const preserved = await state.isPreserved();
  await backend.teardown(identity, { keepWorkspace: preserved });
  if (!preserved) await retireState(state, 'session end', settings.archiveDays);
}
