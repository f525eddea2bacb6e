/**
 * *Launch*: create the bottle's resources from a plan. Create, check, or
 * undo: any failure after the first resource exists removes everything with
 * the bottle's label and rethrows the original error.
 */
import { chown, mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResolvedEnv } from '../../manifest/types.js';
import { BottleError } from '../../errors.js';
import type { Progress } from '../../progress.js';
import { AGENT, BUNDLE_HEARTBEAT_PORT, BUNDLE_HOST, BUNDLE_RUN_DIR, BUNDLE_SECRETS_DIR, inBundle } from '../../bottle/layout.js';
import type { AgentFile } from '../../bottle/sidecar.js';
import { createBottleNetwork } from './networks.js';
import { writeSecretFile } from '../../bottle/state.js';
import { type Engine, engineFailure, isConflict, labels, LABEL_IDENTITY } from './engine.js';
import { execOutput, execWithInput, SECRET_ENV_FILE, shellEnvFile } from './exec.js';
import { type TarEntry, tarStream } from './tar.js';
import type { DockerPlan } from './plan.js';
import type { ContainerRuntime } from './runtime-probe.js';
import { teardownBottle } from './teardown.js';
import { type ContextFile, contextTar } from './images.js';
import type { Container } from 'dockerode';

const BUNDLE_UID = 10001;
const AGENT_UID = 1000;
const READY_TIMEOUT_MS = 30_000;

/** What build made for a launch: the image tags and the container runtime that passed its probe. */
export interface DockerBuild {
  readonly agentImage: string;
  readonly bundleImage: string;
  readonly runtime: ContainerRuntime;
}

export async function launchBottle(engine: Engine, plan: DockerPlan, built: DockerBuild, env: ResolvedEnv, progress: Progress): Promise<void> {
  await refuseOrphans(engine, plan);
  try {
    await createAndStart(engine, plan, built, env, progress);
  } catch (e) {
    await teardownBottle(engine, plan.identity, { keepWorkspace: plan.resuming }).catch(() => undefined);
    throw e instanceof BottleError ? e : engineFailure(`launching ${plan.identity}`, e);
  }
}

/** A leftover container or network of this identity is an orphan: say how to remove it. */
async function refuseOrphans(engine: Engine, plan: DockerPlan): Promise<void> {
  const filters = JSON.stringify({ label: [`${LABEL_IDENTITY}=${plan.identity}`] });
  const [containers, networks] = await Promise.all([engine.listContainers({ all: true, filters }), engine.listNetworks({ filters })]);
  if (containers.length > 0 || networks.length > 0) {
    const what = [...containers.map((c) => (c.Names[0] ?? c.Id).replace(/^\//, '')), ...networks.map((n) => n.Name)].join(', ');
    throw new BottleError('name-in-use', `bottle ${plan.identity} already has engine resources (${what})`, {
      fix: `bot-bottle stop ${plan.identity}   (or remove every orphan: bot-bottle cleanup --yes)`,
    });
  }
}

async function createAndStart(engine: Engine, plan: DockerPlan, built: DockerBuild, env: ResolvedEnv, progress: Progress): Promise<void> {
  const { names, identity } = plan;
  progress.step(plan.resuming ? `resuming bottle ${identity} with its workspace` : `creating bottle ${identity}`);
  const t0 = Date.now();
  const mark = (what: string) => progress.detail(`${what} (+${Date.now() - t0} ms)`);
  const bundleDir = plan.state.service('bundle');
  await mkdir(bundleDir, { recursive: true, mode: 0o700 });
  const healthFile = plan.state.file('bundle', 'health');
  await writeSecretFile(
    plan.state.file('bundle', 'config'),
    JSON.stringify({ identity, healthFile: inBundle('bundle', 'health'), services: plan.bundleServices }, null, 2) + '\n',
  );
  const bundleUser = await bundleUserFor([bundleDir, ...plan.sidecarMounts.map((m) => m.hostDir)]);

  await Promise.all([
    // No route out and, with inhibit_ipv4, no host address on the bridge:
    // the agent cannot reach services listening on the host (HOST-NOTES).
    createBottleNetwork(engine, {
      Name: names.internalNetwork,
      Driver: 'bridge',
      Internal: true,
      CheckDuplicate: true,
      Options: { 'com.docker.network.bridge.inhibit_ipv4': 'true' },
      Labels: labels(identity, 'network-internal', plan.home),
    }),
    createBottleNetwork(engine, { Name: names.egressNetwork, Driver: 'bridge', CheckDuplicate: true, Labels: labels(identity, 'network-egress', plan.home) }),
    plan.resuming ? Promise.resolve() : createWorkspaceVolume(engine, plan),
  ]).catch((e: unknown) => {
    throw isConflict(e) ? new BottleError('name-in-use', `an engine resource named for ${identity} already exists`, { fix: 'bot-bottle cleanup --yes' }) : e;
  });

  mark('networks and workspace volume created');
  const hardening = { CapDrop: ['ALL'], SecurityOpt: ['no-new-privileges'], Init: true };
  const bundle = await engine.createContainer({
    name: names.bundle,
    Image: built.bundleImage,
    Labels: labels(identity, 'bundle', plan.home),
    Env: [`BOT_BOTTLE_BUNDLE_CONFIG=${inBundle('bundle', 'config')}`, `BOT_BOTTLE_HEALTH_FILE=${inBundle('bundle', 'health')}`, `BOT_BOTTLE_HEARTBEAT_PORT=${BUNDLE_HEARTBEAT_PORT}`],
    ...(bundleUser ? { User: bundleUser } : {}),
    HostConfig: {
      ...hardening,
      NetworkMode: names.internalNetwork,
      ReadonlyRootfs: true,
      // /tmp holds mirrors, minted certificates and the secrets: memory only.
      Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=512m' },
      Binds: [
        `${bundleDir}:${BUNDLE_RUN_DIR}:rw`,
        ...plan.sidecarMounts.map((m) => `${m.hostDir}:${m.bundleDir}:rw`),
        // ssh refuses to run for a uid with no passwd entry: give the invoking user's uid one.
        ...(bundleUser ? [`${await passwdFor(plan.state.file('bundle', 'passwd'), bundleUser)}:/etc/passwd:ro`] : []),
      ],
      PidsLimit: 512,
    },
    NetworkingConfig: { EndpointsConfig: { [names.internalNetwork]: { Aliases: [BUNDLE_HOST] } } },
  });
  await engine.getNetwork(names.egressNetwork).connect({ Container: bundle.id });
  // The bundle boots (its sidecars take the longest) while the agent is created.
  const bundleStarted = bundle.start();
  bundleStarted.catch(() => undefined); // awaited below; a failure must not surface as unhandled first

  const agent = await engine.createContainer({
    name: names.agent,
    Image: built.agentImage,
    Labels: labels(identity, 'agent', plan.home),
    Hostname: identity.slice(0, 63),
    Env: Object.entries(plan.agentEnv).map(([k, v]) => `${k}=${v}`),
    WorkingDir: AGENT.workspace,
    HostConfig: {
      ...hardening,
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

  await writeAgentTrees(agent, plan, progress);
  mark('containers created');
  await Promise.all([bundleStarted, agent.start()]);
  mark('containers started');
  await Promise.all([
    // Sidecars wait for their secrets (and fail closed until then), so readiness need not.
    writeBundleSecrets(engine, plan).then(() => mark('bundle secrets written')),
    waitBundleReady(healthFile, identity).then(() => mark('bundle ready')),
    writeAgentSecrets(engine, plan, env).then(() => mark('agent env written')),
  ]);
  await writeAgentFiles(engine, plan);
  mark('agent files and trust store written');
}

/** Secrets reach the bundle's tmpfs over an exec's stdin: never argv, never the host disk. */
async function writeBundleSecrets(engine: Engine, plan: DockerPlan): Promise<void> {
  const names = Object.keys(plan.bundleSecrets);
  if (names.length === 0) return;
  const script =
    "const fs=require('fs');let b='';process.stdin.on('data',d=>b+=d).on('end',()=>{const s=JSON.parse(b);" +
    `fs.mkdirSync('${BUNDLE_SECRETS_DIR}',{recursive:true,mode:0o700});` +
    `for(const[k,v]of Object.entries(s)){const t='${BUNDLE_SECRETS_DIR}/.'+k+'.tmp';fs.writeFileSync(t,v,{mode:0o600});fs.renameSync(t,'${BUNDLE_SECRETS_DIR}/'+k)}})`;
  await execWithInput(engine, plan.names.bundle, ['node', '-e', script], JSON.stringify(plan.bundleSecrets), 'writing the bundle secrets');
}

/**
 * The agent's files as tar archives, one per owner, unpacked by `tar` in the
 * agent as that owner (the agent runs without capabilities: root may write
 * only what root owns). Not the engine's archive upload: under gVisor the
 * sandbox does not see files put into its root from outside.
 */
async function writeAgentFiles(engine: Engine, plan: DockerPlan): Promise<void> {
  const files: { entry: TarEntry; owner: AgentFile['owner'] }[] = plan.agentFiles.map((f) => ({ entry: agentEntry(f.path, Buffer.from(f.content), f.mode), owner: f.owner }));
  if (plan.agentTrust.length > 0) {
    // Each sidecar CA joins the agent's trust store: the system bundle (curl,
    // git, Python, OpenSSL) gets it appended; Node reads NODE_EXTRA_CA_CERTS.
    const cas = await Promise.all(plan.agentTrust.map(async (t) => ({ t, pem: await readFile(t.hostFile) })));
    for (const { t, pem } of cas) files.push({ entry: agentEntry(t.agentPath, pem, 0o644), owner: 'root' });
    const system = await execOutput(engine, plan.names.agent, ['cat', AGENT.systemCaBundle], '0:0').catch(() => Buffer.alloc(0));
    files.push({ entry: agentEntry(AGENT.systemCaBundle, Buffer.concat([system, ...cas.map((c) => c.pem)]), 0o644), owner: 'root' });
  }
  for (const owner of ['root', 'agent'] as const) {
    const mine = files.filter((f) => f.owner === owner).map((f) => f.entry);
    if (mine.length === 0) continue;
    const archive = await buffer(tarStream(mine));
    const user = owner === 'root' ? '0:0' : `${AGENT_UID}:${AGENT_UID}`;
    await execWithInput(engine, plan.names.agent, ['tar', '-x', '-p', '--no-same-owner', '-f', '-', '-C', '/'], archive, `writing ${mine.map((e) => `/${e.path}`).join(', ')}`, user);
  }
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
  await engine.createVolume({ Name: plan.names.workspaceVolume, Labels: labels(plan.identity, 'volume-workspace', plan.home) });
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
  await execWithInput(engine, plan.names.agent, ['sh', '-c', `umask 077; cat > ${SECRET_ENV_FILE}`], shellEnvFile(env.secrets), 'writing the secret env file');
}

interface Health {
  ready?: boolean;
  services?: Record<string, { state?: string; lastExit?: unknown }>;
}

async function waitBundleReady(healthFile: string, identity: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last: Health | undefined;
  while (Date.now() < deadline) {
    try {
      last = JSON.parse(await readFile(healthFile, 'utf8')) as Health;
      if (last.ready === true) return;
    } catch {
      // not written yet, or mid-rename
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  const states = last?.services ? Object.entries(last.services).map(([n, s]) => `${n}=${s.state ?? '?'}`).join(' ') : 'no health report';
  throw new BottleError('launch', `sidecar bundle of ${identity} not ready after ${READY_TIMEOUT_MS / 1000} s (${states})`, {
    fix: `docker logs bot-bottle-${identity}-bundle`,
  });
}
