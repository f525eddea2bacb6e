/**
 * Bottle state on the host, shared by every backend. BottleState names every
 * host file of one bottle (nobody else joins these paths); homeDirs names the
 * home's own folders. Files that may hold secrets are written mode 600 in
 * folders mode 700.
 *
 *   <home>/state/<identity>/
 *     metadata.json          what `resume` relaunches from
 *     .preserve              kept at session end (crash, commit, capability change)
 *     Dockerfile             per-bottle recipe from an approved capability change
 *     committed-image        the tag `commit` made; the next resume boots from it
 *     agent/ bundle/ egress/ git-gate/ supervise/   one folder per service,
 *                            mounted in the bundle (see layout.ts for their files)
 *     agent/vm/              a micro-VM agent's disks and sockets (never mounted)
 *   <home>/archive/<identity>/   the bottle's record (audit, proposals), outliving it
 *   <home>/cache/                host probes (runtime-probe.json)
 */
import { chmod, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { BottleError, errnoCode } from '../errors.js';
import type { BackendName } from './spec.js';
import { checkIdentity } from './identity.js';
import { type AuditSource, type MountedService, SERVICE_FILES, type ServiceFile, type ServiceName } from './layout.js';
import type { PreparedSidecar, SidecarPlan } from './sidecar.js';

export type { ServiceName } from './layout.js';

export interface BottleMetadata {
  readonly identity: string;
  readonly agent: string;
  readonly bottles: readonly string[];
  readonly backend: BackendName;
  readonly cwd: string | undefined;
  readonly label: string | undefined;
  readonly color: string | undefined;
  readonly started_at: string;
  /** The CLI process that owns an attached session; if it died, the bottle is an orphan. */
  readonly owner_pid: number | undefined;
  /** Detached bottles live until `stop`; no owner process. */
  readonly detached: boolean;
}

/** The home's own folders (not one bottle's). */
export function homeDirs(home: string) {
  return {
    state: join(home, 'state'),
    archive: join(home, 'archive'),
    cache: join(home, 'cache'),
    runtimeProbe: join(home, 'cache', 'runtime-probe.json'),
  } as const;
}

export class BottleState {
  readonly identity: string;
  /** `<home>/state/<identity>/` */
  readonly dir: string;

  constructor(
    readonly home: string,
    identity: string,
  ) {
    this.identity = checkIdentity(identity);
    this.dir = join(homeDirs(home).state, this.identity);
  }

  get metadataFile(): string {
    return join(this.dir, 'metadata.json');
  }
  get preserveMarker(): string {
    return join(this.dir, '.preserve');
  }
  /** The per-bottle Dockerfile an approved capability change writes. */
  get dockerfile(): string {
    return join(this.dir, 'Dockerfile');
  }
  /** One line: the commit a `--cwd` workspace started from (what `export` bundles after). */
  get workspaceBaseFile(): string {
    return join(this.dir, 'workspace-base');
  }
  /** One line: the image tag of the last `commit`. */
  get committedImageFile(): string {
    return join(this.dir, 'committed-image');
  }
  /** A micro-VM agent's disks, pid file, console log and exec sockets (backends/microvm names what is inside). */
  get vmDir(): string {
    return join(this.service('agent'), 'vm');
  }
  /** The per-identity record that outlives the bottle (audit logs, proposals). */
  get archiveDir(): string {
    return join(homeDirs(this.home).archive, this.identity);
  }

  /** A service's folder, mounted in the bundle at `bundleServiceDir(service)`. */
  service(name: ServiceName): string {
    return join(this.dir, name);
  }
  /** A file of a service folder, e.g. `file('egress', 'config')`. */
  file<S extends MountedService>(service: S, file: ServiceFile<S>): string {
    return join(this.service(service), SERVICE_FILES[service][file] as string);
  }
  auditLog(source: AuditSource): string {
    return this.file(source, 'audit');
  }
  /** The proposal queue the bundle's sidecars and the host's approvals share. */
  get proposalsDir(): string {
    return this.file('supervise', 'queue');
  }

  /** Create the state folder (mode 700) and the named service folders. */
  async create(services: readonly ServiceName[]): Promise<string> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await chmod(this.dir, 0o700);
    for (const s of services) await mkdir(this.service(s), { recursive: true, mode: 0o700 });
    return this.dir;
  }

  async writeMetadata(meta: BottleMetadata): Promise<void> {
    if (meta.identity !== this.identity) throw new Error(`metadata of ${meta.identity} written into the state of ${this.identity}`);
    await writeSecretFile(this.metadataFile, JSON.stringify(meta, null, 2) + '\n');
  }

  async readMetadata(): Promise<BottleMetadata> {
    let raw: string;
    try {
      raw = await readFile(this.metadataFile, 'utf8');
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') {
        throw new BottleError('not-found', `no bottle state for ${this.identity}`, { fix: 'see `bot-bottle list` for known bottles' });
      }
      throw e;
    }
    try {
      return JSON.parse(raw) as BottleMetadata;
    } catch {
      throw new BottleError('state', `${this.metadataFile}: not valid JSON`, { fix: `remove it with \`bot-bottle cleanup\`` });
    }
  }

  async markPreserved(reason: string): Promise<void> {
    await writeFile(this.preserveMarker, reason + '\n', { mode: 0o600 });
  }
  async clearPreserved(): Promise<void> {
    await rm(this.preserveMarker, { force: true });
  }
  isPreserved(): Promise<boolean> {
    return exists(this.preserveMarker);
  }

  /** What the sidecars' plans ask their state folders to hold, before the bundle starts. */
  async writeSidecarState(sidecars: readonly PreparedSidecar[]): Promise<void> {
    for (const s of sidecars) {
      if (s.hostDir !== this.service(s.name)) throw new Error(`sidecar ${s.name} of ${this.identity} is not in its state folder`);
      await writeStateFiles(s.hostDir, s.plan);
    }
  }

  async writeCommittedImage(tag: string): Promise<void> {
    await writeSecretFile(this.committedImageFile, tag + '\n');
  }

  /** Remove the state folder (never the archive). */
  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Shorthand for the common read. */
export function readMetadata(home: string, identity: string): Promise<BottleMetadata> {
  return new BottleState(home, identity).readMetadata();
}

/** Identities with a state folder in this home. */
export async function listStateIdentities(home: string): Promise<string[]> {
  try {
    return (await readdir(homeDirs(home).state, { withFileTypes: true }))
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return [];
    throw e;
  }
}

export function perBottleImageTag(identity: string): string {
  return `bot-bottle/bottle-${checkIdentity(identity)}:latest`;
}

/** A sidecar plan's folders and files, written into `dir` (its state folder). */
export async function writeStateFiles(dir: string, plan: Pick<SidecarPlan, 'stateDirs' | 'stateFiles'>): Promise<void> {
  const inside = (rel: string): string => {
    const norm = posix.normalize(rel);
    if (norm.startsWith('../') || norm === '..' || posix.isAbsolute(norm)) throw new Error(`state path ${JSON.stringify(rel)} leaves its folder`);
    return join(dir, ...norm.split('/'));
  };
  await mkdir(dir, { recursive: true, mode: 0o700 });
  for (const d of plan.stateDirs) await mkdir(inside(d), { recursive: true, mode: 0o700 });
  for (const f of plan.stateFiles) {
    const path = inside(f.path);
    if (f.keep && (await exists(path))) continue;
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writeSecretFile(path, f.content, f.mode);
  }
}

/** Atomic write with a mode: a reader never sees half a file, nor a moment at 644. */
export async function writeSecretFile(path: string, content: string | Buffer, mode = 0o600): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, content, { mode });
  await chmod(tmp, mode);
  await rename(tmp, path);
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Is the owning CLI process still alive? (Signal 0 probes without killing.) */
export function pidAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoCode(e) === 'EPERM';
  }
}
