/**
 * Image builds against the real engine. The first run on a fresh machine
 * makes `debian:bookworm-slim` from the Debian mirror (kept as a cache); the
 * agent-shell build installs packages from the mirror. Test images are tagged
 * `bot-bottle-test/...` and removed at the end. What a build or a warm check
 * costs is counted in engine calls here; its time is a benchmark (bench/).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { BottleError } from '../src/errors.js';
import type { Progress } from '../src/progress.js';
import { BASE_IMAGE, ensureBaseImage } from '../src/backends/docker/base-image.js';
import { connectEngine, type Engine } from '../src/backends/docker/engine.js';
import { packageRoot } from '../src/paths.js';
import { agentShellRecipe, ensureImage, HOST_CA_FILE, type ImageRecipe, recipeHash } from '../src/backends/docker/images.js';

const run = promisify(execFile);
const PREFIX = 'bot-bottle-test/';

let engine: Engine;
const calls: Record<string, number> = {};
let work: string;

interface RecordedProgress extends Progress {
  steps: string[];
  details: string[];
}
function recorder(): RecordedProgress {
  const steps: string[] = [];
  const details: string[] = [];
  return {
    steps,
    details,
    step: (m) => steps.push(m),
    detail: (m) => details.push(m),
    warn: (m) => steps.push(`warn: ${m}`),
  };
}

/** Count calls of one Engine method (the engine object is ours alone). */
function spy(e: Engine, name: 'buildImage' | 'listImages' | 'getImage' | 'importImage'): void {
  const target = e as unknown as Record<string, (...a: unknown[]) => unknown>;
  const orig = target[name];
  target[name] = (...a: unknown[]): unknown => {
    calls[name] = (calls[name] ?? 0) + 1;
    return orig.apply(e, a);
  };
}
const count = (name: string) => calls[name] ?? 0;

async function testImages(): Promise<{ Id: string; RepoTags: string[] }[]> {
  const all = await engine.listImages();
  return all
    .map((i) => ({ Id: i.Id, RepoTags: (i.RepoTags ?? []).filter((t) => t.startsWith(PREFIX)) }))
    .filter((i) => i.RepoTags.length > 0);
}

async function removeTestImages(): Promise<void> {
  for (const img of await testImages()) {
    for (const t of img.RepoTags) {
      try {
        await engine.getImage(t).remove({ force: true });
      } catch {
        /* already gone */
      }
    }
  }
}

async function tagsOf(repository: string): Promise<string[]> {
  return (await testImages()).flatMap((i) => i.RepoTags).filter((t) => t.startsWith(`${repository}:`));
}

before(async () => {
  try {
    await run('docker', ['info']);
  } catch {
    await run('bash', [join(packageRoot(), 'scripts/ensure-engine.sh')]);
  }
  engine = await connectEngine();
  for (const n of ['buildImage', 'listImages', 'getImage', 'importImage'] as const) spy(engine, n);
  await removeTestImages();
  work = await mkdtemp(join(tmpdir(), 'bot-bottle-images-test-'));
});

after(async () => {
  try {
    await removeTestImages();
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});

void test('base image debian:bookworm-slim is ensured (debootstrap when missing); warm check is one inspect', { timeout: 600_000 }, async () => {
  await ensureBaseImage(engine, { debianMirror: undefined }, recorder());
  const info = await engine.getImage(BASE_IMAGE).inspect();
  assert.ok(info.Id.startsWith('sha256:'));
  // Whether pulled or made from the mirror here, it is Debian 12 and left no rootfs behind.
  const { stdout } = await run('docker', ['run', '--rm', BASE_IMAGE, 'cat', '/etc/debian_version']);
  assert.match(stdout, /^12\./);
  assert.deepEqual((await readdir(tmpdir())).filter((n) => n.startsWith('bot-bottle-rootfs-')), []);

  const before = count('getImage');
  const p2 = recorder();
  await ensureBaseImage(engine, { debianMirror: undefined }, p2);
  assert.equal(count('getImage') - before, 1);
  assert.deepEqual(p2.steps, []);
});

// ---------------------------------------------------------------------------
// A tiny recipe: host dir with an executable, a symlink and a >255-byte path,
// an inline Dockerfile, and the host CA bundle that every context carries.

const TINY = `${PREFIX}tiny`;
const LONG_DIR = `${'a'.repeat(60)}/${'b'.repeat(60)}/${'c'.repeat(60)}/${'d'.repeat(60)}`;

async function tinyRecipe(): Promise<ImageRecipe> {
  const src = join(work, 'tiny-src');
  await mkdir(join(src, 'bin'), { recursive: true });
  await mkdir(join(src, LONG_DIR), { recursive: true });
  await writeFile(join(src, 'hello.txt'), 'hello\n', { flag: 'wx' }).catch(() => undefined);
  await writeFile(join(src, 'bin', 'run.sh'), '#!/bin/sh\necho ran\n', { mode: 0o755 });
  await writeFile(join(src, LONG_DIR, 'file-with-a-rather-long-name-to-push-the-path-over-the-limit.txt'), 'deep\n');
  await symlink('../hello.txt', join(src, 'bin', 'hello-link')).catch(() => undefined);
  const dockerfile = [
    'FROM debian:bookworm-slim',
    'ARG NOTE',
    'COPY . /ctx/',
    'RUN test -x /ctx/bin/run.sh && [ "$(/ctx/bin/run.sh)" = ran ] \\',
    ' && test -L /ctx/bin/hello-link && [ "$(cat /ctx/bin/hello-link)" = "$(cat /ctx/hello.txt)" ] \\',
    ` && [ "$(cat /ctx/${LONG_DIR}/file-with-a-rather-long-name-to-push-the-path-over-the-limit.txt)" = deep ] \\`,
    ` && test -f /ctx/${HOST_CA_FILE} && [ "$(cat /ctx/note.txt)" = "$NOTE" ]`,
    '',
  ].join('\n');
  return {
    repository: TINY,
    context: [
      { at: '.', from: src },
      { at: 'Dockerfile', content: dockerfile },
      { at: 'note.txt', content: 'a note' },
    ],
    dockerfile: 'Dockerfile',
    buildArgs: { NOTE: 'a note' },
    labels: { 'bot-bottle.test': 'tiny' },
  };
}

let tinyTag = '';

void test('a tiny recipe builds; its tag is the content hash', { timeout: 300_000 }, async () => {
  const recipe = await tinyRecipe();
  const p = recorder();
  const buildsBefore = count('buildImage');
  tinyTag = await ensureImage(engine, recipe, p);
  assert.equal(count('buildImage') - buildsBefore, 1);
  assert.match(tinyTag, /^bot-bottle-test\/tiny:[0-9a-f]{16}$/);
  assert.equal(tinyTag, `${TINY}:${await recipeHash(engine, recipe)}`);
  assert.ok(p.steps.some((s) => s.startsWith(`${TINY}: Step 4/5 : RUN`)), p.steps.join('\n'));
  const info = await engine.getImage(tinyTag).inspect();
  assert.equal(info.Config.Labels['bot-bottle.recipe'], TINY);
  assert.equal(info.Config.Labels['bot-bottle.managed'], 'true');
  assert.equal(info.Config.Labels['bot-bottle.kind'], 'image');
  assert.equal(info.Config.Labels['bot-bottle.test'], 'tiny');
});

void test('a second ensure is a cache hit: one list call, no build, same image', async () => {
  const recipe = await tinyRecipe();
  const before = await engine.getImage(tinyTag).inspect();
  const c0 = { build: count('buildImage'), list: count('listImages'), get: count('getImage') };
  const p = recorder();
  const tag = await ensureImage(engine, recipe, p);
  assert.equal(tag, tinyTag);
  assert.equal(count('buildImage'), c0.build);
  assert.equal(count('listImages') - c0.list, 1);
  assert.equal(count('getImage'), c0.get);
  assert.deepEqual(p.steps, []);
  const afterInfo = await engine.getImage(tinyTag).inspect();
  assert.equal(afterInfo.Id, before.Id);
  assert.equal(afterInfo.Created, before.Created);
});

void test('with a hash cache, a warm ensure reads no context and lists nothing; a rewritten file or a vanished tag is a miss', async () => {
  const recipe = await tinyRecipe();
  const hashCache = join(work, 'cache', 'image-hashes.json');
  assert.equal(await ensureImage(engine, recipe, recorder(), { hashCache }), tinyTag);
  const c0 = { build: count('buildImage'), list: count('listImages') };
  assert.equal(await ensureImage(engine, recipe, recorder(), { hashCache }), tinyTag);
  assert.deepEqual({ build: count('buildImage'), list: count('listImages') }, c0);

  // The same content written again has a new ctime: hashed again, same tag.
  await writeFile(join(work, 'tiny-src', 'hello.txt'), 'hello\n');
  assert.equal(await ensureImage(engine, recipe, recorder(), { hashCache }), tinyTag);
  assert.equal(count('listImages') - c0.list, 1);

  // An entry naming a tag the engine does not have (pruned, another engine) is not trusted.
  const entries = JSON.parse(await readFile(hashCache, 'utf8')) as Record<string, { hash: string }>;
  for (const e of Object.values(entries)) e.hash = '0000000000000000';
  await writeFile(hashCache, JSON.stringify(entries));
  assert.equal(await ensureImage(engine, recipe, recorder(), { hashCache }), tinyTag);
  // Nor is a file that is not the cache's.
  await writeFile(hashCache, '[not json');
  assert.equal(await ensureImage(engine, recipe, recorder(), { hashCache }), tinyTag);
  assert.equal(count('buildImage'), c0.build);
  assert.equal(count('listImages') - c0.list, 3);
});

void test('changing one context file (or the CA bundle) changes the tag; the old tag is pruned once past its grace', { timeout: 300_000 }, async () => {
  const recipe = await tinyRecipe();
  const ca = join(work, 'other-ca.crt');
  await writeFile(ca, (await readFile('/etc/ssl/certs/ca-certificates.crt').catch(() => Buffer.from(''))).subarray(0, 2000));
  assert.notEqual(await recipeHash(engine, recipe, { hostCaBundle: ca }), tinyTag.split(':')[1]);
  await assert.rejects(recipeHash(engine, recipe, { hostCaBundle: join(work, 'missing.crt') }), (e: unknown) => e instanceof BottleError && e.kind === 'image-build');

  // A young older tag survives (another checkout may be about to start it) ...
  await writeFile(join(work, 'tiny-src', 'hello.txt'), 'hello, changed\n');
  const tag2 = await ensureImage(engine, recipe, recorder());
  assert.notEqual(tag2, tinyTag);
  assert.match(tag2, /^bot-bottle-test\/tiny:[0-9a-f]{16}$/);
  assert.deepEqual((await tagsOf(TINY)).sort(), [tinyTag, tag2].sort());
  // ... and one past the grace is pruned by the next build.
  await writeFile(join(work, 'tiny-src', 'hello.txt'), 'hello, changed again\n');
  const tag3 = await ensureImage(engine, recipe, recorder(), { pruneGraceMs: 0 });
  assert.deepEqual(await tagsOf(TINY), [tag3]);
  tinyTag = tag3;
});

void test('five concurrent ensures of a new recipe build once', { timeout: 300_000 }, async () => {
  const recipe: ImageRecipe = {
    repository: `${PREFIX}parallel`,
    context: [{ at: 'Dockerfile', content: `FROM debian:bookworm-slim\nRUN echo ${Date.now()} > /stamp && sleep 1\n` }],
    dockerfile: 'Dockerfile',
  };
  const b0 = count('buildImage');
  const tags = await Promise.all([1, 2, 3, 4, 5].map(() => ensureImage(engine, recipe, recorder())));
  assert.equal(new Set(tags).size, 1);
  assert.equal(count('buildImage') - b0, 1);
});

void test('a failing RUN is a one-line image-build error naming the step, and leaves no tagged image', { timeout: 300_000 }, async () => {
  const repo = `${PREFIX}fail`;
  const recipe: ImageRecipe = {
    repository: repo,
    context: [{ at: 'Dockerfile', content: 'FROM debian:bookworm-slim\nRUN echo "E: something broke" && exit 3\n' }],
    dockerfile: 'Dockerfile',
  };
  const p = recorder();
  await assert.rejects(ensureImage(engine, recipe, p), (e: unknown) => {
    assert.ok(e instanceof BottleError);
    assert.equal(e.kind, 'image-build');
    assert.equal(e.message, `building ${repo} failed at step 2/3: E: something broke (exit code 3)`);
    assert.ok(!e.message.includes('\n'));
    assert.equal(e.fix, 'see the output above; rerun with --verbose');
    return true;
  });
  assert.ok(p.details.includes('E: something broke'));
  assert.deepEqual(await tagsOf(repo), []);
  const { stdout } = await run('docker', ['ps', '-a', '--no-trunc', '--format', '{{.Command}}']);
  assert.ok(!stdout.includes('something broke'), 'no build container left behind');
});

void test('the shell agent image builds and has its tools, user and prompt runner', { timeout: 900_000 }, async () => {
  const tag = await ensureImage(engine, agentShellRecipe(`${PREFIX}agent-shell`), recorder());
  const builds = count('buildImage');
  assert.equal(await ensureImage(engine, agentShellRecipe(`${PREFIX}agent-shell`), recorder()), tag);
  assert.equal(count('buildImage'), builds, 'the second ensure builds nothing');

  const { stdout, stderr } = await run('docker', ['run', '--rm', tag, 'bash', '-c', 'curl --version && git --version && ssh -V && id -u && pwd && echo $HOME']);
  assert.match(stdout, /^curl \d/m);
  assert.match(stdout, /^git version/m);
  assert.match(stderr, /OpenSSH/);
  assert.match(stdout, /^1000$/m);
  assert.match(stdout, /^\/workspace$/m);
  assert.match(stdout, /^\/home\/agent$/m);

  const prompt = await run('docker', [
    'run',
    '--rm',
    tag,
    'bash',
    '-c',
    'echo "echo prompt ran as \\$(id -un) with \\$1" > /tmp/p.sh && bottle-run-prompt /tmp/p.sh arg1 && touch /workspace/ok && (bottle-run-prompt; echo "exit $?")',
  ]);
  assert.match(prompt.stdout, /^prompt ran as agent with arg1$/m);
  assert.match(prompt.stdout, /^exit 2$/m);
  const info = await engine.getImage(tag).inspect();
  assert.deepEqual(info.Config.Cmd, ['sleep', 'infinity']);
  assert.equal(info.Config.User, 'agent');
});
