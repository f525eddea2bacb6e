/**
 * *Launch*: create the bottle's resources from a plan. Create, check, or
 * undo: any failure after the first resource exists removes everything with
 * the bottle's label and rethrows the original error.
 */
import { chown, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResolvedEnv } from '../../manifest/types.js';
import { BottleError } from '../../errors.js';
import type { Progress } from '../../progress.js';
import { AGENT_UID, shellEnvFile } from '../../bottle/agent-setup.js';
import { AGENT, BUNDLE_HEARTBEAT_PORT, BUNDLE_HOST, BUNDLE_RUN_DIR, BUNDLE_SECRETS_STDIN_ENV, inBundle } from '../../bottle/layout.js';
import { extract } from 'tar-stream';
import type { AgentFile, BundleServiceSpec } from '../../bottle/sidecar.js';
import type { BackendName } from '../../bottle/spec.js';
import { createBottleNetwork } from './networks.js';
import { type BottleState, writeSecretFile } from '../../bottle/state.js';
import { type TarEntry, tarStream } from '../../bottle/tar.js';
import { type Engine, engineFailure, isConflict, labels, LABEL_IDENTITY } from './engine.js';
import { execOutput, execWithInput } from './exec.js';
import type { BottleNames } from './names.js';
import { bundleLimits, type DockerPlan } from './plan.js';
import type { ContainerRuntime } from './runtime-probe.js';
import { teardownBottle } from './teardown.js';
import { BundleWatch } from './readiness.js';
import { type ContextFile, contextTar } from './images.js';
import type { Container } from 'dockerode';

const BUNDLE_UID = 10001;
const HARDENING = { CapDrop: ['ALL'], SecurityOpt: ['no-new-privileges'], Init: true };

/** What build made for a launch: the image tags and the container runtime that passed its probe. */
export interface DockerBuild {
  readonly agentImage: string;
  readonly bundleImage: string;
  readonly runtime: ContainerRuntime;
  /** The launch's first resources, begun alongside the images (see beginLaunch). */
  readonly early?: EarlyLaunch;
}

/** The orphan check, and once it passed the bottle's networks and workspace volume being created. */
export interface EarlyLaunch {
  readonly clear: Promise<void>;
  readonly made: Promise<void>;
}

/**
 * What a launch makes first needs no image: the build starts it, so the
 * engine creates the networks (hundreds of ms of iptables work) while the
 * images are checked. A build that then fails calls abandonLaunch.
 */
export function beginLaunch(engine: Engine, plan: DockerPlan): EarlyLaunch {
  const clear = refuseOrphans(engine, plan.identity);
  const made = clear.then(() => createBundleNetworks(engine, plan, plan.resuming ? Promise.resolve() : createWorkspaceVolume(engine, plan)));
  clear.catch(() => undefined); // awaited by the launch, or by abandonLaunch
  made.catch(() => undefined);
  return { clear, made };
}

/** The build failed: remove what beginLaunch made (nothing, when the orphan check refused: those are not ours). */
export async function abandonLaunch(engine: Engine, plan: DockerPlan, early: EarlyLaunch): Promise<void> {
  if (!(await early.clear.then(() => true, () => false))) return;
  await early.made.catch(() => undefined);
  await teardownBottle(engine, plan.identity, { keepWorkspace: plan.resuming }).catch(() => undefined);
}

export async function launchBottle(engine: Engine, plan: DockerPlan, built: DockerBuild, env: ResolvedEnv, progress: Progress): Promise<void> {
  const early = built.early ?? beginLaunch(engine, plan);
  await early.clear; // orphans are refused, not removed
  try {
    await createAndStart(engine, plan, built, env, progress, early.made);
  } catch (e) {
    await early.made.catch(() => undefined); // a network still being created must exist for the teardown to find it
    await teardownBottle(engine, plan.identity, { keepWorkspace: plan.resuming }).catch(() => undefined);
    throw e instanceof BottleError ? e : engineFailure(`launching ${plan.identity}`, e);
  }
}

/** A leftover container or network of this identity is an orphan: say how to remove it. */
async function refuseOrphans(engine: Engine, identity: string): Promise<void> {
  const filters = JSON.stringify({ label: [`${LABEL_IDENTITY}=${identity}`] });
  const [containers, networks] = await Promise.all([engine.listContainers({ all: true, filters }), engine.listNetworks({ filters })]);
  if (containers.length > 0 || networks.length > 0) {
    const what = [...containers.map((c) => (c.Names[0] ?? c.Id).replace(/^\//, '')), ...networks.map((n) => n.Name)].join(', ');
    throw new BottleError('name-in-use', `bottle ${identity} already has engine resources (${what})`, {
      fix: `bot-bottle stop ${identity}   (or remove every orphan: bot-bottle cleanup --yes)`,
    });
  }
}

/** What the sidecar bundle needs from a plan: a Docker plan, or a micro-VM bottle's bundle (see BundleHost). */
export interface BundleParts {
  readonly identity: string;
  readonly backend: BackendName;
  readonly names: BottleNames;
  readonly home: string;
  readonly state: BottleState;
  readonly bundleServices: readonly BundleServiceSpec[];
  readonly sidecarMounts: readonly { readonly hostDir: string; readonly bundleDir: string }[];
  readonly bundleSecrets: Readonly<Record<string, string>>;
  /** Host files the running sidecars write that a launch reads (trust files): removed before it starts. */
  readonly outputs: readonly string[];
}

/**
 * The bundle's networks, and `alongside` (created with them). Every creation
 * has ended when this settles, so a teardown after a failure finds them all.
 */
export async function createBundleNetworks(engine: Engine, p: Pick<BundleParts, 'names' | 'identity' | 'home' | 'backend'>, alongside: Promise<void> = Promise.resolve()): Promise<void> {
  const { names, identity } = p;
  const settled = await Promise.allSettled([
    // No route out and, with inhibit_ipv4, no host address on the bridge:
    // the agent cannot reach services listening on the host (HOST-NOTES).
    createBottleNetwork(engine, {
      Name: names.internalNetwork,
      Driver: 'bridge',
      Internal: true,
      CheckDuplicate: true,
      Options: { 'com.docker.network.bridge.inhibit_ipv4': 'true' },
      Labels: labels(identity, 'network-internal', p.home, p.backend),
    }),
    createBottleNetwork(engine, { Name: names.egressNetwork, Driver: 'bridge', CheckDuplicate: true, Labels: labels(identity, 'network-egress', p.home, p.backend) }),
    alongside,
  ]);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed === undefined) return;
  const e: unknown = failed.reason;
  throw isConflict(e) ? new BottleError('name-in-use', `an engine resource named for ${identity} already exists`, { fix: 'bot-bottle cleanup --yes' }) : e;
}

/**
 * The bundle's container, started with its secrets handed over, once
 * `networks` (createBundleNetworks, begun by the caller) exist. Resolves to a
 * watch on it (readiness, files its sidecars write); the caller closes it.
 */
export async function startBundle(engine: Engine, p: BundleParts, image: string, progress: Progress, networks: Promise<void>): Promise<{ up: Promise<BundleWatch> }> {
  const { names, identity } = p;
  const mark = (what: string) => progress.detail(what);
  const bundleDir = p.state.service('bundle');
  await mkdir(bundleDir, { recursive: true, mode: 0o700 });
  const healthFile = p.state.file('bundle', 'health');
  await writeSecretFile(
    p.state.file('bundle', 'config'),
    JSON.stringify({ identity, healthFile: inBundle('bundle', 'health'), services: p.bundleServices }, null, 2) + '\n',
  );
  const bundleUser = await bundleUserFor([bundleDir, ...p.sidecarMounts.map((m) => m.hostDir)]);
  const limits = bundleLimits();

  await networks;
  mark('networks created');
  // The bundle is created and boots (its sidecars take the longest) while the
  // caller creates and starts its agent: the networks are all the agent needs.
  const up = (async () => {
    // The health report and the trust files the running sidecars write (the
    // egress CA) are outputs of this launch: ones left by an earlier run of this
    // bottle (resume) must not be read as this bundle's.
    await Promise.all([healthFile, ...p.outputs].map((f) => rm(f, { force: true })));
    const bundle = await engine.createContainer({
      name: names.bundle,
      Image: image,
      Labels: labels(identity, 'bundle', p.home, p.backend),
      Env: [
        `BOT_BOTTLE_BUNDLE_CONFIG=${inBundle('bundle', 'config')}`,
        `BOT_BOTTLE_HEALTH_FILE=${inBundle('bundle', 'health')}`,
        `BOT_BOTTLE_HEARTBEAT_PORT=${BUNDLE_HEARTBEAT_PORT}`,
        `${BUNDLE_SECRETS_STDIN_ENV}=1`,
      ],
      // The secrets arrive on the init's stdin (see writeBundleSecrets).
      OpenStdin: true,
      StdinOnce: true,
      AttachStdin: true,
      ...(bundleUser ? { User: bundleUser } : {}),
      HostConfig: {
        ...HARDENING,
        NetworkMode: names.internalNetwork,
        ReadonlyRootfs: true,
        // /tmp holds mirrors, minted certificates and the secrets: memory only.
        Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=512m' },
        Binds: [
          `${bundleDir}:${BUNDLE_RUN_DIR}:rw`,
          ...p.sidecarMounts.map((m) => `${m.hostDir}:${m.bundleDir}:rw`),
          // ssh refuses to run for a uid with no passwd entry: give the invoking user's uid one.
          ...(bundleUser ? [`${await passwdFor(p.state.file('bundle', 'passwd'), bundleUser)}:/etc/passwd:ro`] : []),
        ],
        // Limits of its own (bundleLimits, in the plan's description too): the init reports a sidecar killed for memory as that.
        PidsLimit: limits.pids,
        ...(limits.memoryBytes ? { Memory: limits.memoryBytes, MemorySwap: limits.memoryBytes } : {}),
        ...(limits.nanoCpus ? { NanoCpus: limits.nanoCpus } : {}),
      },
      NetworkingConfig: { EndpointsConfig: { [names.internalNetwork]: { Aliases: [BUNDLE_HOST] } } },
    });
    await engine.getNetwork(names.egressNetwork).connect({ Container: bundle.id });
    const stdin = await bundle.attach({ stream: true, stdin: true, stdout: false, stderr: false, hijack: true });
    await bundle.start();
    mark('bundle started');
    await writeBundleSecrets(stdin, p);
    mark('bundle secrets handed over');
    return new BundleWatch(bundle, identity, names.bundle, healthFile, progress);
  })();
  up.catch(() => undefined); // awaited by the caller; a failure must not surface as unhandled first
  return { up };
}

/** The bundle alone (for a micro-VM agent): create, check, or undo. */
export async function launchBundle(engine: Engine, p: BundleParts, image: string, progress: Progress): Promise<void> {
  await refuseOrphans(engine, p.identity);
  try {
    const { up } = await startBundle(engine, p, image, progress, createBundleNetworks(engine, p));
    const watch = await up;
    try {
      await watch.ready();
      progress.detail('bundle ready');
    } finally {
      watch.close();
    }
  } catch (e) {
    await teardownBottle(engine, p.identity, { keepWorkspace: true }).catch(() => undefined);
    throw e instanceof BottleError ? e : engineFailure(`launching the bundle of ${p.identity}`, e);
  }
}

async function createAndStart(engine: Engine, plan: DockerPlan, built: DockerBuild, env: ResolvedEnv, progress: Progress, networks: Promise<void>): Promise<void> {
  const { identity } = plan;
  progress.step(plan.resuming ? `resuming bottle ${identity} with its workspace` : `creating bottle ${identity}`);
  const parts: BundleParts = { ...plan, outputs: plan.agentTrust.map((t) => t.hostFile) };
  const { up } = await startBundle(engine, parts, built.bundleImage, progress, networks);

  try {
    await startAgent(engine, plan, built, env, up, progress);
  } catch (e) {
    // Whatever failed, the bundle's creation may still be under way: let it end, so the teardown that follows finds it.
    await up.then((w) => w.close(), () => undefined);
    throw e;
  }
}

async function startAgent(engine: Engine, plan: DockerPlan, built: DockerBuild, env: ResolvedEnv, up: Promise<BundleWatch>, progress: Progress): Promise<void> {
  const { names, identity } = plan;
  const mark = (what: string) => progress.detail(what);
  const agent = await engine.createContainer({
    name: names.agent,
    Image: built.agentImage,
    Labels: labels(identity, 'agent', plan.home, plan.backend),
    Hostname: identity.slice(0, 63),
    Env: Object.entries(plan.agentEnv).map(([k, v]) => `${k}=${v}`),
    WorkingDir: AGENT.workspace,
    HostConfig: {
      ...HARDENING,
      NetworkMode: names.internalNetwork,
      Runtime: built.runtime,
      Mounts: [{ Type: 'volume', Source: names.workspaceVolume, Target: AGENT.workspace }],
      // Secrets live here, in memory only, readable by the agent user alone.
      Tmpfs: { [AGENT.runDir]: 'rw,nosuid,nodev,noexec,size=4m,uid=1000,gid=1000,mode=0700' },
      PidsLimit: plan.limits.pids,
      ...(plan.limits.memoryBytes ? { Memory: plan.limits.memoryBytes, MemorySwap: plan.limits.memoryBytes } : {}),
      ...(plan.limits.nanoCpus ? { NanoCpus: plan.limits.nanoCpus } : {}),
    },
  });
  // Read from the image before the agent runs: no exec needed for it afterwards.
  const systemCas = plan.agentTrust.length > 0 ? readImageFile(agent, AGENT.systemCaBundle) : Promise.resolve(undefined);
  systemCas.catch(() => undefined);
  await writeAgentTrees(agent, plan, progress);
  await agent.start();
  mark('agent started');
  const files = splitAgentFiles(plan);
  const watching = up;
  try {
    await Promise.all([
      watching.then((w) => w.ready()).then(() => mark('bundle ready')),
      writeAgentSecrets(engine, plan, env).then(() => mark('agent env written')),
      writeAgentFiles(engine, plan, 'agent', files.agent).then(() => mark('agent files written')),
      // The CA is written as soon as the proxy has it, before every sidecar is ready.
      installTrust(engine, plan, files.root, systemCas, watching).then(() => mark('trust store and root files written')),
    ]);
  } finally {
    watching.then((w) => w.close(), () => undefined);
  }
}

/** Secrets reach the bundle's tmpfs over the init's stdin: never argv, never the host disk. */
async function writeBundleSecrets(stdin: NodeJS.ReadWriteStream, plan: BundleParts): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    stdin.on('error', reject);
    // Half-close: with StdinOnce the engine then closes the init's stdin (EOF).
    stdin.end(JSON.stringify(plan.bundleSecrets), () => resolve());
  });
}

type Owner = AgentFile['owner'];

function splitAgentFiles(plan: DockerPlan): Record<Owner, TarEntry[]> {
  const out: Record<Owner, TarEntry[]> = { root: [], agent: [] };
  for (const f of plan.agentFiles) out[f.owner].push(agentEntry(f.path, Buffer.from(f.content), f.mode));
  return out;
}

/**
 * The agent's files as a tar archive unpacked by `tar` in the agent as their
 * owner (the agent runs without capabilities: root may write only what root
 * owns). Not the engine's archive upload: under gVisor the sandbox does not
 * see files put into its root from outside once it runs.
 */
async function writeAgentFiles(engine: Engine, plan: DockerPlan, owner: Owner, entries: readonly TarEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const archive = await buffer(tarStream(entries));
  const user = owner === 'root' ? '0:0' : `${AGENT_UID}:${AGENT_UID}`;
  await execWithInput(engine, plan.names.agent, ['tar', '-x', '-p', '--no-same-owner', '-f', '-', '-C', '/'], archive, `writing ${entries.map((e) => `/${e.path}`).join(', ')}`, user);
}

/**
 * Each sidecar CA joins the agent's trust store: the system bundle (curl,
 * git, Python, OpenSSL) gets it appended; Node reads NODE_EXTRA_CA_CERTS.
 * One root archive with the agent's root-owned files, once every CA exists.
 */
async function installTrust(engine: Engine, plan: DockerPlan, rootFiles: TarEntry[], systemCas: Promise<Buffer | undefined>, watching: Promise<BundleWatch>): Promise<void> {
  const entries = [...rootFiles];
  if (plan.agentTrust.length > 0) {
    const cas = await Promise.all(plan.agentTrust.map(async (t) => ({ t, pem: await (await watching).file(t.hostFile, `${t.agentPath} written`) })));
    for (const { t, pem } of cas) entries.push(agentEntry(t.agentPath, pem, 0o644));
    // A bundle that is not a plain file in the image (a symlink, none): read it as the running agent sees it.
    const system = (await systemCas.catch(() => undefined)) ?? (await execOutput(engine, plan.names.agent, ['cat', AGENT.systemCaBundle], '0:0').catch(() => Buffer.alloc(0)));
    entries.push(agentEntry(AGENT.systemCaBundle, Buffer.concat([system, ...cas.map((c) => c.pem)]), 0o644));
  }
  await writeAgentFiles(engine, plan, 'root', entries);
}

/** A regular file of a created container's image, or undefined when it is not one. */
async function readImageFile(container: Container, path: string): Promise<Buffer | undefined> {
  const archive = await container.getArchive({ path });
  return new Promise<Buffer | undefined>((resolve, reject) => {
    const ex = extract();
    let found: Buffer | undefined;
    ex.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => void chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c))));
      stream.on('end', () => {
        if (found === undefined && header.type === 'file') found = Buffer.concat(chunks);
        next();
      });
      stream.resume();
    });
    ex.on('finish', () => resolve(found));
    ex.on('error', reject);
    archive.on('error', reject);
    archive.pipe(ex);
  });
}

function agentEntry(path: string, data: Buffer, mode: number): TarEntry {
  return { type: 'file', path: path.replace(/^\/+/, ''), mode, data };
}

async function buffer(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  return Buffer.concat(chunks);
}

const AGENT_OWNER = { uid: AGENT_UID, gid: AGENT_UID } as const;

/**
 * Skills and the `--cwd` workspace, as tars into the created (not yet
 * started) agent: the workspace lands in its volume, never in an image layer.
 */
async function writeAgentTrees(agent: Container, plan: DockerPlan, progress: Progress): Promise<void> {
  for (const tree of plan.agentTrees) {
    if (tree.entries.length === 0) continue;
    progress.detail(`copying ${tree.what} into ${tree.at}`);
    const files: ContextFile[] = tree.entries.map((e) =>
      e.kind === 'dir'
        ? { type: 'dir', path: e.path, mode: e.mode }
        : e.kind === 'symlink'
          ? { type: 'symlink', path: e.path, mode: e.mode, target: e.target ?? '' }
          : e.content !== undefined
            ? { type: 'file', path: e.path, mode: e.mode, data: e.content }
            : { type: 'file', path: e.path, mode: e.mode, source: e.source ?? '' },
    );
    await agent.putArchive(contextTar(files, AGENT_OWNER), { path: tree.at });
  }
}

async function createWorkspaceVolume(engine: Engine, plan: DockerPlan): Promise<void> {
  await engine.createVolume({ Name: plan.names.workspaceVolume, Labels: labels(plan.identity, 'volume-workspace', plan.home, plan.backend) });
}

/** As root, hand the bundle its folders; otherwise run the bundle as the invoking user. */
async function bundleUserFor(dirs: readonly string[]): Promise<string | undefined> {
  const uid = process.getuid?.();
  if (uid === 0) {
    for (const d of dirs) await chownTree(d, BUNDLE_UID);
    return undefined;
  }
  return uid === undefined ? undefined : `${uid}:${process.getgid?.() ?? uid}`;
}

async function passwdFor(path: string, user: string): Promise<string> {
  const [uid, gid] = user.split(':');
  await writeSecretFile(path, `root:x:0:0:root:/root:/usr/sbin/nologin\nbundle:x:${uid}:${gid}:bot-bottle bundle:/tmp:/usr/sbin/nologin\n`, 0o644);
  return path;
}

async function chownTree(path: string, uid: number): Promise<void> {
  await chown(path, uid, uid);
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const p = join(path, entry.name);
    if (entry.isDirectory()) await chownTree(p, uid);
    else await chown(p, uid, uid);
  }
}

async function writeAgentSecrets(engine: Engine, plan: DockerPlan, env: ResolvedEnv): Promise<void> {
  // Always written (possibly empty) so the prelude's file exists; content via stdin, never argv.
  await execWithInput(engine, plan.names.agent, ['sh', '-c', `umask 077; cat > ${AGENT.secretEnv}`], shellEnvFile(env.secrets), 'writing the secret env file');
}
