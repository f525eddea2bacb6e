/**
 * What the escape suite needs from a backend, beyond the CLI (start, exec,
 * stop work the same on every backend). Keep it small: every case is written
 * against the CLI and this interface, so a new backend runs the whole suite
 * by supplying one adapter (see backends/docker.ts).
 */
import type { GitUpstream } from '../../src/backends/docker/demo-upstream.js';

export interface Limits {
  readonly nanoCpus: number;
  readonly memoryBytes: number;
  readonly pids: number;
}

export interface EscapeBackend {
  readonly name: string;
  /**
   * Multiplies the suite's in-agent timeouts (curl --max-time, TCP probes):
   * a software-emulated guest answers several times slower than a container,
   * and a probe whose timeout expires before a real answer would read as
   * "stopped" (or a request's answer as missing). 1 on Docker.
   */
  readonly timeScale: number;
  /** Extra `bot-bottle start` arguments that select this backend. */
  readonly startArgs: readonly string[];
  /** Everything the engine (or hypervisor) shows about the agent: must hold no secret. */
  describeAgent(identity: string): Promise<string>;
  describeBundle(identity: string): Promise<string>;
  /** A shell command in the sidecar bundle (as its own user); stdout. */
  bundleExec(identity: string, script: string): Promise<string>;
  agentLimits(identity: string): Promise<Limits>;
  bundleLimits(identity: string): Promise<Limits>;
  /** The host's addresses the agent could aim at (bridges, gateways). */
  hostAddresses(): Promise<string[]>;
  /** The agent's own addresses (another bottle aims at them). */
  agentAddresses(identity: string): Promise<string[]>;
  /** The bundle's address on the agent's side and on the egress side. */
  bundleAddresses(identity: string): Promise<{ inside: string; outside: string }>;
  /** Put the git upstream where this bottle's bundle (and nothing else of the bottle) reaches it. */
  attachFixture(identity: string, git: GitUpstream): Promise<void>;
  /** An image with bash for outsider probes. */
  outsideImage(identity: string): Promise<string>;
  /** Run a script as an outsider on the bundle's egress side (the host's other containers); stdout. */
  outsiderRun(identity: string, image: string, script: string): Promise<string>;
}

export async function loadBackend(name: string): Promise<EscapeBackend> {
  switch (name) {
    case 'docker':
      return (await import('./backends/docker.js')).dockerBackend;
    case 'microvm':
      return (await import('./backends/microvm.js')).microvmBackend;
    default:
      throw new Error(`no escape-suite adapter for backend "${name}": add test/escape/backends/${name}.ts and list it in test/escape/backend.ts`);
  }
}
