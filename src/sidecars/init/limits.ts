/**
 * The bundle's resource limits as its own processes see them (the cgroup):
 * so that a sidecar the kernel killed for memory, or one that could not be
 * started for the process limit, is reported as that, with the limit, rather
 * than as an anonymous SIGKILL. cgroup v2 and v1 both; unknown stays unknown.
 */
import { readFileSync } from 'node:fs';

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function counter(text: string | undefined, key: string): number | undefined {
  const m = text === undefined ? null : new RegExp(`^${key} (\\d+)$`, 'm').exec(text);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

export interface CgroupFiles {
  readonly root: string;
}

const DEFAULT: CgroupFiles = { root: '/sys/fs/cgroup' };

/** How many processes of this cgroup the kernel has killed for memory. */
export function oomKills(c: CgroupFiles = DEFAULT): number | undefined {
  return counter(read(`${c.root}/memory.events`), 'oom_kill') ?? counter(read(`${c.root}/memory/memory.oom_control`), 'oom_kill');
}

function limitText(raw: string | undefined, unit: 'bytes' | 'count'): string | undefined {
  const v = raw?.trim();
  if (v === undefined || v === '' || v === 'max') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n >= 2 ** 60) return undefined;
  return unit === 'bytes' ? `${Math.round(n / 1024 / 1024)} MiB` : String(n);
}

export function memoryLimit(c: CgroupFiles = DEFAULT): string | undefined {
  return limitText(read(`${c.root}/memory.max`) ?? read(`${c.root}/memory/memory.limit_in_bytes`), 'bytes');
}

export function pidsLimit(c: CgroupFiles = DEFAULT): string | undefined {
  return limitText(read(`${c.root}/pids.max`) ?? read(`${c.root}/pids/pids.max`), 'count');
}

/** Why a service died, when the limits explain it: compare oomKills() before and after. */
export function explainExit(signal: NodeJS.Signals | null, oomBefore: number | undefined, c: CgroupFiles = DEFAULT): string | undefined {
  if (signal !== 'SIGKILL') return undefined;
  const after = oomKills(c);
  if (after === undefined || oomBefore === undefined || after <= oomBefore) return undefined;
  return `killed by the kernel: the sidecar bundle hit its memory limit (${memoryLimit(c) ?? 'unknown'}); egress fails closed until it restarts`;
}

/** Why a service could not be started, when the process limit explains it. */
export function explainSpawnError(err: NodeJS.ErrnoException, c: CgroupFiles = DEFAULT): string | undefined {
  return err.code === 'EAGAIN' ? `cannot start: the sidecar bundle hit its process limit (${pidsLimit(c) ?? 'unknown'})` : undefined;
}
