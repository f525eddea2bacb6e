/**
 * The short-lived git processes of a range scan (git.ts), beside its logs
 * (git-log.ts): their failures as usage errors, their whole output, a commit
 * list on their stdin, and blobs read in one batch.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { BottleError } from '../errors.js';
import { spawnGit } from './git-log.js';

export function gitError(repo: string, what: string, stderr: string): BottleError {
  const msg = stderr.trim().split('\n').filter(Boolean).pop() ?? 'git failed';
  if (/not a git repository|cannot change to|No such file/i.test(stderr)) {
    return new BottleError('usage', `${repo} is not a git repository (${msg.replace(/^fatal: /, '')})`, {
      fix: 'pass --repo the path of a git working tree or bare repository',
    });
  }
  return new BottleError('usage', `git could not read ${what} in ${repo}: ${msg.replace(/^fatal: /, '')}`, {
    fix: 'pass --range BASE..HEAD with two commits that exist in the repository (see `git log --oneline`)',
  });
}

/** Run git in `repo` with `input` on its stdin, collecting its stdout. */
export function gitOutput(repo: string, args: readonly string[], what: string, input = ''): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const p = spawnGit(repo, args, true);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (b: Buffer) => out.push(b));
    p.stderr.on('data', (b: Buffer) => err.push(b));
    p.on('error', (e) => reject(new BottleError('usage', `cannot run git: ${e.message}`, { fix: 'install git (apt-get install git)' })));
    p.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(gitError(repo, what, Buffer.concat(err).toString('utf8')));
    });
    p.stdin.on('error', () => undefined);
    p.stdin.end(input);
  });
}

/** `commits` on git's stdin, a line each (git log --stdin). */
export function feed(child: ChildProcessWithoutNullStreams, commits: readonly string[]): ChildProcessWithoutNullStreams {
  child.stdin.on('error', () => undefined);
  child.stdin.end(commits.join('\n') + '\n');
  return child;
}

/** `git cat-file --batch`: read many blobs through one process. */
export async function readBlobs(repo: string, oids: readonly string[]): Promise<Map<string, Buffer>> {
  const blobs = new Map<string, Buffer>();
  const unique = [...new Set(oids)];
  if (unique.length === 0) return blobs;
  const data = await gitOutput(repo, ['cat-file', '--batch'], 'blobs', unique.join('\n') + '\n');
  let pos = 0;
  for (const oid of unique) {
    const nl = data.indexOf(10, pos);
    if (nl < 0) break;
    const header = data.subarray(pos, nl).toString('latin1').split(' ');
    pos = nl + 1;
    if (header[1] === 'missing' || header.length < 3) continue;
    const size = Number(header[2]);
    blobs.set(oid, data.subarray(pos, pos + size));
    pos += size + 1;
  }
  return blobs;
}
