/**
 * gVisor is used only when the engine has `runsc` registered *and* a probe
 * container on a bridge network really runs under it (HOST-NOTES: on some
 * kernels runsc is registered but every networked container fails). The
 * answer is cached per engine so a warm start does not pay for the probe.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Progress } from '../../progress.js';
import { type Engine, labels } from './engine.js';

export type ContainerRuntime = 'runsc' | 'runc';

interface ProbeCache {
  engineId: string;
  runtimes: string[];
  runtime: ContainerRuntime;
  reason: string;
}

/** What the choice reads from the engine's `GET /info`. */
export type EngineRuntimes = { ID?: string; Runtimes?: Record<string, unknown> };

/** `info`: the engine's answer when the caller asked for it already (alongside other calls). */
export async function chooseRuntime(
  engine: Engine,
  cacheFile: string,
  image: string | undefined,
  progress: Progress,
  info: Promise<EngineRuntimes> = engine.info() as Promise<EngineRuntimes>,
): Promise<{ runtime: ContainerRuntime; reason: string }> {
  const { ID, Runtimes } = await info;
  const runtimes = Object.keys(Runtimes ?? {}).sort();
  const engineId = ID ?? 'unknown';
  try {
    const cached = JSON.parse(await readFile(cacheFile, 'utf8')) as ProbeCache;
    if (cached.engineId === engineId && cached.runtimes.join(',') === runtimes.join(',')) return cached;
  } catch {
    // no cache yet: probe below
  }
  let result: { runtime: ContainerRuntime; reason: string };
  if (!runtimes.includes('runsc')) {
    result = { runtime: 'runc', reason: 'gVisor (runsc) is not registered with the engine; using the default runtime' };
  } else if (!image) {
    return { runtime: 'runc', reason: 'gVisor not probed yet (no image)' };
  } else {
    result = await probeRunsc(engine, image);
  }
  // Said once: the cache remembers that the user has been told.
  progress.warn(result.reason);
  await mkdir(dirname(cacheFile), { recursive: true });
  await writeFile(cacheFile, JSON.stringify({ engineId, runtimes, ...result }) + '\n');
  return result;
}

async function probeRunsc(engine: Engine, image: string): Promise<{ runtime: ContainerRuntime; reason: string }> {
  const name = `bot-bottle-probe-runsc-${process.pid}`;
  try {
    const c = await engine.createContainer({
      name,
      Image: image,
      Cmd: ['true'],
      Labels: labels(undefined, 'probe'),
      HostConfig: { Runtime: 'runsc', NetworkMode: 'bridge', AutoRemove: false },
    });
    try {
      await c.start();
      const r = (await c.wait()) as { StatusCode?: number };
      if (r.StatusCode === 0) return { runtime: 'runsc', reason: 'gVisor (runsc) probe passed; bottles run under gVisor' };
      return { runtime: 'runc', reason: `gVisor (runsc) is registered but a probe container exited ${r.StatusCode}; using the default runtime` };
    } finally {
      await c.remove({ force: true }).catch(() => undefined);
    }
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    return { runtime: 'runc', reason: `gVisor (runsc) is registered but a probe container failed (${msg}); using the default runtime` };
  }
}
