/**
 * Debian packages fetched straight from the mirror the host already trusts,
 * with apt's own chain of trust: the suite's InRelease is checked by `gpgv`
 * against Debian's archive keyring, the package index by the SHA-256 that
 * InRelease lists, and each `.deb` by the SHA-256 in the index. Nothing is
 * installed on the host: the wanted files are extracted into a folder.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { BottleError } from '../../errors.js';

export const DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

export interface DebianSource {
  readonly mirror: string;
  readonly suite: string;
  readonly arch: string;
  readonly keyring: string;
}

export interface PackageRecord {
  readonly name: string;
  readonly version: string;
  readonly filename: string;
  readonly sha256: string;
  readonly depends: string;
}

const FIX = 'check the Debian mirror in /etc/apt/sources.list* (or set BOT_BOTTLE_DEBIAN_MIRROR) and that gpgv and debian-archive-keyring are installed';

async function fetchBytes(url: string): Promise<Buffer> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(120_000) });
  } catch (e) {
    throw new BottleError('launch', `cannot fetch ${url}: ${e instanceof Error ? e.message : String(e)}`, { fix: FIX });
  }
  if (!res.ok) throw new BottleError('launch', `cannot fetch ${url}: HTTP ${res.status}`, { fix: FIX });
  return Buffer.from(await res.arrayBuffer());
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Run a host tool with `input` on stdin; resolves to its stdout, rejects with its stderr. */
export function runTool(cmd: string, args: readonly string[], input?: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e) => reject(new BottleError('launch', `cannot run ${cmd}: ${e.message}`, { fix: `install ${cmd}` })));
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new BottleError('launch', `${cmd} exited ${code}: ${Buffer.concat(err).toString('utf8').trim().split('\n').slice(-1)[0] ?? ''}`, { fix: FIX }));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

/** The signed index of a suite, verified; returns the signed text. */
async function verifiedRelease(src: DebianSource): Promise<string> {
  if (!existsSync(src.keyring)) throw new BottleError('launch', `Debian archive keyring ${src.keyring} is missing`, { fix: 'apt-get install debian-archive-keyring gpgv' });
  const inRelease = await fetchBytes(`${src.mirror}/dists/${src.suite}/InRelease`);
  const text = await runTool('gpgv', ['--quiet', '--keyring', src.keyring, '--output', '-', '-'], inRelease);
  return text.toString('utf8');
}

/** The SHA-256 that a Release file lists for `path`. */
export function releaseHash(release: string, path: string): string | undefined {
  const sha = release.split(/\nSHA256:\n/)[1];
  if (!sha) return undefined;
  for (const line of sha.split('\n')) {
    if (!line.startsWith(' ')) break;
    const [hash, , name] = line.trim().split(/\s+/);
    if (name === path) return hash;
  }
  return undefined;
}

/** Parse a Packages index into records for the names wanted (and nothing else). */
export function parsePackages(index: string, wanted: (name: string) => boolean): Map<string, PackageRecord> {
  const out = new Map<string, PackageRecord>();
  for (const stanza of index.split('\n\n')) {
    const m = /^Package: (.+)$/m.exec(stanza);
    if (!m?.[1] || !wanted(m[1])) continue;
    const field = (k: string) => new RegExp(`^${k}: (.+)$`, 'm').exec(stanza)?.[1] ?? '';
    out.set(m[1], { name: m[1], version: field('Version'), filename: field('Filename'), sha256: field('SHA256'), depends: field('Depends') });
  }
  return out;
}

export class DebianIndex {
  private constructor(
    private readonly src: DebianSource,
    private readonly index: string,
  ) {}

  static async open(src: DebianSource): Promise<DebianIndex> {
    const release = await verifiedRelease(src);
    const path = `main/binary-${src.arch}/Packages.gz`;
    const want = releaseHash(release, path);
    if (!want) throw new BottleError('launch', `${src.mirror} ${src.suite} lists no ${path}`, { fix: FIX });
    const gz = await fetchBytes(`${src.mirror}/dists/${src.suite}/${path}`);
    if (sha256(gz) !== want) throw new BottleError('launch', `${path} from ${src.mirror} does not match its signed hash`, { fix: FIX });
    return new DebianIndex(src, gunzipSync(gz).toString('utf8'));
  }

  lookup(name: string): PackageRecord {
    const rec = parsePackages(this.index, (n) => n === name).get(name);
    if (!rec) throw new BottleError('launch', `package ${name} not found in Debian ${this.src.suite} (${this.src.mirror})`, { fix: FIX });
    return rec;
  }

  /** Download a package and check it against the signed index. */
  async download(rec: PackageRecord): Promise<Buffer> {
    const deb = await fetchBytes(`${this.src.mirror}/${rec.filename}`);
    if (sha256(deb) !== rec.sha256) throw new BottleError('launch', `${rec.filename} does not match its signed hash`, { fix: FIX });
    return deb;
  }
}

/** The members of an `ar` archive (a .deb is one). */
export function arMembers(buf: Buffer): Map<string, Buffer> {
  if (buf.subarray(0, 8).toString('latin1') !== '!<arch>\n') throw new Error('not an ar archive');
  const out = new Map<string, Buffer>();
  let off = 8;
  while (off + 60 <= buf.length) {
    const name = buf.subarray(off, off + 16).toString('latin1').trim().replace(/\/$/, '');
    const size = Number.parseInt(buf.subarray(off + 48, off + 58).toString('latin1').trim(), 10);
    out.set(name, buf.subarray(off + 60, off + 60 + size));
    off += 60 + size + (size % 2);
  }
  return out;
}

/** Extract `members` (paths as in the package, e.g. `./boot`) of a .deb's data into `dir`. */
export async function extractDeb(deb: Buffer, dir: string, members: readonly string[]): Promise<void> {
  const parts = arMembers(deb);
  const dataName = [...parts.keys()].find((n) => n.startsWith('data.tar'));
  const data = dataName ? parts.get(dataName) : undefined;
  if (!dataName || !data) throw new BottleError('launch', 'a Debian package without data.tar', { fix: FIX });
  const flag = dataName.endsWith('.xz') ? '-J' : dataName.endsWith('.zst') ? '--zstd' : dataName.endsWith('.gz') ? '-z' : '';
  await runTool('tar', ['-x', ...(flag ? [flag] : []), '-f', '-', '-C', dir, '--no-same-owner', ...members], data);
}
