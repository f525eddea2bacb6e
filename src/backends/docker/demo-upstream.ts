/**
 * The demo's git upstream: an SSH server with one bare repository, in a
 * container of its own, joined to a bottle's egress network so that only
 * that bottle's sidecar bundle can reach it. Its host key is read once it
 * runs, for the bottle's pinned `host_key`.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { packageRoot } from '../../paths.js';
import type { Progress } from '../../progress.js';
import type { GitUpstream } from '../../bottle/backend.js';
import { connectEngine, type Engine, labels } from './engine.js';
import { ensureImage } from './images.js';
import { bottleNames } from './names.js';

const execFileP = promisify(execFile);

export type { GitUpstream } from '../../bottle/backend.js';

/** `home` labels the container, so the home's leftovers (tests, `docker ps --filter label=…`) include it. */
export async function startGitUpstream(alias: string, progress: Progress, connected?: Engine, home?: string): Promise<GitUpstream> {
  const engine = connected ?? (await connectEngine());
  const image = await ensureImage(engine, { repository: 'bot-bottle/ssh-upstream', dockerfile: 'Dockerfile', context: [{ at: '.', from: join(packageRoot(), 'images', 'ssh-upstream') }] }, progress);
  const dir = await mkdtemp(join(tmpdir(), 'bot-bottle-upstream-'));
  const identityFile = join(dir, 'id_ed25519');
  await execFileP('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'bot-bottle-demo', '-f', identityFile]);
  const pub = (await readFile(`${identityFile}.pub`, 'utf8')).trim();
  const container = await engine.createContainer({
    Image: image,
    Labels: labels(undefined, 'fixture', home),
    Env: [`AUTHORIZED_KEY=${pub}`],
    HostConfig: { NetworkMode: 'bridge', AutoRemove: false },
  });
  const run = async (cmd: string[]): Promise<string> => {
    const exec = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({});
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    engine.modem.demuxStream(stream, out, new PassThrough());
    await new Promise((r) => stream.on('end', r));
    return Buffer.concat(chunks).toString('utf8').trim();
  };
  const stop = async () => {
    await container.remove({ force: true }).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await container.start();
    let key = '';
    for (let i = 0; i < 50 && !key.startsWith('ssh-ed25519'); i++) {
      key = await run(['cat', '/etc/ssh/ssh_host_ed25519_key.pub']).catch(() => '');
      if (!key.startsWith('ssh-ed25519')) await new Promise((r) => setTimeout(r, 100));
    }
    const [type, body] = key.split(/\s+/);
    return {
      identityFile,
      hostKey: `${alias} ${type} ${body}`,
      url: `ssh://git@${alias}/srv/repo.git`,
      attach: async (identity) => {
        await engine.getNetwork(bottleNames(identity).egressNetwork).connect({ Container: container.id, EndpointConfig: { Aliases: [alias] } });
      },
      head: async (branch) => run(['git', '--git-dir=/srv/repo.git', 'rev-parse', '--verify', '--quiet', `refs/heads/${branch}`]).catch(() => ''),
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
