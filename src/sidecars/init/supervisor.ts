/**
 * Starts, watches and restarts the bundle's sidecar processes and keeps the
 * health file current. A sidecar that dies must come back quickly but must
 * not spin (a crash loop would starve the others), hence capped backoff.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { BundleConfig, ServiceSpec } from './config.js';
import { type CgroupFiles, explainExit, explainSpawnError, oomKills } from './limits.js';
import {
  tcpProbe,
  writeHealthAtomic,
  type BundleHealth,
  type ExitInfo,
  type ServiceState,
} from './health.js';

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  /** A run that lasted this long counts as healthy: the next crash starts over at initialMs. */
  resetAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 100, maxMs: 5000, resetAfterMs: 30_000 };

export interface SupervisorOptions {
  /** Receives whole output lines; defaults to the init's stdout. */
  log?: (line: string) => void;
  /** Called after every state change, once the health file has been written. */
  onChange?: (health: BundleHealth) => void;
  backoff?: Partial<BackoffPolicy>;
  /** Time between SIGTERM and SIGKILL on shutdown. */
  stopGraceMs?: number;
  /** Probe cadence while a service is not yet ready, and once it is. */
  probeIntervalMs?: number;
  readyProbeIntervalMs?: number;
  /** Uptime after which a service without a readyProbe counts as ready. */
  settleMs?: number;
  /** Base environment for services; defaults to the init's own. */
  env?: NodeJS.ProcessEnv;
  /** The cgroup folder to read limits from (default /sys/fs/cgroup). */
  cgroup?: CgroupFiles;
}

/** Delay before restart number `failures + 1` of a crash streak. */
export function backoffDelay(failures: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  return Math.min(policy.initialMs * 2 ** failures, policy.maxMs);
}

interface Slot {
  spec: ServiceSpec;
  state: ServiceState;
  child: ChildProcess | null;
  pid: number | null;
  restarts: number;
  /** Crashes in the current streak; drives the backoff. */
  failures: number;
  startedAt: number;
  lastExit: ExitInfo | null;
  exited: Promise<void>;
  restartTimer: NodeJS.Timeout | null;
  /** Readiness probe, or settle timer for services without one. */
  probeTimer: NodeJS.Timeout | null;
}

// Services run in their own process group (detached; libuv has called
// setsid before spawn() returns), so signalling the group also reaches helpers
// they spawned. Group only: a bare pid could by now belong to someone else.
function signalGroup(pid: number | null, sig: NodeJS.Signals): void {
  if (pid === null) return;
  try {
    process.kill(-pid, sig);
  } catch {
    /* group already empty */
  }
}

function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    void p.then(() => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

export class Supervisor {
  private readonly slots: Slot[];
  private readonly log: (line: string) => void;
  private readonly policy: BackoffPolicy;
  private readonly stopGraceMs: number;
  private readonly probeIntervalMs: number;
  private readonly readyProbeIntervalMs: number;
  private readonly settleMs: number;
  private readonly baseEnv: NodeJS.ProcessEnv;
  private readonly onChange: ((h: BundleHealth) => void) | undefined;
  /** Where the bundle's cgroup limits are read, to say why a service died. */
  private readonly cgroup: CgroupFiles | undefined;
  private started = false;
  private stopping: Promise<void> | null = null;

  constructor(
    private readonly config: BundleConfig,
    opts: SupervisorOptions = {},
  ) {
    this.log = opts.log ?? ((line) => void process.stdout.write(`${line}\n`));
    this.onChange = opts.onChange;
    this.policy = { ...DEFAULT_BACKOFF, ...opts.backoff };
    this.stopGraceMs = opts.stopGraceMs ?? 3000;
    // Short while starting: bottle start waits on this; a TCP connect to loopback is cheap.
    this.probeIntervalMs = opts.probeIntervalMs ?? 20;
    this.readyProbeIntervalMs = opts.readyProbeIntervalMs ?? 2000;
    this.settleMs = opts.settleMs ?? 1000;
    this.baseEnv = opts.env ?? process.env;
    this.cgroup = opts.cgroup;
    this.slots = config.services.map((spec) => ({
      spec,
      state: 'starting',
      child: null,
      pid: null,
      restarts: 0,
      failures: 0,
      startedAt: 0,
      lastExit: null,
      exited: Promise.resolve(),
      restartTimer: null,
      probeTimer: null,
    }));
  }

  start(): void {
    if (this.started) throw new Error('supervisor already started');
    this.started = true;
    for (const slot of this.slots) this.spawnService(slot);
  }

  health(): BundleHealth {
    const services: BundleHealth['services'] = {};
    for (const s of this.slots) {
      services[s.spec.name] = {
        state: s.state,
        pid: s.pid,
        restarts: s.restarts,
        lastExit: s.lastExit,
        ready: s.state === 'ready',
      };
    }
    return {
      identity: this.config.identity,
      pid: process.pid,
      updatedAt: new Date().toISOString(),
      ready: this.slots.every((s) => s.state === 'ready'),
      services,
    };
  }

  /** SIGTERM every service, SIGKILL what is left after the grace period. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    const live = this.slots.filter((s) => s.child !== null);
    const groups = live.map((s) => s.pid);
    for (const s of this.slots) {
      this.clearTimers(s);
      if (s.child === null && s.state !== 'failed') s.state = 'stopped';
    }
    this.changed();
    for (const pid of groups) signalGroup(pid, 'SIGTERM');
    const all = Promise.all(live.map((s) => s.exited));
    if (!(await within(all, this.stopGraceMs))) {
      for (const s of live) {
        if (s.child !== null) this.log(`[init] ${s.spec.name} ignored SIGTERM; killing`);
      }
      for (const pid of groups) signalGroup(pid, 'SIGKILL');
      await within(all, 2000);
    }
    // Leaders are gone; sweep anything they left behind in their groups.
    for (const pid of groups) signalGroup(pid, 'SIGKILL');
    for (const s of this.slots) if (s.state !== 'failed') s.state = 'stopped';
    this.changed();
  }

  private spawnService(slot: Slot): void {
    const { spec } = slot;
    const [file, ...args] = spec.command as [string, ...string[]];
    slot.state = 'starting';
    slot.startedAt = Date.now();
    let child: ChildProcess;
    try {
      child = spawn(file, args, {
        env: {
          ...this.baseEnv,
          ...spec.env,
          BOT_BOTTLE_HEALTH_FILE: this.config.healthFile,
          BOT_BOTTLE_SERVICE: spec.name,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
    } catch (err) {
      // Synchronous spawn errors (bad arguments) are treated like a crash.
      this.log(`[init] ${spec.name}: ${explainSpawnError(err as NodeJS.ErrnoException, this.cgroup) ?? `cannot spawn: ${(err as Error).message}`}`);
      slot.child = null;
      slot.pid = null;
      slot.exited = Promise.resolve();
      this.afterExit(slot, null, null);
      return;
    }
    slot.child = child;
    slot.pid = child.pid ?? null;

    let finished = false;
    let markExited: () => void = () => undefined;
    slot.exited = new Promise((r) => (markExited = r));
    const oomBefore = oomKills(this.cgroup);
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (finished) return;
      finished = true;
      markExited();
      if (slot.child !== child) return;
      slot.child = null;
      slot.pid = null;
      this.afterExit(slot, code, signal, explainExit(signal, oomBefore, this.cgroup));
    };
    child.once('spawn', () => this.onSpawn(slot, child));
    child.on('error', (err: NodeJS.ErrnoException) => {
      this.log(`[init] ${spec.name}: ${explainSpawnError(err, this.cgroup) ?? err.message}`);
      // Without a pid the process never started and 'exit' will not come.
      if (child.pid === undefined) finish(null, null);
    });
    child.once('exit', finish);
    this.pipeLines(spec.name, child.stdout);
    this.pipeLines(spec.name, child.stderr);
    this.changed();
  }

  private pipeLines(name: string, stream: Readable | null): void {
    if (stream === null) return;
    const rl = createInterface({ input: stream, crlfDelay: Infinity });
    rl.on('line', (line) => this.log(`[${name}] ${line}`));
  }

  private onSpawn(slot: Slot, child: ChildProcess): void {
    if (slot.child !== child || this.stopping !== null) return;
    this.setState(slot, 'running');
    if (slot.spec.readyProbe !== undefined) {
      this.probe(slot, child, slot.spec.readyProbe.tcpPort);
      return;
    }
    // Without a probe, "ready" means "survived a moment": a crash-looping
    // service must not flicker ready on every restart.
    slot.probeTimer = setTimeout(() => {
      slot.probeTimer = null;
      if (slot.child === child && this.stopping === null) this.setState(slot, 'ready');
    }, this.settleMs);
  }

  private probe(slot: Slot, child: ChildProcess, port: number): void {
    void tcpProbe(port).then((ok) => {
      if (slot.child !== child || this.stopping !== null) return;
      // Readiness is re-checked for the life of the process: a sidecar that
      // stops accepting connections must stop counting as ready.
      if (ok && slot.state === 'running') this.setState(slot, 'ready');
      else if (!ok && slot.state === 'ready') this.setState(slot, 'running');
      const next = slot.state === 'ready' ? this.readyProbeIntervalMs : this.probeIntervalMs;
      slot.probeTimer = setTimeout(() => this.probe(slot, child, port), next);
    });
  }

  private afterExit(slot: Slot, code: number | null, signal: NodeJS.Signals | null, reason?: string): void {
    const { spec } = slot;
    this.clearTimers(slot);
    slot.lastExit = { code, signal, at: new Date().toISOString(), ...(reason === undefined ? {} : { reason }) };
    const how = (signal !== null ? `signal ${signal}` : `code ${String(code)}`) + (reason === undefined ? '' : `: ${reason}`);
    if (this.stopping !== null) {
      this.setState(slot, 'stopped');
      return;
    }
    if (spec.restart === 'never') {
      this.log(`[init] ${spec.name} exited (${how}); not restarting`);
      this.setState(slot, code === 0 ? 'stopped' : 'failed');
      return;
    }
    if (Date.now() - slot.startedAt >= this.policy.resetAfterMs) slot.failures = 0;
    const delay = backoffDelay(slot.failures, this.policy);
    slot.failures += 1;
    this.log(`[init] ${spec.name} exited (${how}); restarting in ${delay} ms`);
    this.setState(slot, 'backoff');
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = null;
      slot.restarts += 1;
      this.spawnService(slot);
    }, delay);
  }

  private clearTimers(slot: Slot): void {
    if (slot.restartTimer !== null) clearTimeout(slot.restartTimer);
    if (slot.probeTimer !== null) clearTimeout(slot.probeTimer);
    slot.restartTimer = null;
    slot.probeTimer = null;
  }

  private setState(slot: Slot, state: ServiceState): void {
    slot.state = state;
    this.changed();
  }

  private changed(): void {
    const h = this.health();
    try {
      writeHealthAtomic(this.config.healthFile, h);
    } catch (err) {
      // The host then sees a stale or missing file and treats the bundle as
      // not ready: failing closed is the right outcome, crashing is not.
      this.log(`[init] cannot write health file: ${(err as Error).message}`);
    }
    this.onChange?.(h);
  }
}
