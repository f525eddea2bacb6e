/**
 * Content-addressed image builds through the Engine API.
 *
 * An image is described by an ImageRecipe (build context files, Dockerfile,
 * build args, labels). Its tag is `repository:<hash>` where the hash covers
 * every context file (path, mode, content), the Dockerfile path, build args,
 * labels and the ids of the base images its FROM lines name. A warm start is
 * therefore one `GET /images/json` call and no build (with a hash cache,
 * image-hash-cache.ts, a few image inspects and no file read); any change to an input
 * (or a rebuilt base image) yields a new tag, and older tags of the same
 * repository are pruned after a successful build.
 *
 * Builds never contact a registry on their own (no `pull`); a missing
 * `debian:bookworm-slim` base is made by ensureBaseImage (pull or debootstrap).
 *
 * Host CA certificates: hosts behind a TLS-intercepting proxy (corporate
 * networks, this project's CI for the npm registry) need the proxy's CA inside
 * builds that fetch over HTTPS. Every build context therefore carries the host
 * CA bundle as `bot-bottle-host-ca.crt` at its root (opts.hostCaBundle, else
 * settings.hostCaBundle / BOT_BOTTLE_CA_BUNDLE, else the host's
 * /etc/ssl/certs/ca-certificates.crt; an empty file when none exists, so a
 * Dockerfile may COPY it unconditionally). It is part of the hash. A Dockerfile
 * that runs `npm install` should COPY it into a *build stage* and set
 * `NODE_EXTRA_CA_CERTS=/path/bot-bottle-host-ca.crt` (adds to Node's roots;
 * harmless when empty) rather than npm's `cafile` (replaces the roots), and
 * leave it out of the final stage. It holds public certificates only, never a
 * secret.
 */
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink, stat } from 'node:fs/promises';
import { join, posix, resolve as resolvePath } from 'node:path';
import type { Readable } from 'node:stream';
import { BottleError } from '../../errors.js';
import { packageRoot } from '../../paths.js';
import type { Progress } from '../../progress.js';
import type { Settings } from '../../settings.js';
import { BASE_IMAGE, ensureBaseImage, imageExists, type JsonMessage, readJsonStream, tryPull, withLock } from './base-image.js';
import { type Engine, engineFailure, isConflict, isNotFound, LABEL_MANAGED, labels } from './engine.js';
import { type TarEntry, tarStream } from '../../bottle/tar.js';
import { contextFingerprint, lookupHash, rememberHash } from './image-hash-cache.js';

export interface ImageRecipe {
  /** Repository part of the tag, e.g. 'bot-bottle/agent-shell'. */
  repository: string;
  /**
   * Files of the build context: path inside the context -> absolute source
   * path on the host, or inline content. Directories are copied recursively
   * (symlinks inside them are kept as symlinks). `at: '.'` puts a directory's
   * contents at the context root.
   */
  context: ReadonlyArray<{ at: string; from: string } | { at: string; content: string | Buffer }>;
  /** Path of the Dockerfile inside the context. */
  dockerfile: string;
  buildArgs?: Record<string, string>;
  /** Extra labels for the image. */
  labels?: Record<string, string>;
  /**
   * Images this one builds FROM through a build arg (`ARG NODE_IMAGE` /
   * `FROM ${NODE_IMAGE}`): each is ensured first and its tag passed as that
   * arg, so a rebuilt base yields a new tag here too.
   */
  bases?: Readonly<Record<string, ImageRecipe>>;
}

export interface EnsureImageOptions {
  /** Path of a PEM bundle handed to builds as `bot-bottle-host-ca.crt` (see the module comment). */
  hostCaBundle?: string;
  /** For the base image mirror and the CA bundle default. */
  settings?: Pick<Settings, 'debianMirror' | 'hostCaBundle'>;
  /** Build every step afresh (benchmarks of cold builds); the result is cached as usual. */
  noCache?: boolean;
  /**
   * Run the build's RUN steps on this network, with its proxy as HTTP(S)_PROXY
   * (for an agent-proposed Dockerfile; see build-network.ts). The proxy
   * settings are Docker's predefined build args: not part of the image, its
   * history or our hash.
   */
  network?: { readonly mode: string; readonly proxy: string };
  /** Older tags younger than this survive a build (default PRUNE_GRACE_MS; see pruneOlder). */
  pruneGraceMs?: number;
  /** File of the context-hash cache (image-hash-cache.ts): a warm start then reads no context file. */
  hashCache?: string;
}

export const LABEL_RECIPE = 'bot-bottle.recipe';
export const LABEL_RECIPE_HASH = 'bot-bottle.recipe-hash';
export const HOST_CA_FILE = 'bot-bottle-host-ca.crt';
export const SYSTEM_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
export const AGENT_SHELL_REPOSITORY = 'bot-bottle/agent-shell';

const HASH_VERSION = 'bot-bottle-image-v1';
const BUILD_LOCK_WAIT_MS = 30 * 60_000;

/**
 * Make sure the image for `recipe` exists; returns its tag `repository:hash`.
 * Warm: one list call, nothing built (with opts.hashCache and an unchanged
 * context: no file read, a few inspects). Cold: build (serialised across
 * processes per tag), then prune older tags of the repository.
 */
export async function ensureImage(engine: Engine, withBases: ImageRecipe, progress: Progress, opts: EnsureImageOptions = {}): Promise<string> {
  // `opts.network` confines this image's own build (an agent's Dockerfile), not the bases it names.
  const baseOpts: EnsureImageOptions = { ...opts, network: undefined };
  const recipe = await withBaseTags(withBases, (base) => ensureImage(engine, base, progress, baseOpts));
  const files = await collectContext(recipe, opts);
  const cacheFile = opts.hashCache;
  const fingerprint = cacheFile === undefined ? undefined : await contextFingerprint(HASH_VERSION, files, hashParams(recipe));
  const known = cacheFile === undefined || fingerprint === undefined ? undefined : await cachedTag(engine, recipe, cacheFile, fingerprint);
  if (known !== undefined) return known;
  const froms = parseFromRefs(await dockerfileText(recipe, files), recipe.buildArgs ?? {});
  const listed = await listCandidates(engine, froms, recipe.repository);
  const bases = await resolveBases(engine, froms, listed, progress, opts);
  const hash = await hashContext(recipe, files, bases);
  const tag = `${recipe.repository}:${hash}`;
  if (cacheFile !== undefined && fingerprint !== undefined) await rememberHash(cacheFile, fingerprint, { hash, bases });
  if (listed.some((img) => img.RepoTags?.includes(tag))) return tag;

  await withLock(
    `image-${recipe.repository}-${hash}`,
    async () => {
      if (await imageExists(engine, tag)) return;
      await build(engine, recipe, files, tag, hash, progress, opts.noCache === true, opts.network);
      await pruneOlder(engine, recipe.repository, tag, progress, opts.pruneGraceMs ?? PRUNE_GRACE_MS);
    },
    { progress, what: tag, maxWaitMs: BUILD_LOCK_WAIT_MS },
  );
  return tag;
}

/**
 * The 16-hex content hash `ensureImage` tags with (inspects the FROM images;
 * a missing base is reported as an error rather than made).
 */
export async function recipeHash(engine: Engine, withBases: ImageRecipe, opts: EnsureImageOptions = {}): Promise<string> {
  const recipe = await withBaseTags(withBases, (base) => recipeHash(engine, base, opts).then((h) => `${base.repository}:${h}`));
  const files = await collectContext(recipe, opts);
  const froms = parseFromRefs(await dockerfileText(recipe, files), recipe.buildArgs ?? {});
  const listed = await listCandidates(engine, froms, undefined);
  const bases: [string, string][] = [];
  for (const ref of froms) {
    const id = findListed(listed, ref) ?? (await inspectId(engine, ref));
    if (!id) throw missingBase(ref);
    bases.push([ref, id]);
  }
  return hashContext(recipe, files, bases);
}

/** The recipe with each base's tag (from `tagOf`) as its build arg. */
async function withBaseTags(recipe: ImageRecipe, tagOf: (base: ImageRecipe) => Promise<string>): Promise<ImageRecipe> {
  const bases = Object.entries(recipe.bases ?? {});
  if (bases.length === 0) return recipe;
  const tags = await Promise.all(bases.map(async ([arg, base]) => [arg, await tagOf(base)] as const));
  return { ...recipe, buildArgs: { ...recipe.buildArgs, ...Object.fromEntries(tags) } };
}

/**
 * The recipe of the `shell` provider's agent image: `images/agent-shell/` of
 * this package, whole directory as the context.
 */
export function agentShellRecipe(repository = AGENT_SHELL_REPOSITORY): ImageRecipe {
  return { repository, context: [{ at: '.', from: join(packageRoot(), 'images', 'agent-shell') }], dockerfile: 'Dockerfile' };
}

// ---------------------------------------------------------------------------
// Context collection

export type ContextFile =
  | { type: 'dir'; path: string; mode: number }
  | { type: 'symlink'; path: string; mode: number; target: string }
  | { type: 'file'; path: string; mode: number; source: string }
  | { type: 'file'; path: string; mode: number; data: Buffer | (() => Promise<Buffer>) };

function normalizeAt(at: string): string {
  const p = posix.normalize(at.replace(/\\/g, '/')).replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  if (p === '.' || p === '') return '';
  if (posix.isAbsolute(p) || p === '..' || p.startsWith('../')) throw new Error(`image context path ${JSON.stringify(at)} escapes the context`);
  return p;
}

const fileMode = (m: number) => (m & 0o111 ? 0o755 : 0o644);

async function collectContext(recipe: ImageRecipe, opts: EnsureImageOptions): Promise<ContextFile[]> {
  const byPath = new Map<string, ContextFile>();
  const add = (f: ContextFile) => {
    if (!f.path) return;
    const prev = byPath.get(f.path);
    if (prev && !(prev.type === 'dir' && f.type === 'dir')) throw new Error(`image context of ${recipe.repository}: ${f.path} given twice`);
    byPath.set(f.path, f);
    // Parent directories are explicit entries (0755) so the tar is self-contained.
    for (let d = posix.dirname(f.path); d !== '.' && !byPath.has(d); d = posix.dirname(d)) byPath.set(d, { type: 'dir', path: d, mode: 0o755 });
  };
  const walk = async (abs: string, at: string, top: boolean): Promise<void> => {
    const st = top ? await stat(abs) : await lstat(abs);
    if (st.isSymbolicLink()) add({ type: 'symlink', path: at, mode: 0o777, target: await readlink(abs) });
    else if (st.isDirectory()) {
      add({ type: 'dir', path: at, mode: 0o755 });
      for (const name of await readdir(abs)) await walk(join(abs, name), at ? `${at}/${name}` : name, false);
    } else if (st.isFile()) add({ type: 'file', path: at, mode: fileMode(st.mode), source: abs });
    // sockets, fifos, devices: not build inputs
  };
  for (const entry of recipe.context) {
    const at = normalizeAt(entry.at);
    if ('from' in entry) {
      try {
        await walk(resolvePath(entry.from), at, true);
      } catch (e) {
        throw new BottleError('image-build', `building ${recipe.repository}: cannot read ${entry.from} (${e instanceof Error ? e.message : String(e)})`, {
          cause: e,
        });
      }
    } else {
      if (!at) throw new Error('inline image context content needs a file path');
      add({ type: 'file', path: at, mode: 0o644, data: typeof entry.content === 'string' ? Buffer.from(entry.content) : entry.content });
    }
  }
  if (!byPath.has(HOST_CA_FILE)) add({ type: 'file', path: HOST_CA_FILE, mode: 0o644, data: await hostCa(opts) });
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

async function hostCa(opts: EnsureImageOptions): Promise<Buffer> {
  const explicit = opts.hostCaBundle ?? opts.settings?.hostCaBundle;
  if (explicit) {
    try {
      return await readFile(explicit);
    } catch (e) {
      throw new BottleError('image-build', `host CA bundle ${explicit} cannot be read`, {
        fix: 'point BOT_BOTTLE_CA_BUNDLE at a readable PEM file, or unset it',
        cause: e,
      });
    }
  }
  return readFile(SYSTEM_CA_BUNDLE).catch(() => Buffer.alloc(0));
}

async function fileData(f: Extract<ContextFile, { type: 'file' }>): Promise<Buffer> {
  if (!('data' in f)) return readFile(f.source);
  return Buffer.isBuffer(f.data) ? f.data : f.data();
}

function appendLabels(dockerfile: Buffer, l: Record<string, string>): Buffer {
  const pairs = Object.entries(l)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${JSON.stringify(k)}=${JSON.stringify(v)}`);
  return Buffer.concat([dockerfile, Buffer.from(`\n\nLABEL ${pairs.join(' ')}\n`)]);
}

async function dockerfileText(recipe: ImageRecipe, files: ContextFile[]): Promise<string> {
  const path = normalizeAt(recipe.dockerfile);
  const f = files.find((x) => x.path === path);
  if (!f || f.type !== 'file') throw new Error(`image recipe ${recipe.repository}: Dockerfile ${recipe.dockerfile} is not in the context`);
  return (await fileData(f)).toString('utf8');
}

async function hashContext(recipe: ImageRecipe, files: ContextFile[], bases: [string, string][]): Promise<string> {
  const h = createHash('sha256');
  const field = (s: string) => h.update(`${Buffer.byteLength(s)}:${s}\0`);
  field(HASH_VERSION);
  for (const f of files) {
    field(f.type);
    field(f.path);
    field(f.mode.toString(8));
    if (f.type === 'symlink') field(f.target);
    if (f.type === 'file') {
      const data = await fileData(f);
      field(String(data.length));
      h.update(data);
    }
  }
  for (const p of hashParams(recipe)) field(p);
  for (const [ref, id] of bases) field(`from ${ref} ${id}`);
  return h.digest('hex').slice(0, 16);
}

/** The recipe's hash inputs besides its files and bases (the fingerprint covers them too). */
function hashParams(recipe: ImageRecipe): string[] {
  return [
    `dockerfile=${normalizeAt(recipe.dockerfile)}`,
    JSON.stringify(Object.entries(recipe.buildArgs ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))),
    JSON.stringify(Object.entries(recipe.labels ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))),
  ];
}

/**
 * The tag a cached hash names, once the engine confirms it: the tag exists and
 * each base reference still resolves to the id the hash was computed with (a
 * rebuilt or re-pulled base is a miss). Inspects, all at once: a filtered
 * image list costs the engine a walk over every image.
 */
async function cachedTag(engine: Engine, recipe: ImageRecipe, cacheFile: string, fingerprint: string): Promise<string | undefined> {
  const cached = await lookupHash(cacheFile, fingerprint);
  if (cached === undefined) return undefined;
  const tag = `${recipe.repository}:${cached.hash}`;
  const checks = await Promise.all([
    inspectId(engine, tag).then((id) => id !== undefined),
    ...cached.bases.map(async ([ref, id]) => (await inspectId(engine, ref)) === id),
  ]);
  return checks.every(Boolean) ? tag : undefined;
}

// ---------------------------------------------------------------------------
// FROM lines and base images

/**
 * The external images a Dockerfile's FROM lines name, in order, deduplicated:
 * `${ARG}` substituted (build args, then ARG defaults before the first FROM),
 * `--platform` skipped, earlier stage names and `scratch` left out.
 */
export function parseFromRefs(dockerfile: string, buildArgs: Record<string, string>): string[] {
  const lines = dockerfile.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  const argDefaults: Record<string, string> = {};
  const stages = new Set<string>();
  const refs: string[] = [];
  let seenFrom = false;
  const subst = (s: string) =>
    s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?([-+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_m, a: string | undefined, op: string | undefined, word: string | undefined, b: string | undefined) => {
      const name = (a ?? b)!;
      const v = buildArgs[name] ?? argDefaults[name];
      if (op === '-') return v ? v : (word ?? '');
      if (op === '+') return v ? (word ?? '') : '';
      return v ?? '';
    });
  for (const raw of lines) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [instr, ...rest] = line.split(/\s+/);
    const kw = instr?.toUpperCase();
    if (kw === 'ARG' && !seenFrom) {
      for (const decl of rest) {
        const eq = decl.indexOf('=');
        if (eq > 0) argDefaults[decl.slice(0, eq)] = decl.slice(eq + 1).replace(/^"(.*)"$/, '$1');
      }
    } else if (kw === 'FROM') {
      seenFrom = true;
      const words = rest.filter((w) => !w.startsWith('--'));
      const image = subst(words[0] ?? '');
      const external = image && image.toLowerCase() !== 'scratch' && !stages.has(image.toLowerCase());
      if (words[1]?.toLowerCase() === 'as' && words[2]) stages.add(words[2].toLowerCase());
      if (external && !refs.includes(image)) refs.push(image);
    }
  }
  return refs;
}

/** How the engine lists a reference in RepoTags (`debian` -> `debian:latest`, no `docker.io/library/`). */
export function familiarRef(ref: string): string {
  let r = ref.replace(/^docker\.io\//, '').replace(/^index\.docker\.io\//, '').replace(/^library\//, '');
  if (!r.includes('@') && !/:[^/]+$/.test(r)) r += ':latest';
  return r;
}

interface ListedImage {
  Id: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
  Labels?: Record<string, string> | null;
  /** Seconds since the epoch. */
  Created?: number;
}

/** One call: the base images and all tags of `repository`. */
async function listCandidates(engine: Engine, froms: string[], repository: string | undefined): Promise<ListedImage[]> {
  const reference = [...froms.filter((r) => !r.includes('@')).map(familiarRef)];
  if (repository) reference.push(`${repository}:*`);
  if (reference.length === 0) return [];
  try {
    return await engine.listImages({ filters: { reference } });
  } catch (e) {
    throw engineFailure('listing images', e);
  }
}

function findListed(listed: ListedImage[], ref: string): string | undefined {
  const want = familiarRef(ref);
  return listed.find((img) => img.RepoTags?.includes(want) || img.RepoDigests?.includes(want))?.Id;
}

async function inspectId(engine: Engine, ref: string): Promise<string | undefined> {
  try {
    return (await engine.getImage(ref).inspect()).Id;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw engineFailure(`inspecting image ${ref}`, e);
  }
}

function missingBase(ref: string): BottleError {
  return new BottleError('image-build', `base image ${ref} is not present locally and no registry provided it`, {
    fix: `build or load ${ref} on this host (docker build -t ${ref} ... / docker load), or make a registry reachable`,
  });
}

async function resolveBases(
  engine: Engine,
  froms: string[],
  listed: ListedImage[],
  progress: Progress,
  opts: EnsureImageOptions,
): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for (const ref of froms) {
    let id = findListed(listed, ref) ?? (await inspectId(engine, ref));
    if (!id) {
      if (familiarRef(ref) === BASE_IMAGE) await ensureBaseImage(engine, { debianMirror: opts.settings?.debianMirror }, progress);
      else {
        progress.step(`pulling base image ${ref}`);
        await tryPull(engine, ref, progress);
      }
      id = await inspectId(engine, ref);
    }
    if (!id) throw missingBase(ref);
    out.push([ref, id]);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Build

async function build(engine: Engine, recipe: ImageRecipe, files: ContextFile[], tag: string, hash: string, progress: Progress, noCache: boolean, network: EnsureImageOptions['network']): Promise<void> {
  const repo = recipe.repository;
  progress.step(`building image ${tag}`);
  let step = '';
  let stepOutput: string[] = [];
  let errorText: string | undefined;
  try {
    // Labels go in as one LABEL instruction appended to the Dockerfile in the
    // tar: the API's `labels` option adds one build step per label, which
    // makes "Step 3/9" of a 3-line Dockerfile.
    const allLabels = { ...(recipe.labels ?? {}), ...labels(undefined, 'image'), [LABEL_RECIPE]: repo, [LABEL_RECIPE_HASH]: hash };
    const dockerfilePath = normalizeAt(recipe.dockerfile);
    const withLabels = files.map((f): ContextFile => {
      if (f.path !== dockerfilePath || f.type !== 'file') return f;
      return { type: 'file', path: f.path, mode: f.mode, data: async () => appendLabels(await fileData(f), allLabels) };
    });
    const stream = await engine.buildImage(contextTar(withLabels), {
      t: tag,
      dockerfile: dockerfilePath,
      buildargs: { ...(recipe.buildArgs ?? {}), ...(network ? proxyArgs(network.proxy) : {}) },
      ...(network ? { networkmode: network.mode } : {}),
      rm: true,
      forcerm: true,
      ...(noCache ? { nocache: true } : {}),
    });
    await readJsonStream(stream, (msg: JsonMessage) => {
      if (typeof msg.stream === 'string') {
        for (const raw of msg.stream.split('\n')) {
          const line = raw.trimEnd();
          if (!line.trim()) continue;
          const m = /^Step (\d+\/\d+) : (.*)$/.exec(line);
          if (m) {
            step = m[1]!;
            stepOutput = [];
            progress.step(`${repo}: Step ${step} : ${truncate(m[2], 100)}`);
          } else {
            progress.detail(line);
            if (!/^ ---> |^Removing intermediate container /.test(line)) {
              stepOutput.push(line);
              if (stepOutput.length > 50) stepOutput.shift();
            }
          }
        }
      }
      const err = msg.errorDetail;
      if (typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string') {
        errorText = (err as { message: string }).message;
      } else if (typeof msg.error === 'string') errorText = msg.error;
      if (errorText !== undefined) progress.detail(errorText);
    });
  } catch (e) {
    errorText ??= engineFailure('build', e).message;
  }
  if (errorText === undefined && !(await imageExists(engine, tag))) errorText = 'the engine finished without producing the image';
  if (errorText !== undefined) {
    await removeQuietly(engine, tag); // nothing half-tagged
    throw buildError(repo, step, stepOutput, errorText);
  }
}

/** Docker's predefined proxy build args (kept out of the image and its cache key by the engine). */
function proxyArgs(proxy: string): Record<string, string> {
  return { HTTP_PROXY: proxy, HTTPS_PROXY: proxy, http_proxy: proxy, https_proxy: proxy, NO_PROXY: '', no_proxy: '' };
}

function buildError(repo: string, step: string, output: string[], errorText: string): BottleError {
  const first = (errorText.split('\n').find((l) => l.trim()) ?? errorText).trim();
  const code = /returned a non-zero code: (\d+)/.exec(first);
  const lastOut = output.filter((l) => !/^\[Warning\]/.test(l)).pop()?.trim();
  let reason = truncate(first, 300);
  if (code && lastOut) reason = `${truncate(lastOut, 200)} (exit code ${code[1]})`;
  else if (code) {
    const cmd = /^The command '(?:\/bin\/sh -c )?(.*)' returned/.exec(first)?.[1];
    reason = cmd ? `\`${truncate(cmd, 120)}\` exited with code ${code[1]}` : first;
  }
  const where = step ? ` at step ${step}` : '';
  return new BottleError('image-build', `building ${repo} failed${where}: ${reason}`, {
    fix: 'see the output above; rerun with --verbose',
    cause: new Error([...output.slice(-20), first].join('\n')),
  });
}

async function removeQuietly(engine: Engine, ref: string): Promise<void> {
  try {
    await engine.getImage(ref).remove();
  } catch {
    /* absent or in use */
  }
}

/** Untag older images of `repository` we built; images in use (or with children) stay. Best effort. */
/**
 * Older images of a repository are removed only once they are an hour old:
 * two bot-bottle versions (or checkouts) on one engine each build their own
 * tag, and neither may delete the image the other just ensured and is about
 * to start. Images in use by a container are never removed (the engine refuses).
 */
const PRUNE_GRACE_MS = 60 * 60_000;

async function pruneOlder(engine: Engine, repository: string, keep: string, progress: Progress, graceMs: number): Promise<void> {
  try {
    const imgs = (await engine.listImages({ filters: { label: [`${LABEL_RECIPE}=${repository}`, `${LABEL_MANAGED}=true`] } })) as ListedImage[];
    for (const img of imgs) {
      if ((img.Created ?? 0) * 1000 > Date.now() - graceMs) continue;
      for (const t of img.RepoTags ?? []) {
        if (t === keep || !t.startsWith(`${repository}:`)) continue;
        try {
          await engine.getImage(t).remove();
          progress.detail(`removed old image ${t}`);
        } catch (e) {
          if (!isConflict(e) && !isNotFound(e)) progress.detail(`could not remove old image ${t}: ${engineFailure('remove', e).message}`);
        }
      }
    }
  } catch {
    /* best effort */
  }
}

function truncate(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}

/** Context files as a tar; owned by root unless an owner is given (trees copied into the agent). */
export function contextTar(files: readonly ContextFile[], owner: { readonly uid: number; readonly gid: number } = { uid: 0, gid: 0 }): Readable {
  return tarStream(files.map((f): TarEntry => (f.type === 'file' ? { type: 'file', path: f.path, mode: f.mode, data: () => fileData(f), ...owner } : { ...f, ...owner })));
}
