/**
 * A command over the kept workspace of a bottle whose agent is not running
 * (`stop --preserve`): a throwaway container of our own bundle image (it has
 * git; the agent's image may have been changed by the agent's proposals),
 * the workspace volume mounted read-only, no network, no capabilities, the
 * agent's uid (the files' owner, so git trusts the repository), removed
 * afterwards. Nothing of the agent's is mounted on the host.
 */
import { PassThrough } from 'node:stream';
import type { ExecIO } from '../../bottle/backend.js';
import { AGENT } from '../../bottle/layout.js';
import { BottleError } from '../../errors.js';
import { silentProgress } from '../../progress.js';
import type { Settings } from '../../settings.js';
import { homeDirs } from '../../bottle/state.js';
import { type Engine, engineFailure, isNotFound, labels } from './engine.js';
import { ensureImage } from './images.js';
import { bottleNames } from './names.js';
import { bundleImageRecipe } from './plan.js';
import { chooseRuntime } from './runtime-probe.js';

export async function execOnKeptWorkspace(engine: Engine, settings: Settings, identity: string, argv: readonly string[], io: ExecIO): Promise<number> {
  const volume = bottleNames(identity).workspaceVolume;
  try {
    await engine.getVolume(volume).inspect();
  } catch (e) {
    if (isNotFound(e)) {
      throw new BottleError('not-found', `${identity} is not running and kept no workspace`, { fix: 'only a bottle stopped with `stop --preserve` keeps its workspace; see `bot-bottle list`' });
    }
    throw engineFailure('reading the workspace volume', e);
  }
  return runThrowaway(engine, settings, { cmd: [...argv], mounts: [{ Type: 'volume', Source: volume, Target: AGENT.workspace, ReadOnly: true }], tmpfs: {} }, io);
}

/** Where the disk is bound in the throwaway container (read-only, as a file). */
const DISK_IN_CONTAINER = '/run/bot-bottle-workspace.ext4';

/**
 * The same over a micro-VM's kept workspace disk (ext4): the disk is bound
 * read-only as a plain file, never mounted as a file system (on the host or
 * in the container); debugfs copies its tree into a tmpfs at the workspace
 * path, owned by the agent's uid, and the command runs there. What the
 * command changes dies with the container; the disk is never written.
 */
export async function execOverWorkspaceDisk(engine: Engine, settings: Settings, disk: string, argv: readonly string[], io: ExecIO): Promise<number> {
  const copy = [
    `[ -r "$0" ] || { echo "cannot read the kept workspace disk" >&2; exit 125; }`,
    `command -v debugfs >/dev/null || { echo "the bundle image has no debugfs (e2fsprogs) to read the disk with" >&2; exit 125; }`,
    `debugfs -R "rdump / ${AGENT.workspace}" "$0" 2>/tmp/debugfs.err`,
    // debugfs reports a disk it cannot open and carries on: that is a failure here. (Its chown warnings are not.)
    `if grep -q -e "while trying to open" -e "not open" /tmp/debugfs.err; then tail -n 2 /tmp/debugfs.err >&2; exit 125; fi`,
    `rm -f /tmp/debugfs.err`,
    'exec "$@"',
  ].join('\n');
  return runThrowaway(
    engine,
    settings,
    {
      cmd: ['sh', '-c', copy, DISK_IN_CONTAINER, ...argv],
      mounts: [{ Type: 'bind', Source: disk, Target: DISK_IN_CONTAINER, ReadOnly: true }],
      tmpfs: { [AGENT.workspace]: `rw,nosuid,nodev,noexec,size=8g,mode=0755,uid=${AGENT_UID},gid=${AGENT_UID}` },
    },
    io,
  );
}

/** The agent's uid and gid in every agent image (the files' owner, so git trusts the repository). */
const AGENT_UID = 1000;

interface Throwaway {
  readonly cmd: string[];
  readonly mounts: { Type: 'volume' | 'bind'; Source: string; Target: string; ReadOnly: boolean }[];
  readonly tmpfs: Record<string, string>;
}

/** A container of our bundle image: no network, no capabilities, read-only root, the agent's uid; removed afterwards. */
async function runThrowaway(engine: Engine, settings: Settings, t: Throwaway, io: ExecIO): Promise<number> {
  const image = await ensureImage(engine, bundleImageRecipe(), silentProgress, settings.hostCaBundle ? { hostCaBundle: settings.hostCaBundle } : {});
  const { runtime } = await chooseRuntime(engine, homeDirs(settings.home).runtimeProbe, image, silentProgress);
  const container = await engine.createContainer({
    Image: image,
    Labels: labels(undefined, 'probe', settings.home),
    Entrypoint: [],
    Cmd: t.cmd,
    User: `${AGENT_UID}:${AGENT_UID}`,
    Env: ['HOME=/tmp'],
    WorkingDir: AGENT.workspace,
    AttachStdout: true,
    AttachStderr: true,
    HostConfig: {
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      NetworkMode: 'none',
      Runtime: runtime,
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': 'rw,nosuid,nodev,noexec,size=2g', ...t.tmpfs },
      Mounts: t.mounts,
      PidsLimit: 256,
    },
  });
  try {
    const stream = await container.attach({ stream: true, stdout: true, stderr: true });
    const out = new PassThrough();
    const err = new PassThrough();
    out.pipe(io.stdout, { end: false });
    err.pipe(io.stderr, { end: false });
    engine.modem.demuxStream(stream, out, err);
    const ended = new Promise<void>((resolve) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
    });
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    await ended;
    out.end();
    err.end();
    return StatusCode;
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}
