/** A cross-process lock: five bottles starting at once must not all make the same cached artefact. */
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { BottleError, errnoCode } from '../errors.js';
import type { Progress } from '../progress.js';

/**
 * A cross-process lock: an exclusive `mkdir` under the OS temp dir holding the
 * owner's pid. A lock whose owner is dead (or that never got an owner file) is
 * stale and taken over. Waiters poll; the first wait prints one progress step.
 */
export async function withLock<T>(
  name: string,
  fn: () => Promise<T>,
  opts: { progress?: Progress; what?: string; maxWaitMs?: number; pollMs?: number } = {},
): Promise<T> {
  const dir = join(tmpdir(), `bot-bottle-${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.lock`);
  const ownerFile = join(dir, 'owner');
  const started = Date.now();
  const maxWait = opts.maxWaitMs ?? 30 * 60_000;
  let announced = false;
  for (;;) {
    try {
      await mkdir(dir);
      await writeFile(ownerFile, JSON.stringify({ pid: process.pid, host: hostname(), at: new Date().toISOString() }));
      break;
    } catch (e) {
      if (errnoCode(e) !== 'EEXIST') throw e;
    }
    if (await isStale(dir, ownerFile)) {
      const aside = `${dir}.stale-${process.pid}-${Date.now()}`;
      try {
        await rename(dir, aside);
        await rm(aside, { recursive: true, force: true });
      } catch {
        /* someone else took it over first */
      }
      continue;
    }
    if (!announced && opts.progress) {
      opts.progress.step(`waiting for another bot-bottle process that is making ${opts.what ?? name}`);
      announced = true;
    }
    if (Date.now() - started > maxWait) {
      throw new BottleError('image-build', `timed out waiting for another bot-bottle process making ${opts.what ?? name}`, {
        fix: `if no other bot-bottle is running, remove ${dir}`,
      });
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 250));
  }
  try {
    return await fn();
  } finally {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

async function isStale(dir: string, ownerFile: string): Promise<boolean> {
  let owner: { pid?: unknown; host?: unknown };
  try {
    owner = JSON.parse(await readFile(ownerFile, 'utf8')) as { pid?: unknown; host?: unknown };
  } catch {
    // No (complete) owner file: stale only if the owner had ample time to write it.
    try {
      return Date.now() - (await stat(dir)).mtimeMs > 10_000;
    } catch {
      return false; // vanished: retry mkdir
    }
  }
  if (typeof owner.pid !== 'number') return true;
  if (typeof owner.host === 'string' && owner.host !== hostname()) return false;
  try {
    process.kill(owner.pid, 0);
    return false;
  } catch (e) {
    return errnoCode(e) === 'ESRCH';
  }
}

