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
import { EventEmitter } from 'node:events';
import { closeSync, openSync, readSync } from 'node:fs';
import { PassThrough, Transform, type Readable } from 'node:stream';
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

/** What git runs with beyond the caller's environment: no pager, no prompt, C messages. */
export const GIT_ENV = { GIT_PAGER: 'cat', PAGER: 'cat', LC_ALL: 'C', GIT_TERMINAL_PROMPT: '0' } as const;

function gitEnv(): NodeJS.ProcessEnv {
  return { ...process.env, ...GIT_ENV };
}

/** git's whole argument list for `args` in `repoPath`, as `spawnGit` runs it. */
export function gitArgv(repoPath: string, args: readonly string[]): string[] {
  return ['-C', repoPath, ...GIT_CONFIG, ...args];
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

/** A git log a scan reads: a git it started, or one the launcher started (`PipedLog`). */
export interface LogProcess {
  readonly pid?: number | undefined;
  /** Started by bin/bot-bottle (`PipedLog`): a property, as the scan's start and the scanner each bundle a copy of this module. */
  readonly piped?: boolean;
  readonly stdout: Readable;
  readonly stderr: Readable;
  kill(): boolean;
  on(event: 'close', listener: (code: number | null) => void): this;
  on(event: 'error', listener: (e: Error) => void): this;
}

/** git with `args` in `repoPath`; a stdin only when there is something to give it (one pipe fewer to make otherwise). */
export function spawnGit(repoPath: string, args: readonly string[], stdin: true): ChildProcessWithoutNullStreams;
export function spawnGit(repoPath: string, args: readonly string[], stdin: false): GitWithoutStdin;
export function spawnGit(repoPath: string, args: readonly string[], stdin: boolean): ChildProcessWithoutNullStreams | GitWithoutStdin {
  const argv = gitArgv(repoPath, args);
  const env = gitEnv();
  return stdin ? spawn('git', argv, { env, stdio: ['pipe', 'pipe', 'pipe'] }) : spawn('git', argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
}

interface Prestarted {
  readonly repoPath: string;
  readonly args: readonly string[];
  readonly markers: LogMarkers;
  readonly child: LogProcess;
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
export function adoptLog(
  repoPath: string,
  argsFor: (m: LogMarkers) => readonly string[],
): { child: LogProcess; markers: LogMarkers } | undefined {
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

/** The variable bin/bot-bottle sets to the nonce of the log it started on Node's stdin (see `PipedLog`). */
export const PIPED_LOG_ENV = 'BOT_BOTTLE_SCAN_LOG';

/**
 * The log bin/bot-bottle started beside Node, for a plain range scan, on
 * Node's stdin: its git begins with Node instead of after Node's start and
 * the scanner's load (about 100 ms here), and Node forks no process for it
 * (10-20 ms of this thread a process here). Its arguments are `logArgs`',
 * written into dist/cli/scan-log.sh at build time (scripts/bundle-scan.mjs).
 *
 * The launcher ends git's output with a line of its own, `\x01NONCE X CODE`
 * (git's exit status), and sends git's stderr nowhere: when git failed, it is
 * run again here, for its message and status. A log that ends without that
 * line is an error, unless nothing came at all: then git's own log is read.
 */
class PipedLog extends EventEmitter implements LogProcess {
  /** No process of ours: anything but undefined, which marks a git that did not start. */
  readonly pid = 0;
  readonly piped = true;
  readonly stderr = new PassThrough();
  /**
   * What the scan reads: `input` passed through as it is read, its last bytes kept for the status line.
   * Through a stream, not a 'data' listener on `input`: that would set it flowing before the scan
   * listens, and a read in between would be lost; this one holds what is not yet read (and stops
   * reading `input` while it holds a buffer's worth).
   */
  readonly stdout: Transform;
  private tail: Buffer = Buffer.alloc(0);
  private bytes = 0;
  private over = false;

  constructor(
    private readonly input: Readable,
    private readonly trailer: RegExp,
    private readonly again: () => GitWithoutStdin,
  ) {
    super();
    const keep = (chunk: Buffer) => {
      this.bytes += chunk.length;
      this.tail = chunk.length >= 64 ? chunk.subarray(chunk.length - 64) : Buffer.concat([this.tail, chunk]).subarray(-64);
    };
    this.stdout = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        keep(chunk);
        done(null, chunk);
      },
    });
    // A read error is a log cut short (below); 'close' waits for the scan to read all that came, as a child's does.
    input.on('end', () => this.ended());
    input.on('error', () => this.ended());
    input.pipe(this.stdout, { end: false });
  }

  private close(code: number | null): void {
    if (this.stdout.readableEnded) this.emit('close', code);
    else this.stdout.once('end', () => this.emit('close', code));
  }

  /** Stop reading: the launcher's git ends at its next write (SIGPIPE); the scan hears 'close' as from a child. */
  kill(): boolean {
    if (this.input.destroyed) return false;
    this.input.destroy();
    process.nextTick(() => this.emit('close', null));
    return true;
  }

  private ended(): void {
    if (this.over) return;
    this.over = true;
    const status = this.trailer.exec(this.tail.toString('latin1'));
    if (status?.[1] === '0') {
      this.stdout.end();
      this.stderr.end();
      this.close(0);
      return;
    }
    const p = this.again();
    p.stderr.pipe(this.stderr);
    // As a status, not an 'error' event: the scan may not listen yet.
    p.on('error', (e) => {
      p.stderr.unpipe(this.stderr);
      this.stderr.end(`${e.message}\n`);
      if (!this.stdout.writableEnded) this.stdout.end();
      this.close(127);
    });
    if (this.bytes === 0) {
      // Nothing came (a dd that lacks iflag=fullblock stops at once): git's own log, read as the launcher's.
      p.stdout.pipe(this.stdout);
      p.on('close', (code) => this.close(code));
      return;
    }
    // git failed, or the log was cut short: what was read is not the whole range, whatever git says now.
    p.stdout.resume();
    this.stdout.end();
    p.on('close', (code) => this.close(code === 0 || code === null ? 1 : code));
  }
}

/** Take the log the launcher started on `input` (see `PipedLog`) as the one a scan of `range` in `repoPath` reads. */
export function adoptPipedLog(repoPath: string, range: string, nonce: string, input: Readable): void {
  const markers = logMarkers(nonce);
  const args = logArgs(markers, true, revArgs(range));
  const child = new PipedLog(input, new RegExp(`\x01${nonce} X (\\d+)\n$`), () => spawnGit(repoPath, args, false));
  (globalThis as WithSlot)[SLOT] = { repoPath, args, markers, child, adopted: false };
}
