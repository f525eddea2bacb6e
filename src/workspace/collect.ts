/**
 * `--cwd`: which files of a working tree go into the bottle's workspace, with
 * the credentials a checkout tends to carry taken out and the secret scanner
 * run over the rest. Resolved on the host before anything is created, so a
 * refusal leaves nothing behind.
 *
 * - Files `.gitignore` ignores stay home (git's own rules, nested files and
 *   global excludes included), unless `includeIgnored`.
 * - `.git/` travels (the agent works on the history), minus the places a
 *   clone keeps credentials: userinfo in remote URLs (config, FETCH_HEAD,
 *   reflog messages), `http.*.extraheader` (CI checkouts put tokens there)
 *   and `[credential]` sections.
 * - Every copied working file, and the cleaned git files, are scanned; a
 *   finding refuses the copy with file and line unless `allowSecrets`.
 */
import { execFile } from 'node:child_process';
import { lstat, mkdtemp, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { promisify } from 'node:util';
import { BottleError, errnoCode } from '../errors.js';
import { scanBytes } from '../secrets/index.js';
import type { AgentTree, TreeEntry } from '../bottle/tree.js';

const execFileP = promisify(execFile);
const SCAN_LIMIT_BYTES = 8 * 1024 * 1024;

export interface WorkspaceFinding {
  readonly file: string;
  readonly line: number;
  readonly rule: string;
  readonly redacted: string;
}

export interface CollectedWorkspace {
  readonly tree: AgentTree;
  /** HEAD of the copied repository, if any: `export` bundles the commits after it. */
  readonly head: string | undefined;
  readonly findings: readonly WorkspaceFinding[];
  readonly files: number;
  readonly bytes: number;
}

export interface CollectOptions {
  readonly includeIgnored?: boolean;
  readonly allowSecrets?: boolean;
  /** Where the tree lands in the agent. */
  readonly at: string;
}

async function git(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const { stdout } = await execFileP('git', [...args], { cwd, maxBuffer: 256 * 1024 * 1024, env: { ...process.env, GIT_TERMINAL_PROMPT: '0', ...env } });
  return stdout;
}

async function isRepoRoot(dir: string): Promise<boolean> {
  try {
    return (await lstat(join(dir, '.git'))).isDirectory();
  } catch {
    return false;
  }
}

/** Relative paths of the files to copy (not `.git/`), by git's rules. */
async function listFiles(dir: string, repo: boolean, includeIgnored: boolean): Promise<string[]> {
  if (includeIgnored) return walkAll(dir);
  const nul = (s: string) => s.split('\0').filter((p) => p !== '');
  if (repo) return nul(await git(['ls-files', '-z', '--cached', '--others', '--exclude-standard'], dir));
  // Not a repository: git's ignore rules still apply, through a throwaway git dir.
  const scratch = await mkdtemp(join(tmpdir(), 'bot-bottle-cwd-'));
  try {
    await git(['init', '--quiet', '--bare', scratch], dir);
    return nul(await git(['--git-dir', scratch, '--work-tree', dir, 'ls-files', '-z', '--others', '--exclude-standard'], dir));
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function walkAll(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(join(dir, rel))).sort()) {
    const r = rel === '' ? name : `${rel}/${name}`;
    if (r === '.git') continue;
    const st = await lstat(join(dir, r));
    if (st.isDirectory()) out.push(...(await walkAll(dir, r)));
    else out.push(r);
  }
  return out;
}

/** `https://user:token@host/x` -> `https://host/x`, anywhere in a text. */
export function stripUrlCredentials(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@'"<>]+@/gi, '$1');
}

/** `.git/config` without credentials: URLs cleaned, extra headers and credential sections removed. */
async function cleanGitConfig(configPath: string): Promise<Buffer> {
  const scratch = await mkdtemp(join(tmpdir(), 'bot-bottle-gitconfig-'));
  const copy = join(scratch, 'config');
  try {
    await writeFile(copy, await readFile(configPath), { mode: 0o600 });
    const listed = (await git(['config', '-f', copy, '--list', '-z'], scratch)).split('\0').filter(Boolean);
    const sections = new Set<string>();
    for (const item of listed) {
      const nl = item.indexOf('\n');
      const key = nl === -1 ? item : item.slice(0, nl);
      const value = nl === -1 ? '' : item.slice(nl + 1);
      const lower = key.toLowerCase();
      if (lower.startsWith('credential.') || lower === 'credential.helper') sections.add(key.slice(0, key.lastIndexOf('.')));
      else if (lower.endsWith('.extraheader')) await git(['config', '-f', copy, '--unset-all', key], scratch).catch(() => undefined);
      else if (stripUrlCredentials(value) !== value) {
        await git(['config', '-f', copy, '--unset-all', key], scratch).catch(() => undefined);
        await git(['config', '-f', copy, '--add', key, stripUrlCredentials(value)], scratch);
      }
    }
    for (const s of sections) await git(['config', '-f', copy, '--remove-section', s], scratch).catch(() => undefined);
    return await readFile(copy);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Files under `.git/` whose text may carry clone URLs with credentials. */
const URL_BEARING = (rel: string): boolean => rel === '.git/FETCH_HEAD' || rel.startsWith('.git/logs/');

export async function collectWorkspace(dir: string, opts: CollectOptions): Promise<CollectedWorkspace> {
  try {
    if (!(await lstat(dir)).isDirectory()) throw Object.assign(new Error(), { code: 'ENOTDIR' });
  } catch (e) {
    throw new BottleError('usage', `--cwd ${dir} is not a folder (${errnoCode(e) ?? 'error'})`, { fix: 'pass an existing folder to --cwd' });
  }
  const repo = await isRepoRoot(dir);
  let files: string[];
  try {
    files = await listFiles(dir, repo, opts.includeIgnored === true);
  } catch (e) {
    throw new BottleError('usage', `--cwd ${dir}: cannot list its files (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`, { fix: 'check that git is installed and the folder is readable' });
  }
  const entries = new Map<string, TreeEntry>();
  const addParents = (rel: string): void => {
    for (let d = posix.dirname(rel); d !== '.' && !entries.has(d); d = posix.dirname(d)) entries.set(d, { path: d, kind: 'dir', mode: 0o755 });
  };
  const findings: WorkspaceFinding[] = [];
  const scan = (rel: string, data: Buffer): void => {
    if (data.length > SCAN_LIMIT_BYTES) return;
    const { text, binary, findings: found } = scanBytes(data);
    for (const f of found) {
      findings.push({ file: rel, line: binary ? 0 : lineOf(text, f.start), rule: f.rule, redacted: f.redacted });
    }
  };
  let bytes = 0;
  for (const rel of files) {
    const abs = join(dir, rel);
    let st;
    try {
      st = await lstat(abs);
    } catch {
      continue; // listed by the index but deleted from the tree
    }
    addParents(rel);
    if (st.isSymbolicLink()) entries.set(rel, { path: rel, kind: 'symlink', mode: 0o777, target: await readlink(abs) });
    else if (st.isFile()) {
      entries.set(rel, { path: rel, kind: 'file', mode: st.mode & 0o111 ? 0o755 : 0o644, source: abs });
      bytes += st.size;
      if (st.size <= SCAN_LIMIT_BYTES) scan(rel, await readFile(abs));
    }
  }
  let head: string | undefined;
  if (repo) {
    for (const rel of await walkGitDir(dir)) {
      const abs = join(dir, rel);
      const st = await lstat(abs);
      addParents(rel);
      if (st.isDirectory()) entries.set(rel, { path: rel, kind: 'dir', mode: 0o755 });
      else if (st.isSymbolicLink()) entries.set(rel, { path: rel, kind: 'symlink', mode: 0o777, target: await readlink(abs) });
      else if (st.isFile()) {
        let content: Buffer | undefined;
        if (rel === '.git/config') content = await cleanGitConfig(abs);
        else if (URL_BEARING(rel)) content = Buffer.from(stripUrlCredentials(await readFile(abs, 'utf8')));
        if (content !== undefined) scan(rel, content);
        entries.set(rel, { path: rel, kind: 'file', mode: st.mode & 0o111 ? 0o755 : 0o644, ...(content !== undefined ? { content } : { source: abs }) });
        bytes += content?.length ?? st.size;
      }
    }
    head = (await git(['rev-parse', '--verify', '--quiet', 'HEAD'], dir).catch(() => '')).trim() || undefined;
  }
  const first = findings[0];
  if (first !== undefined && opts.allowSecrets !== true) {
    const more = findings.length > 1 ? ` (and ${findings.length - 1} more finding${findings.length > 2 ? 's' : ''})` : '';
    throw new BottleError('usage', `--cwd: ${join(dir, first.file)}${first.line > 0 ? `:${first.line}` : ''}: looks like a secret (${first.rule}: ${first.redacted})${more}; it would be copied into the bottle`, {
      fix: 'remove it (or add the file to .gitignore), or copy anyway with --allow-secrets',
    });
  }
  const sorted = [...entries.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { tree: { at: opts.at, entries: sorted, what: `working tree ${dir}` }, head, findings, files: files.length, bytes };
}

async function walkGitDir(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    out.push(rel);
    const st = await lstat(join(dir, rel));
    if (!st.isDirectory()) return;
    for (const name of (await readdir(join(dir, rel))).sort()) await walk(`${rel}/${name}`);
  };
  await walk('.git');
  return out;
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}
