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

  const quiet = { stdin: undefined, stdout: new PassThrough(), stderr: new PassThrough(), tty: false };
  const errText: string[] = [];
  quiet.stderr.on('data', (d: Buffer) => errText.push(d.toString()));
  quiet.stdout.resume();
  const made = await backend.exec(identity, ['sh', '-c', `rm -f ${AGENT_BUNDLE}; cd ${WORKSPACE} && git rev-parse --verify --quiet HEAD >/dev/null && git bundle create ${AGENT_BUNDLE} "$@" 2>&1 >/dev/null | tail -n 3 >&2; test -s ${AGENT_BUNDLE}`, 'export', ...range], quiet);
  if (made !== 0) {
    const why = errText.join('').trim();
    if (/empty bundle/i.test(why)) throw new BottleError('usage', `export: no commits in ${identity} since its workspace was copied`, { fix: 'commit in the bottle first (git commit)' });
    throw new BottleError('not-found', `export: ${identity} has no git history to export in ${WORKSPACE}${why ? ` (${why.split('\n')[0] ?? ''})` : ''}`, {
      fix: 'start with --cwd on a git repository, or `git init` and commit in the bottle',
    });
  }
  const scratch = await mkdtemp(join(tmpdir(), 'bot-bottle-export-'));
  try {
    const file = join(scratch, 'work.bundle');
    const out = createWriteStream(file, { mode: 0o600 });
    const code = await backend.exec(identity, ['sh', '-c', `cat ${AGENT_BUNDLE} && rm -f ${AGENT_BUNDLE}`], { stdin: undefined, stdout: out, stderr: quiet.stderr, tty: false });
    await new Promise<void>((r, j) => out.end((e?: Error | null) => (e ? j(e) : r())));
    if (code !== 0 || (await stat(file)).size === 0) throw new BottleError('launch', `export: the bundle could not be read from ${identity} (exit ${code})`);
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
