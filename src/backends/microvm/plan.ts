/**
 * The micro-VM backend's *prepare*: the same bottle as on Docker (agent env,
 * files, trust, limits, the bundle's services, mounts and secrets: the shared
 * parts come from bottle/), plus the guest's size and the relay that is the
 * guest's only way to its bundle. Pure: nothing created, nothing written.
 */
import type { AgentImage, Plan, PrepareInput } from '../../bottle/backend.js';
import { agentEnv, agentFiles, agentLimits, agentTrees, agentTrust, type Limits, type ProposedBuildEgress, proposedBuildEgress, type TrustFile } from '../../bottle/agent-setup.js';
import type { AgentTree } from '../../bottle/tree.js';
import type { AgentFile, BundleServiceSpec, PreparedSidecar } from '../../bottle/sidecar.js';
import type { BottleState } from '../../bottle/state.js';
import { relayPorts, relayService } from '../../bottle/vm-relay.js';
import { type Accel, BUNDLE_GUEST_ADDR } from './qemu.js';

const MiB = 1024 * 1024;
/** Guest RAM beyond the agent's memory limit: the guest kernel, guestd and page cache. */
export const GUEST_OVERHEAD_MIB = 128;
/** Guest RAM without a memory limit (QEMU takes host memory only as the guest touches it). */
export const DEFAULT_GUEST_MIB = 2048;
const DEFAULT_CPUS = 2;

export interface GuestSize {
  readonly memoryMiB: number;
  readonly cpus: number;
}

export interface MicrovmPlan extends Plan {
  readonly backend: 'microvm';
  readonly identity: string;
  readonly home: string;
  readonly state: BottleState;
  readonly agentImage: AgentImage;
  /** What the agent image's build may reach when an agent proposed its Dockerfile. */
  readonly buildEgress: ProposedBuildEgress;
  /** `--cwd`: the host folder whose working tree is in agentTrees. */
  readonly copyCwd: string | undefined;
  /** Written into the agent once it runs: skills, and the `--cwd` workspace (onto its workspace disk). */
  readonly agentTrees: readonly AgentTree[];
  readonly resuming: boolean;
  readonly limits: Limits;
  readonly guest: GuestSize;
  readonly agentEnv: Readonly<Record<string, string>>;
  readonly secretEnvNames: readonly string[];
  readonly agentFiles: readonly AgentFile[];
  readonly agentTrust: readonly TrustFile[];
  /** The sidecars' services plus the relay. */
  readonly bundleServices: readonly BundleServiceSpec[];
  readonly sidecarMounts: readonly { readonly hostDir: string; readonly bundleDir: string }[];
  readonly bundleSecrets: Readonly<Record<string, string>>;
  /** The bundle ports the guest's network forwards (through the relay), and nothing else. */
  readonly forwardedPorts: readonly number[];
  readonly sidecars: readonly PreparedSidecar[];
}

/** The guest's vCPUs and RAM: the limits the agent gets, with room for the guest's own kernel. */
export function guestSize(limits: Limits): GuestSize {
  const cpus = limits.nanoCpus === undefined ? DEFAULT_CPUS : Math.max(1, Math.ceil(limits.nanoCpus / 1e9));
  const memoryMiB = limits.memoryBytes === undefined ? DEFAULT_GUEST_MIB : Math.ceil(limits.memoryBytes / MiB) + GUEST_OVERHEAD_MIB;
  return { cpus, memoryMiB };
}

/**
 * The vCPUs QEMU gets. Software emulation here counts instructions
 * (`-icount`, see qemu.ts), and with it QEMU runs every vCPU on one host
 * thread in turn: a second vCPU adds no parallelism, only interrupts between
 * vCPUs that wait for the other's time slice (an exec took ~50 s on a 2-vCPU
 * guest against ~10 s on a 1-vCPU one, side by side here). The agent's CPU
 * limit still applies inside the guest.
 */
export function guestVcpus(size: GuestSize, accel: Accel): number {
  return accel === 'tcg' ? 1 : size.cpus;
}

export function prepareMicrovmPlan(input: PrepareInput): MicrovmPlan {
  const { identity, state, spec } = input;
  const sidecarServices = input.sidecars.flatMap((s) => s.plan.services);
  const ports = relayPorts(sidecarServices);
  const limits = agentLimits(input.bottle.runtime);
  const plan: MicrovmPlan = {
    backend: 'microvm',
    identity,
    home: input.settings.home,
    state,
    agentImage: input.agentImage,
    buildEgress: proposedBuildEgress(input),
    copyCwd: spec.copyCwd,
    agentTrees: agentTrees(input),
    resuming: input.resuming,
    limits,
    guest: guestSize(limits),
    agentEnv: agentEnv(input),
    secretEnvNames: Object.keys(input.env.secrets).sort(),
    agentFiles: agentFiles(input),
    agentTrust: agentTrust(input.sidecars),
    bundleServices: [...sidecarServices, relayService(ports)],
    sidecarMounts: input.sidecars.map((s) => ({ hostDir: s.hostDir, bundleDir: s.bundleDir })),
    bundleSecrets: Object.assign({}, ...input.sidecars.map((s) => s.plan.bundleSecrets)) as Record<string, string>,
    forwardedPorts: ports,
    sidecars: input.sidecars,
    describe: () => ({
      backend: 'microvm',
      identity,
      bottle: input.bottle.name,
      provider: input.agentImage.provider,
      agent_image: input.agentImage.kind === 'snapshot' ? input.agentImage.tag : `${input.agentImage.repository} (from ${input.agentImage.source}), as the guest's root disk`,
      guest: { ...plan.guest, kernel: 'Debian linux-image-cloud-amd64', machine: 'QEMU microvm' },
      accelerator: 'chosen at build: KVM when a probe guest boots under it, else software emulation (TCG)',
      copy_cwd: plan.copyCwd ?? null,
      limits,
      network: `QEMU user-mode, restricted: only bundle ports ${ports.join(', ')} at ${BUNDLE_GUEST_ADDR}, through the bundle's relay`,
      env: Object.keys(plan.agentEnv).sort(),
      secret_env: plan.secretEnvNames,
      bundle_services: plan.bundleServices.map((s) => s.name),
      bundle_secrets: Object.keys(plan.bundleSecrets).sort(),
      agent_files: plan.agentFiles.map((f) => f.path),
      agent_trees: plan.agentTrees.map((t) => `${t.what} -> ${t.at} (${t.entries.filter((e) => e.kind === 'file').length} files)`),
      provider_setup: input.providerSetup.describe,
      agent_trust: plan.agentTrust.map((t) => t.agentPath),
      sidecars: Object.fromEntries(input.sidecars.map((s) => [s.name, s.plan.describe])),
      state_dir: state.dir,
      resuming: plan.resuming,
    }),
  };
  return Object.freeze(plan);
}
