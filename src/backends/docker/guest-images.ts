/**
 * GuestImages over the Engine API (see bottle/guest-images.ts): images turned
 * into disks for the micro-VM backend. The conversion runs in a throw-away
 * container of the base image (root inside it, so ownership, modes and file
 * capabilities survive for any host user; no network), fed the image's
 * exported file system on stdin; the disk lands in a host folder mounted in.
 */
import { basename, dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { ExecIO } from '../../bottle/backend.js';
import type { GuestImages, ImageRunConfig } from '../../bottle/guest-images.js';
import { BottleError } from '../../errors.js';
import { packageRoot } from '../../paths.js';
import type { Progress } from '../../progress.js';
import type { Settings } from '../../settings.js';
import { BASE_IMAGE, ensureBaseImage } from './base-image.js';
import { connectEngine, type Engine, engineFailure, isNotFound, labels } from './engine.js';
import { ensureImage } from './images.js';
import { runOnce } from './run-once.js';
import { execOverWorkspaceDisk } from './workspace-exec.js';

export class DockerGuestImages implements GuestImages {
  private engine: Engine | undefined;
  constructor(private readonly settings: Settings) {}

  private async connect(): Promise<Engine> {
    this.engine ??= await connectEngine();
    return this.engine;
  }

  async imageExists(image: string): Promise<boolean> {
    const engine = await this.connect();
    try {
      await engine.getImage(image).inspect();
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw engineFailure(`inspecting ${image}`, e);
    }
  }

  async imageConfig(image: string): Promise<ImageRunConfig> {
    const engine = await this.connect();
    try {
      const info = await engine.getImage(image).inspect();
      return { id: info.Id, env: info.Config.Env ?? [], user: info.Config.User ?? '', workdir: info.Config.WorkingDir ?? '' };
    } catch (e) {
      throw engineFailure(`inspecting ${image}`, e);
    }
  }

  async exportDisk(image: string, outFile: string, sizeMiB: number, progress: Progress): Promise<void> {
    const engine = await this.connect();
    await ensureBaseImage(engine, this.settings, progress);
    progress.step(`turning ${image} into a micro-VM disk (once per image)`);
    const uid = process.getuid?.() ?? 0;
    const gid = process.getgid?.() ?? 0;
    const name = basename(outFile);
    const script = [
      'set -e',
      'mkdir /r',
      'tar -x -p -C /r --numeric-owner --xattrs --xattrs-include="*" -f -',
      // Docker's own files in an exported container are not the image's.
      'rm -f /r/.dockerenv',
      `mke2fs -q -F -t ext4 -L bb-root -E root_owner=0:0 -d /r "/out/${name}.tmp" ${sizeMiB}M`,
      `chown ${uid}:${gid} "/out/${name}.tmp"`,
      `mv "/out/${name}.tmp" "/out/${name}"`,
    ].join(' && ');
    const source = await engine.createContainer({ Image: image, Cmd: ['true'], Entrypoint: [], Labels: labels(undefined, 'probe'), HostConfig: { NetworkMode: 'none' } });
    const tool = await engine.createContainer({
      Image: BASE_IMAGE,
      Cmd: ['sh', '-c', script],
      Entrypoint: [],
      User: '0:0',
      OpenStdin: true,
      StdinOnce: true,
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Labels: labels(undefined, 'probe'),
      HostConfig: { NetworkMode: 'none', Binds: [`${dirname(outFile)}:/out:rw`] },
    });
    try {
      const stream = await tool.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true });
      const log: Buffer[] = [];
      const sink = new PassThrough();
      sink.on('data', (c: Buffer) => log.push(c));
      engine.modem.demuxStream(stream, sink, sink);
      await tool.start();
      const tar = await source.export();
      tar.pipe(stream);
      const result = (await tool.wait()) as { StatusCode?: number };
      if (result.StatusCode !== 0) {
        const why = Buffer.concat(log).toString('utf8').trim().split('\n').slice(-1)[0] ?? '';
        throw new BottleError('image-build', `turning ${image} into a disk failed (exit ${result.StatusCode}): ${why}`, { fix: `df -h ${dirname(outFile)}; docker logs are gone with the helper, rerun with --verbose` });
      }
    } catch (e) {
      throw e instanceof BottleError ? e : engineFailure(`exporting ${image}`, e);
    } finally {
      await Promise.all([source.remove({ force: true }), tool.remove({ force: true })].map((p) => p.catch(() => undefined)));
    }
  }

  async execOverDisk(disk: string, argv: readonly string[], io: ExecIO): Promise<number> {
    return execOverWorkspaceDisk(await this.connect(), this.settings, disk, argv, io);
  }

  async readBuiltFile(dir: string, repository: string, path: string, progress: Progress): Promise<{ image: string; content: Buffer }> {
    const engine = await this.connect();
    await ensureBaseImage(engine, this.settings, progress);
    const caOpts = this.settings.hostCaBundle ? { hostCaBundle: this.settings.hostCaBundle } : {};
    const image = await ensureImage(engine, { repository, dockerfile: 'Dockerfile', context: [{ at: '.', from: join(packageRoot(), 'images', dir) }] }, progress, caOpts);
    const r = await runOnce(engine, { Image: image, Cmd: ['cat', path], Entrypoint: [], Labels: labels(undefined, 'probe'), HostConfig: { NetworkMode: 'none' } });
    if (r.code !== 0) throw new BottleError('image-build', `reading ${path} from ${image} failed: ${r.stderr.toString('utf8').trim()}`);
    return { image, content: r.stdout };
  }
}
