/**
 * `export`: the agent's commits come back to the host as a branch. The agent
 * writes a git bundle of its /workspace history (the commits after the
 * `--cwd` copy when there was one); the bundle travels over the backend's
 * exec stream into a private temporary file; the host's git verifies it and
 * fetches it (objects fsck'ed) into a new branch. The agent's files are never
 * mounted on the host, and nothing in the target repository is overwritten.
 */
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { getBackend } from '../backends/index.js';
import type { Backend, ExecIO } from '../bottle/backend.js';
import { checkIdentity } from '../bottle/identity.js';
import { AGENT } from '../bottle/layout.js';
import { readMetadata } from '../bottle/state.js';
import { BottleError, errnoCode } from '../errors.js';
import type { Settings } from '../settings.js';
import { readWorkspaceBase } from '../workspace/state.js';

const execFileP = promisify(execFile);
const AGENT_BUNDLE = '/tmp/bot-bottle-export.bundle';
const WORKSPACE = AGENT.workspace;

export interface ExportOptions {
  /** Branch to create in DIR; default `bot-bottle/<identity>`. */
  readonly branch?: string;
}

export interface ExportResult {
  readonly dir: string;
  readonly branch: string;
  readonly head: string;
  /** Commits new to DIR on the branch. */
  readonly commits: number;
}

async function git(dir: string, args: readonly string[]): Promise<string> {
  const { stdout } = await execFileP('git', ['-C', dir, ...args], { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
  return stdout.trim();
}

const firstLine = (e: unknown): string => (e instanceof Error ? ((e as Error & { stderr?: string }).stderr || e.message).trim().split('\n')[0] ?? '' : String(e));

export async function exportBottle(settings: Settings, identity: string, dirArg: string, opts: ExportOptions = {}): Promise<ExportResult> {
  checkIdentity(identity);
  const meta = await readMetadata(settings.home, identity);
  const backend = getBackend(settings, meta.backend);
  const dir = resolve(settings.cwd, dirArg);
  const branch = opts.branch ?? `bot-bottle/${identity}`;
  await targetRepo(dir);
  try {
    await git(dir, ['check-ref-format', '--branch', branch]);
  } catch {
    throw new BottleError('usage', `export: ${JSON.stringify(branch)} is not a valid branch name`, { fix: 'pass --branch NAME' });
  }
  if (await git(dir, ['show-ref', '--verify', '--quiet', `refs/heads/${branch}`]).then(() => true, () => false)) {
    throw new BottleError('usage', `export: ${dir} already has a branch ${branch}; nothing is overwritten`, { fix: `pass --branch ANOTHER-NAME, or delete it first: git -C ${dir} branch -D ${branch}` });
  }
  // Only the commits after the copy, when DIR has the copy's commit; else the whole history.
  const base = await readWorkspaceBase(settings.home, identity);
  const haveBase = base !== undefined && (await git(dir, ['cat-file', '-e', `${base}^{commit}`]).then(() => true, () => false));
  const range = haveBase ? [`${base}..HEAD`] : ['HEAD'];

  const scratch = await mkdtemp(join(tmpdir(), 'bot-bottle-export-'));
  try {
    const file = join(scratch, 'work.bundle');
    const made = await writeBundle(backend, identity, range, file);
    if (made.code === 3) {
      throw new BottleError('not-found', `export: ${identity} has no git history to export in ${WORKSPACE}`, {
        fix: 'start with --cwd on a git repository, or `git init` and commit in the bottle',
      });
    }
    if (made.code !== 0) {
      if (/empty bundle/i.test(made.stderr)) throw new BottleError('usage', `export: no commits in ${identity} since its workspace was copied`, { fix: 'commit in the bottle first (git commit)' });
      throw new BottleError('launch', `export: the bundle could not be made in ${identity} (exit ${made.code}${made.stderr ? `: ${made.stderr.split('\n')[0] ?? ''}` : ''})`);
    }
    if ((await stat(file)).size === 0) throw new BottleError('launch', `export: the bundle could not be read from ${identity}`);
    try {
      await git(dir, ['bundle', 'verify', '--quiet', file]);
    } catch (e) {
      throw new BottleError('usage', `export: the bottle's bundle does not apply to ${dir}: ${firstLine(e)}`, { fix: 'export into the repository the workspace was copied from, or into a new folder' });
    }
    await git(dir, ['-c', 'transfer.fsckObjects=true', 'fetch', '--quiet', '--no-tags', '--no-write-fetch-head', file, `HEAD:refs/heads/${branch}`]);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  const head = await git(dir, ['rev-parse', `refs/heads/${branch}`]);
  const commits = Number(await git(dir, ['rev-list', '--count', haveBase ? `${base}..${head}` : head]));
  return { dir, branch, head, commits };
}

/**
 * The bottle writes a bundle of its workspace history to stdout (into
 * `file`, mode 600): in the running agent, or, for a preserved bottle whose
 * agent is gone, in a throwaway read-only container over its kept
 * workspace. Exit 3: no commits at all.
 */
async function writeBundle(backend: Backend, identity: string, range: readonly string[], file: string): Promise<{ code: number; stderr: string }> {
  const script = [
    `b=${AGENT_BUNDLE}; rm -f "$b"; cd ${WORKSPACE} || exit 3`,
    'git rev-parse --verify --quiet HEAD >/dev/null || exit 3',
    // git's own progress and hints are noise; keep its last words for the error.
    'git bundle create "$b" "$@" >/dev/null 2>"$b.err" || { tail -n 3 "$b.err" >&2; exit 4; }',
    'cat "$b"; rm -f "$b" "$b.err"',
  ].join('\n');
  const argv = ['sh', '-c', script, 'export', ...range];
  const errText: string[] = [];
  const stderr = new PassThrough();
  stderr.on('data', (d: Buffer) => errText.push(d.toString()));
  const run = async (exec: (io: ExecIO) => Promise<number>): Promise<number> => {
    const out = createWriteStream(file, { mode: 0o600 });
    try {
      return await exec({ stdin: undefined, stdout: out, stderr, tty: false });
    } finally {
      await new Promise<void>((r, j) => out.end((e?: Error | null) => (e ? j(e) : r())));
    }
  };
  let code: number;
  try {
    code = await run((io) => backend.exec(identity, argv, io));
  } catch (e) {
    // No running agent: a preserved bottle's workspace is still there to read.
    if (!(e instanceof BottleError && e.kind === 'not-found') || backend.execOnKeptWorkspace === undefined) throw e;
    const offline = backend.execOnKeptWorkspace.bind(backend);
    code = await run((io) => offline(identity, argv, io));
  }
  return { code, stderr: errText.join('').trim() };
}

/** DIR is a git repository, or a folder to make one in (created when missing). */
async function targetRepo(dir: string): Promise<void> {
  let exists = true;
  try {
    if (!(await stat(dir)).isDirectory()) throw new BottleError('usage', `export: ${dir} is not a folder`, { fix: 'pass a git repository or a new folder' });
  } catch (e) {
    if (e instanceof BottleError) throw e;
    if (errnoCode(e) !== 'ENOENT') throw new BottleError('usage', `export: ${dir} cannot be read (${errnoCode(e) ?? 'error'})`);
    exists = false;
  }
  if (exists && (await git(dir, ['rev-parse', '--git-dir']).then(() => true, () => false))) return;
  if (exists) {
    const { readdir } = await import('node:fs/promises');
    if ((await readdir(dir)).length > 0) throw new BottleError('usage', `export: ${dir} is neither a git repository nor empty`, { fix: 'pass the repository to bring the commits into, or a new folder' });
  }
  await execFileP('git', ['init', '--quiet', dir]);
}
