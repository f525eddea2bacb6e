/**
 * The micro-VM backend: the agent runs in a QEMU `microvm` guest with its
 * own kernel; the sidecar bundle stays a container, exactly as on Docker.
 * What it needs from the container engine (the agent image as a disk, the
 * bundle) comes through two interfaces of bottle/ that the registry fills.
 */
import { existsSync } from 'node:fs';
import type { Backend, DoctorCheck, ExecIO, GitUpstream, PrepareInput, RunningBottle } from '../../bottle/backend.js';
import { agentFileSteps, secretEnvStep, treeStep } from '../../bottle/agent-setup.js';
import { AGENT } from '../../bottle/layout.js';
import type { BundleHost } from '../../bottle/bundle-host.js';
import type { GuestImages, ImageRunConfig } from '../../bottle/guest-images.js';
import { BottleState, listStateIdentities } from '../../bottle/state.js';
import { BottleError } from '../../errors.js';
import type { ResolvedEnv } from '../../manifest/types.js';
import type { Progress } from '../../progress.js';
import type { Settings } from '../../settings.js';
import { hostRelaySocket } from '../../bottle/vm-relay.js';
import { type AccelVerdict, chooseAccel } from './accel.js';
import { AGENT_OWNER, execInGuest, guestOutput, powerOff, removeGuestFiles, runningGuest, runStep, type GuestRecord, vmFiles, vmName, writeRecord } from './bottle.js';
import { microvmDoctor } from './doctor.js';
import { type DiskRecord, pruneRootDisks } from './disks.js';
import { bootGuest, ensureGuestd, ensureRootDisk, prepareDisks, rootDiskDir } from './guest.js';
import { guestVcpus, type MicrovmPlan, prepareMicrovmPlan } from './plan.js';

/** What build made: the bundle image, the guest's root disk and image settings, guestd, the accelerator. */
export interface MicrovmBuild {
  readonly bundleImage: string;
  readonly rootDisk: string;
  readonly image: ImageRunConfig;
  readonly guestd: Buffer;
  readonly accel: AccelVerdict;
}

export class MicrovmBackend implements Backend<MicrovmPlan, MicrovmBuild> {
  readonly name = 'microvm' as const;

  constructor(
    private readonly settings: Settings,
    private readonly bundles: BundleHost,
    private readonly images: GuestImages,
  ) {}

  prepare(input: PrepareInput): Promise<MicrovmPlan> {
    return Promise.resolve(prepareMicrovmPlan(input));
  }

  async build(plan: MicrovmPlan, progress: Progress): Promise<MicrovmBuild> {
    const home = this.settings.home;
    const [agent, guestd, accel] = await Promise.all([
      this.bundles.buildAgentImage(plan.agentImage, { identity: plan.identity, egress: plan.buildEgress }, progress),
      ensureGuestd(home, this.images, progress),
      chooseAccel(home, progress, { mirror: this.settings.debianMirror }),
    ]);
    const [root, image] = await Promise.all([ensureRootDisk(home, this.images, agent, progress), this.images.imageConfig(agent)]);
    await this.pruneDisks(root, progress);
    // Last: on a shared engine a newer build of the bundle recipe prunes older tags, so keep the gap to launch short.
    const bundleImage = await this.bundles.buildBundleImage(progress);
    return { bundleImage, rootDisk: root.path, image, guestd, accel };
  }

  /** Best effort: a disk that cannot be pruned now is pruned at a later start. */
  private async pruneDisks(current: { path: string; record: DiskRecord }, progress: Progress): Promise<void> {
    const home = this.settings.home;
    try {
      const overlays = (await listStateIdentities(home)).map((id) => vmFiles(new BottleState(home, id)).overlay);
      const removed = await pruneRootDisks({ dir: rootDiskDir(home), current, overlays, imageExists: (id) => this.images.imageExists(id) });
      for (const disk of removed) progress.detail(`removed the micro-VM disk of an image no bottle uses any more: ${disk}`);
    } catch (e) {
      progress.detail(`could not prune old micro-VM disks: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  async launch(plan: MicrovmPlan, built: MicrovmBuild, env: ResolvedEnv, progress: Progress): Promise<void> {
    const { identity, state } = plan;
    if (await runningGuest(state)) {
      throw new BottleError('name-in-use', `the micro-VM of ${identity} is already running`, { fix: `bot-bottle stop ${identity}` });
    }
    progress.step(`${plan.resuming ? 'resuming' : 'creating'} bottle ${identity}: a micro-VM with ${built.accel.accel === 'kvm' ? 'KVM' : 'software emulation (TCG, slow: no usable KVM here)'}`);
    const t0 = Date.now();
    const mark = (what: string) => progress.detail(`${what} (+${Date.now() - t0} ms)`);
    const record: GuestRecord = { name: vmName(identity), user: built.image.user, env: guestEnv(built.image, plan), accel: built.accel.accel };
    const files = vmFiles(state);
    try {
      await prepareDisks(files, built.rootDisk, { keep: plan.resuming, owner: AGENT_OWNER });
      await writeRecord(state, record);
      mark('disks ready');
      // The guest boots (the long pole) while the bundle starts; a failure of either undoes both.
      const results = await Promise.allSettled([
        this.bundles
          .launch(
            { identity, backend: 'microvm', state, services: plan.bundleServices, mounts: plan.sidecarMounts, secrets: plan.bundleSecrets, outputs: plan.agentTrust.map((t) => t.hostFile) },
            built.bundleImage,
            progress,
          )
          .then(() => mark('bundle ready')),
        bootGuest({
          home: this.settings.home,
          name: record.name,
          hostname: identity.slice(0, 63),
          accel: built.accel.accel,
          memoryMiB: plan.guest.memoryMiB,
          cpus: guestVcpus(plan.guest, built.accel.accel),
          guestd: built.guestd,
          files,
          owner: AGENT_OWNER,
          limits: plan.limits,
          forwards: plan.forwardedPorts.map((port) => ({ port, command: ['socat', '-', `UNIX-CONNECT:${hostRelaySocket(state, port)}`] })),
          mirror: this.settings.debianMirror,
          progress,
        }).then((r) => mark(`guest ready (kernel ${r.kernelRelease}, QEMU start to exec-ready ${r.readyMs} ms)`)),
      ]);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      for (const tree of plan.agentTrees.filter((t) => t.entries.length > 0)) {
        progress.detail(`copying ${tree.what} into ${tree.at}`);
        await runStep(state, record, treeStep(tree));
      }
      await runStep(state, record, secretEnvStep(env));
      const readSystemBundle = () => guestOutput(state, record, ['cat', AGENT.systemCaBundle]);
      for (const step of await agentFileSteps(plan.agentFiles, plan.agentTrust, readSystemBundle)) await runStep(state, record, step);
      mark('agent trees, env, files and trust store written');
    } catch (e) {
      await this.teardown(identity, { keepWorkspace: plan.resuming }).catch(() => undefined);
      throw e;
    }
  }

  async exec(identity: string, argv: readonly string[], io: ExecIO): Promise<number> {
    return execInGuest(new BottleState(this.settings.home, identity), argv, io);
  }

  /** `export` of a preserved bottle: its kept workspace disk, read in a throwaway sandbox (no guest boots). */
  async execOnKeptWorkspace(identity: string, argv: readonly string[], io: ExecIO): Promise<number> {
    const state = new BottleState(this.settings.home, identity);
    if (await runningGuest(state)) {
      throw new BottleError('usage', `the micro-VM of ${identity} is running: its workspace is read through the bottle`, { fix: `bot-bottle exec ${identity} -- …` });
    }
    const disk = vmFiles(state).workspace;
    if (!existsSync(disk)) {
      throw new BottleError('not-found', `${identity} is not running and kept no workspace`, { fix: 'only a bottle stopped with `stop --preserve` keeps its workspace; see `bot-bottle list`' });
    }
    return this.images.execOverDisk(disk, argv, io);
  }

  async teardown(identity: string, opts: { keepWorkspace: boolean }): Promise<void> {
    const state = new BottleState(this.settings.home, identity);
    await powerOff(state);
    await this.bundles.teardown(identity, { preserving: opts.keepWorkspace });
    await removeGuestFiles(state, opts);
  }

  async list(): Promise<RunningBottle[]> {
    const bundles = new Map((await this.bundles.list('microvm')).map((b) => [b.identity, b]));
    const out: RunningBottle[] = [];
    const identities = new Set([...bundles.keys(), ...(await listStateIdentities(this.settings.home))]);
    for (const identity of identities) {
      const state = new BottleState(this.settings.home, identity);
      const meta = await state.readMetadata().catch(() => undefined);
      const bundle = bundles.get(identity);
      if (meta?.backend !== 'microvm' && !bundle) continue;
      const services: Record<string, string> = { ...bundle?.services };
      const files = vmFiles(state);
      if (await runningGuest(state)) services.agent = 'running';
      else if (existsSync(files.overlay)) services.agent = 'exited';
      // The workspace disk is the work a stopped bottle keeps (the volume on Docker).
      if (existsSync(files.workspace)) services['volume-workspace'] = 'present';
      if (Object.keys(services).length === 0) continue;
      out.push({ identity, backend: 'microvm', services, createdAt: bundle?.createdAt ?? (meta ? new Date(meta.started_at) : undefined) });
    }
    return out;
  }

  commit(identity: string): Promise<void> {
    return Promise.reject(
      new BottleError('usage', `commit is not supported on the microvm backend (bottle ${identity})`, {
        fix: `make the change in the bottle's Dockerfile (or propose it through supervise), or run the bottle with --backend docker`,
      }),
    );
  }

  async doctor(opts: { network: boolean }): Promise<DoctorCheck[]> {
    return microvmDoctor(this.settings, opts);
  }

  demoGitUpstream(alias: string, progress: Progress): Promise<GitUpstream> {
    return this.bundles.demoGitUpstream(alias, progress);
  }
}

/** The agent's environment in the guest: the image's ENV, then the bottle's (as Docker merges them). */
function guestEnv(image: ImageRunConfig, plan: MicrovmPlan): Record<string, string> {
  const env: Record<string, string> = {};
  for (const kv of image.env) {
    const at = kv.indexOf('=');
    if (at > 0) env[kv.slice(0, at)] = kv.slice(at + 1);
  }
  return { ...env, HOSTNAME: plan.identity.slice(0, 63), ...plan.agentEnv };
}
