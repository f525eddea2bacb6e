/**
 * The `git log -p` a range scan reads (git.ts): its markers, its arguments
 * and its process; and a way to start it before the scanner has loaded
 * (`prestartLog`, from the `scan` command's start: cli/scan-start.ts).
 *
 * Where git itself is the slow part of a scan (real history: diffing the
 * large files a range changes takes most of a second), every millisecond
 * before git starts is a millisecond added to the scan. Started before the
 * scanner's code is compiled and run, git begins about 25 ms earlier.
 */
import { spawn, type ChildProcessByStdio, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { closeSync, openSync, readSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { nodeCrypto } from './lazy-builtins.js';

/**
 * `bytes` random bytes as hex, from the kernel's generator: the same source
 * as crypto.randomBytes without loading node:crypto (about 8 ms of CPU on
 * every `bot-bottle scan`); node:crypto where there is no /dev/urandom.
 */
function randomHex(bytes: number): string {
  const b = Buffer.alloc(bytes);
  try {
    const fd = openSync('/dev/urandom', 'r');
    try {
      if (readSync(fd, b, 0, bytes, null) === bytes) return b.toString('hex');
    } finally {
      closeSync(fd);
    }
  } catch {
    // no /dev/urandom: below
  }
  return nodeCrypto().randomBytes(bytes).toString('hex');
}

const GIT_CONFIG = [
  '-c', 'core.quotePath=true',
  '-c', 'diff.noprefix=false',
  '-c', 'diff.mnemonicPrefix=false',
  '-c', 'color.ui=never',
  '-c', 'log.showSignature=false',
  '-c', 'diff.external=',
];

function gitEnv(): NodeJS.ProcessEnv {
  return { ...process.env, GIT_PAGER: 'cat', PAGER: 'cat', LC_ALL: 'C', GIT_TERMINAL_PROMPT: '0' };
}

/** Lines git writes around each commit's header, with a random part commit content cannot guess. */
export interface LogMarkers {
  readonly START: string;
  readonly END: string;
  readonly IDENT: string;
}

export function logMarkers(nonce = randomHex(8)): LogMarkers {
  return { START: `\x01${nonce} C `, END: `\x01${nonce} E`, IDENT: `\x01${nonce} I ` };
}

/** What git log walks: a list of commits on its stdin (in that order), every ref, or a range. */
export function revArgs(range: string | readonly string[]): string[] {
  return typeof range !== 'string' ? ['--no-walk=unsorted', '--stdin'] : range === '--all' ? ['--all'] : [range, '--'];
}

/** git log's arguments: every commit of `revs` with its patch, its tags (when `decorate`) and its identities. */
export function logArgs(m: LogMarkers, decorate: boolean, revs: readonly string[]): string[] {
  return [
    'log', '-p', '--cc', '-U0', '--no-renames', '--full-index', '--no-color', '--no-ext-diff', '--no-textconv',
    '--src-prefix=a/', '--dst-prefix=b/', '--submodule=short', '--encoding=UTF-8',
    // Decorations after a NUL on the first line: an explicit --decorate-refs overrides log.excludeDecoration.
    `--format=${m.START.replace('\x01', '%x01')}%H %P${decorate ? '%x00%D' : ''}%n${m.IDENT.replace('\x01', '%x01')}%an <%ae>%x00%cn <%ce>%n%B%n${m.END.replace('\x01', '%x01')}`,
    ...(decorate ? ['--decorate-refs=refs/tags/'] : []),
    ...revs,
  ];
}

type GitWithoutStdin = ChildProcessByStdio<null, Readable, Readable>;

/** git with `args` in `repoPath`; a stdin only when there is something to give it (one pipe fewer to make otherwise). */
export function spawnGit(repoPath: string, args: readonly string[], stdin: true): ChildProcessWithoutNullStreams;
export function spawnGit(repoPath: string, args: readonly string[], stdin: false): GitWithoutStdin;
export function spawnGit(repoPath: string, args: readonly string[], stdin: boolean): ChildProcessWithoutNullStreams | GitWithoutStdin {
  const argv = ['-C', repoPath, ...GIT_CONFIG, ...args];
  const env = gitEnv();
  return stdin ? spawn('git', argv, { env, stdio: ['pipe', 'pipe', 'pipe'] }) : spawn('git', argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
}

interface Prestarted {
  readonly repoPath: string;
  readonly args: readonly string[];
  readonly markers: LogMarkers;
  readonly child: GitWithoutStdin;
  adopted: boolean;
}

/** The scan's start and the scanner are two bundles (two copies of this module): they meet on a global. */
const SLOT = Symbol.for('bot-bottle.scan.prestarted-log');
type WithSlot = { [SLOT]?: Prestarted };

/**
 * Start the git log that a scan of `range` in `repoPath` with the default
 * options reads, for `adoptLog` to take over. Stopped at exit if nothing took it.
 */
export function prestartLog(repoPath: string, range: string): GitWithoutStdin {
  const markers = logMarkers();
  const args = logArgs(markers, true, revArgs(range));
  const child = spawnGit(repoPath, args, false);
  // A failed start is the scan's to report: it starts git itself then (adoptLog).
  child.on('error', () => undefined);
  const pre: Prestarted = { repoPath, args, markers, child, adopted: false };
  (globalThis as WithSlot)[SLOT] = pre;
  process.once('exit', () => {
    if (!pre.adopted) child.kill();
  });
  return child;
}

/**
 * The prestarted log, if it is exactly the one the caller would start
 * (`argsFor` its markers gives the same arguments, in the same repository);
 * otherwise none, and a prestarted log is stopped.
 */
export function adoptLog(repoPath: string, argsFor: (m: LogMarkers) => readonly string[]): { child: GitWithoutStdin; markers: LogMarkers } | undefined {
  const pre = (globalThis as WithSlot)[SLOT];
  if (!pre) return undefined;
  delete (globalThis as WithSlot)[SLOT];
  const same = pre.repoPath === repoPath && pre.child.pid !== undefined && JSON.stringify(argsFor(pre.markers)) === JSON.stringify(pre.args);
  if (!same) {
    pre.child.kill();
    pre.child.stdout.destroy();
    pre.child.stderr.destroy();
    return undefined;
  }
  pre.adopted = true;
  return { child: pre.child, markers: pre.markers };
}
