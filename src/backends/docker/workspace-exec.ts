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
  const image = await ensureImage(engine, bundleImageRecipe(), silentProgress, settings.hostCaBundle ? { hostCaBundle: settings.hostCaBundle } : {});
  const { runtime } = await chooseRuntime(engine, homeDirs(settings.home).runtimeProbe, image, silentProgress);
  const container = await engine.createContainer({
    Image: image,
    Labels: labels(undefined, 'probe', settings.home),
    Entrypoint: [],
    Cmd: [...argv],
    User: '1000:1000',
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
      Tmpfs: { '/tmp': 'rw,nosuid,nodev,noexec,size=2g' },
      Mounts: [{ Type: 'volume', Source: volume, Target: AGENT.workspace, ReadOnly: true }],
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
