/** A throwaway container: run one command, collect its output, remove it. */
import { PassThrough } from 'node:stream';
import type Dockerode from 'dockerode';
import type { Engine } from './engine.js';

export interface RunOnceResult {
  code: number;
  stdout: Buffer;
  stderr: Buffer;
}

/** `spec` is the container's create options; the container is removed whatever happens. */
export async function runOnce(engine: Engine, spec: Dockerode.ContainerCreateOptions): Promise<RunOnceResult> {
  const c = await engine.createContainer(spec);
  try {
    const stream = await c.attach({ stream: true, stdout: true, stderr: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const o = new PassThrough();
    const e = new PassThrough();
    o.on('data', (b: Buffer) => out.push(b));
    e.on('data', (b: Buffer) => err.push(b));
    engine.modem.demuxStream(stream, o, e);
    const ended = new Promise<void>((r) => stream.on('end', r));
    await c.start();
    const result = (await c.wait()) as { StatusCode?: number };
    await ended;
    return { code: result.StatusCode ?? -1, stdout: Buffer.concat(out), stderr: Buffer.concat(err) };
  } finally {
    await c.remove({ force: true }).catch(() => undefined);
  }
}
