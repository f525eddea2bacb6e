/**
 * Scanning what a range of commits adds to a repository: commit by commit,
 * only the lines each commit adds (against its first parent; a merge shows only
 * what it adds beyond all its parents, `--cc`), its message, and the messages
 * of annotated tags that point into the range.
 *
 * `git log -p` streams the range (from both ends, in two processes, when it
 * takes a while: see `startSecond`); binary blobs (and files an attribute
 * marks `-diff`) are read with one `git cat-file --batch`.
 *
 * What "new" means: only added lines are scanned, so a secret that is already
 * in BASE is not reported, unless a commit of the range adds it again (moves
 * it, copies it): then it is reported once for that commit. A file added and
 * deleted within the range is reported for the commit that added it.
 */
import { availableParallelism } from 'node:os';
import { BottleError } from '../errors.js';
import { unpack } from './archive.js';
import { binaryStrings, isBinary } from './decoders.js';
import { DiffBytes } from './diff-bytes.js';
import { adoptLog, logArgs, logMarkers, revArgs, spawnGit, type LogMarkers, type LogProcess } from './git-log.js';
import { feed, gitError, gitOutput, readBlobs } from './git-run.js';
import { AddedLines, scanLines, type EmitFinding, type LineText } from './lines.js';
import { nowMs, readAhead } from './read-ahead.js';
import { SECOND_LOG, SECOND_PIPED_LOG, secondLogTrigger } from './second-log.js';
import { prepareRules, type ScanOptions } from './scan.js';

export interface GitFinding {
  commit: string;
  /** File path, or `<commit-message>`, or `<tag:NAME>`. */
  path: string;
  /** 1-based line in the file (or message); 0 for strings found inside binary content. */
  line: number;
  rule: string;
  redacted: string;
  /** The line carries an inline allow marker (`bot-bottle:allow`, `gitleaks:allow`): a human must decide. */
  allowed?: boolean;
  /** How the secret was hidden, when it was decoded (`base64`, `continuation`, `binary`). */
  via?: string;
}

export interface GitScanOptions extends ScanOptions {
  /** Annotated tags to scan whatever they point to (default: every annotated tag pointing into the range). */
  tags?: readonly string[];
  /** Scan annotated tags pointing into the range (default true). */
  scanTags?: boolean;
  /** Scan author and committer names and emails, and the paths of changed files (default true). */
  scanMetadata?: boolean;
  /** Cut the diff's added lines in WebAssembly where Node runs it (default true); false: the same, in JavaScript. */
  webAssembly?: boolean;
  /**
   * A second `git log` from the range's other end (see `startSecond`): true at once, false never; by
   * default once the scan has waited a while for git, on a host with more than one core.
   */
  secondLog?: boolean;
}

/** Either `BASE..HEAD` (any rev-list range), `--all`, or the list of commit ids to scan. */
export type GitRange = string | readonly string[];

/** Unpacked bytes of one compressed or archived blob, and of all of them in one scan: past it, a finding. */
const MAX_ARCHIVE_BLOB = 32 << 20;
const MAX_ARCHIVE_TOTAL = 128 << 20;
const NULL_OID = /^0+$/;

// ---------------------------------------------------------------- parsing helpers

/** Unquote a C-style quoted path as git writes it (`"a/caf\303\251"`). */
export function unquoteGitPath(s: string): string {
  if (!s.startsWith('"')) return s;
  const bytes: number[] = [];
  for (let i = 1; i < s.length; i++) {
    const ch = s[i];
    if (ch === '"') break;
    if (ch === '\\') {
      const n = s[++i] ?? '';
      const simple: Record<string, number> = { n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11, '\\': 92, '"': 34 };
      if (n in simple) bytes.push(simple[n] ?? 0);
      else if (/[0-7]/.test(n)) {
        bytes.push(parseInt(s.slice(i, i + 3), 8));
        i += 2;
      } else bytes.push(n.charCodeAt(0));
    } else bytes.push(...Buffer.from(ch ?? '', 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** The path of a `diff --git a/P b/P` header (no renames: both sides are the same path). */
function pathOfDiffHeader(line: string): string {
  if (line.startsWith('diff --cc ') || line.startsWith('diff --combined ')) {
    return unquoteGitPath(line.slice(line.indexOf(' ', 5) + 1));
  }
  const rest = line.slice('diff --git '.length);
  if (rest.startsWith('"')) {
    const q = /^"((?:[^"\\]|\\.)*)"/.exec(rest);
    return q ? unquoteGitPath(q[0]).replace(/^a\//, '') : rest;
  }
  const half = (rest.length - 1) / 2;
  return Number.isInteger(half) ? rest.slice(2, half) : rest.slice(2);
}

// ---------------------------------------------------------------- the scan

interface PendingBlob {
  commit: string;
  path: string;
  oldOid: string | undefined;
  newOid: string;
}

/**
 * Scan the commits of `range` in `repoPath`. Findings are ordered by commit
 * (oldest first), then path, then line.
 */
export async function scanRange(repoPath: string, range: GitRange, opts: GitScanOptions = {}): Promise<GitFinding[]> {
  const findings: GitFinding[] = [];
  const order = new Map<string, number>();
  const pending: PendingBlob[] = [];
  const scanOpts: ScanOptions = {};
  if (opts.knownSecrets) scanOpts.knownSecrets = opts.knownSecrets;
  if (opts.entropy) scanOpts.entropy = opts.entropy;
  const metadata = opts.scanMetadata !== false;
  // Names, emails and paths never carry a credential legitimately: the strict (egress) rules apply.
  const metaOpts: ScanOptions = { ...scanOpts, mode: 'egress' };
  // The paths are scanned as one text, a path a line: nothing joins lines of it.
  const pathOpts: ScanOptions = { ...metaOpts, joinContinuations: false };
  // Tags named by the caller are listed while the range streams, started just after `git log`. Otherwise they
  // are listed only when git log's decorations (its tags, peeled) show one on a commit of the range, after the
  // log: most pushes have none, and spawning a process takes this thread for a while (fork, exec).
  const tagsNamed = (opts.tags?.length ?? 0) > 0;
  const decorate = opts.scanTags !== false && !tagsNamed;
  let tagged = false;
  let tagList: Promise<Buffer> | undefined;
  const listTags = () => {
    if (opts.scanTags === false) return;
    tagList = gitOutput(
      repoPath,
      // for-each-ref spells bytes %01 and newlines %0a
      ['for-each-ref', `--format=${START.replace('\x01', '%01')}%(objecttype) %(*objectname) %(refname:strip=2)%0a%(contents)%0a${END.replace('\x01', '%01')}`, 'refs/tags'],
      'tags',
    );
    tagList.catch(() => undefined);
  };

  const listed = typeof range !== 'string';
  const list = listed ? [...new Set(range)] : [];
  if (listed && list.length === 0) return [];
  const revs = revArgs(range);
  if (!listed && range !== '--all' && (range.startsWith('-') || range.trim() === '')) {
    throw new BottleError('usage', `not a commit range: ${JSON.stringify(range)}`, { fix: 'pass --range BASE..HEAD' });
  }
  // The log the scan's start may have begun already (git-log.ts), if it is this one; else a new one.
  const argsFor = (m: LogMarkers) => logArgs(m, decorate, revs);
  const started = listed ? undefined : adoptLog(repoPath, argsFor);
  const markers = started?.markers ?? logMarkers();
  const { START, END, IDENT } = markers;
  const what = `the range ${listed ? '(commit list)' : range}`;

  // Each path the range changes, and the commits that change it: a path is scanned once per scan.
  const pathCommits = new Map<string, string[]>();
  const emitFor = (c: string, p: string): EmitFinding => (line, rule, redacted, allowed, via) => {
    const f: GitFinding = { commit: c, path: p, line, rule, redacted };
    if (allowed) f.allowed = true;
    if (via) f.via = via;
    findings.push(f);
  };
  // Every path in one text after the log, not a text per commit: the strict rules' cost is mostly per text
  // (200 texts were 18 ms of the bench push), and a push changes the same files again and again.
  const scanPaths = () => {
    const these = [...pathCommits.keys()];
    scanLines({ lines: these, numbers: these.map((_, i) => i) }, pathOpts, (i, rule, redacted, allowed, via) => {
      const p = these[i] ?? '';
      for (const c of pathCommits.get(p) ?? []) emitFor(c, `<path:${p}>`)(0, rule, redacted, allowed, via);
    });
  };
  // A push's commits mostly share one or two authors: each name and email is scanned once, its findings repeated.
  const idents = new Map<string, Parameters<EmitFinding>[]>();
  const scanIdent = (ident: string, emit: EmitFinding) => {
    let found = idents.get(ident);
    if (!found) {
      const these: Parameters<EmitFinding>[] = [];
      scanLines({ lines: [ident], numbers: [0] }, metaOpts, (...f) => these.push(f));
      idents.set(ident, (found = these));
    }
    for (const f of found) emit(...f);
  };

  // Which log scans each commit (its list of commits): the first to reach it (see `readLog`).
  const owner = new Map<string, string[]>();

  /**
   * Scan one `git log -p` stream, collecting the commits it scans in `mine`.
   * Reaching a commit another log has taken, a log that `yields` stops there
   * (its git is stopped, the rest of its output ignored); one that does not
   * steps over that commit. `onWait` is told how long each wait for git's
   * output lasted.
   */
  const readLog = (p: LogProcess, what: string, mine: string[], yields: boolean, onWait?: (ms: number, now: number) => void): Promise<void> => {
    let commit = '';
    let state: 'none' | 'msg' | 'header' | 'hunk' | 'skip' = 'none';
    let msg: string[] = [];
    let path = '';
    let parents = 1;
    let oids: string[] = [];
    let newLine = 0;
    let added = new AddedLines();
    let stopped = false;
    // The paths of this commit so far (a path changing type shows twice in one commit).
    let commitPaths = new Set<string>();
    const diff = new DiffBytes(opts.webAssembly);

    const flushFile = () => {
      const text = diff.take();
      if (!added.empty) added.scan(text, scanOpts, emitFor(commit, path));
      added = new AddedLines();
    };
    const flushMessage = () => {
      while (msg.length > 0 && msg[msg.length - 1] === '') msg.pop();
      scanLines({ lines: msg, numbers: msg.map((_, i) => i + 1) }, scanOpts, emitFor(commit, '<commit-message>'));
      msg = [];
    };

    const onLine = (line: string) => {
      if (line.startsWith(START)) {
        flushFile();
        commit = line.slice(START.length).split(' ')[0] ?? '';
        const taken = owner.get(commit);
        if (taken !== undefined && taken !== mine) {
          if (yields) {
            stopped = true;
            p.kill();
          }
          state = 'skip';
          return;
        }
        owner.set(commit, mine);
        mine.push(commit);
        commitPaths = new Set();
        // Anything after the NUL is a tag on this commit (only refs/tags/ decorate).
        if (decorate && !tagged) {
          const nul = line.indexOf('\0', START.length);
          tagged = nul >= 0 && nul + 1 < line.length;
        }
        state = 'msg';
        return;
      }
      if (state === 'skip') return;
      if (state === 'msg') {
        if (line.startsWith(IDENT)) {
          if (metadata) {
            const [author = '', committer = ''] = line.slice(IDENT.length).split('\0');
            scanIdent(author, emitFor(commit, '<author>'));
            if (committer !== author) scanIdent(committer, emitFor(commit, '<committer>'));
          }
          return;
        }
        if (line === END) {
          flushMessage();
          state = 'header';
        } else msg.push(line);
        return;
      }
      if (line.startsWith('diff --git ') || line.startsWith('diff --cc ') || line.startsWith('diff --combined ')) {
        flushFile();
        path = pathOfDiffHeader(line);
        if (metadata && !commitPaths.has(path)) {
          commitPaths.add(path);
          const changes = pathCommits.get(path);
          if (!changes) pathCommits.set(path, [commit]);
          else changes.push(commit);
        }
        oids = [];
        state = 'header';
        return;
      }
      if (state === 'hunk') {
        // Added, removed and context lines are read from the bytes (onBytes).
        if (line.startsWith('@@')) startHunk(line);
        return;
      }
      if (state !== 'header') return;
      if (line.startsWith('index ')) {
        const spec = line.slice(6).split(' ')[0] ?? '';
        const [from = '', to = ''] = spec.split('..');
        oids = [...from.split(','), to];
      } else if (line.startsWith('+++ ')) {
        const p = line.slice(4);
        if (p !== '/dev/null') path = unquoteGitPath(p).replace(/^b\//, '');
      } else if (line.startsWith('Binary files ')) {
        const newOid = oids[oids.length - 1];
        const oldOid = oids.length === 2 ? oids[0] : undefined;
        if (newOid && !NULL_OID.test(newOid)) {
          pending.push({ commit, path, newOid, oldOid: oldOid && !NULL_OID.test(oldOid) ? oldOid : undefined });
        }
      } else if (line.startsWith('@@')) startHunk(line);
    };
    const startHunk = (line: string) => {
      let at = 0;
      while (line.charCodeAt(at) === 64 /* @ */) at++;
      parents = Math.max(1, at - 1);
      const plus = /\+(\d+)/.exec(line.slice(at, line.indexOf('@@', at)));
      newLine = plus ? Number(plus[1]) : 0;
      // `+N,0`: nothing added; `@@ -1 +0,0 @@` lines start at 0 only when empty.
      state = 'hunk';
    };
    /**
     * Whole lines of the stream (`buf` ends with a newline). Most of a push is
     * runs of `+` lines of one-parent diffs: each run joins the file's text
     * without its `+`s in one copy (diff-bytes.ts); runs of `-` lines are
     * stepped over. Every other line is decoded (UTF-8) for `onLine`.
     *
     * Added lines are cut as latin1 (one byte a character, so offsets are
     * byte offsets) and scanned so, not decoded as UTF-8: every rule of a push
     * matches ASCII only, and a UTF-8 byte above 0x7f never equals an ASCII
     * one, so a character outside ASCII becomes two to four characters no rule
     * takes for part of a secret, and lines keep their numbers. Decoded, one
     * curly quote in a file made all of its text a two-byte string, twice the
     * memory and slower to scan: half the bench push's text. The egress DLP
     * reads bodies the same way, and a known secret is also matched as its
     * UTF-8 bytes (known.ts).
     */
    const onBytes = (buf: Buffer) => {
      const n = buf.length;
      let pos = 0;
      while (pos < n && !stopped) {
        const c = buf[pos];
        if (state === 'hunk' && (c === 43 /* + */ || c === 45 /* - */ || c === 32) /* space */) {
          if (parents === 1) {
            const end = diff.cut(buf, pos, n, c, c === 43);
            if (end > pos) {
              if (c === 43) added.add(diff.length, newLine);
              if (c !== 45) newLine += diff.lines;
              pos = end;
              continue;
            }
          } else {
            // A combined diff (a merge): a column per parent. Added beyond every parent: no `-`, some `+`.
            const nl = buf.indexOf(10, pos);
            let plus = false;
            let minus = false;
            for (let k = pos; k < pos + parents && k < nl; k++) {
              if (buf[k] === 43) plus = true;
              else if (buf[k] === 45) minus = true;
            }
            if (!minus) {
              if (plus) added.add(diff.line(buf, Math.min(pos + parents, nl), nl), newLine);
              newLine++;
            }
            pos = nl + 1;
            continue;
          }
        }
        const nl = buf.indexOf(10, pos);
        if (nl < 0) throw new Error('git log: a read cut inside a line');
        onLine(buf.toString('utf8', pos, nl));
        pos = nl + 1;
      }
    };


    return new Promise<void>((resolve, reject) => {
      const err: Buffer[] = [];
      const output = readAhead(p.stdout, (chunk) => {
        if (stopped) return;
        const buf = diff.append(chunk);
        const last = buf.lastIndexOf(10);
        if (last >= 0) onBytes(buf.subarray(0, last + 1));
        // Bytes after the last newline of what has arrived: read with the next chunk (a newline never splits a character).
        if (!stopped) diff.keep(buf, last + 1);
      }, undefined, onWait);
      output.catch(() => p.kill());
      p.stderr.on('data', (b: Buffer) => err.push(b));
      p.on('error', (e) =>
        reject(
          e && (e as NodeJS.ErrnoException).code === 'ENOENT'
            ? new BottleError('usage', 'cannot run git: not installed', { fix: 'apt-get install git' })
            : e,
        ),
      );
      // git may exit before its output is processed: the end waits for both.
      p.on('close', (code) => {
        // Stopped: the rest of its output is not wanted (a log bin/bot-bottle started ends with no 'end' then).
        if (stopped) return resolve();
        output.then(() => {
          if (code !== 0) return reject(gitError(repoPath, what, Buffer.concat(err).toString('utf8')));
          try {
            if (diff.pending) onBytes(diff.append(Buffer.from('\n')));
            if (state === 'msg') flushMessage();
            flushFile();
            resolve();
          } catch (e) {
            reject(e instanceof Error ? e : new Error(String(e)));
          }
        }, reject);
      });
    });
  };

  /**
   * Where git's diffing is the slow part (real history: large files changed
   * a little), one git process is most of a scan's time, and the host has
   * more cores. So once the scan has waited for git's output for a while, a
   * second log of the same commits starts, in the opposite order; each
   * log scans the commits it reaches first and stops at the first the other
   * has taken, so the two meet where their work is even, whatever it costs
   * per commit. `git rev-list` then names every commit of the range: one
   * neither log scanned (a ref moved between their starts) is scanned after.
   */
  const newestFirst: string[] = [];
  const oldestFirst: string[] = [];
  const others: string[] = [];
  let second: { child: LogProcess; done: Promise<void> } | undefined;
  let expected: Promise<string[]> | undefined;
  const startSecond = () => {
    if (second) return;
    let child: LogProcess;
    if (listed) child = feed(spawnGit(repoPath, argsFor(markers), true), [...list].reverse());
    else child = spawnGit(repoPath, logArgs(markers, decorate, ['--reverse', ...revs]), false);
    const done = readLog(child, what, oldestFirst, true);
    done.catch(() => undefined);
    second = { child, done };
    if (!listed) expected = gitOutput(repoPath, ['rev-list', ...revs], what).then((b) => b.toString('latin1').split('\n').filter(Boolean));
    expected?.catch(() => undefined);
  };
  const first = listed ? feed(spawnGit(repoPath, argsFor(markers), true), list) : (started?.child ?? spawnGit(repoPath, argsFor(markers), false));
  if (tagsNamed) listTags();
  // git takes a while to start and find the first commit: build the rules meanwhile, not after its first bytes.
  prepareRules([scanOpts, metaOpts]);
  let walked: string[] | undefined;
  try {
    // On one core a second git would only take CPU from the first and from the scanner.
    const auto = opts.secondLog === undefined && availableParallelism() > 1;
    const trigger = secondLogTrigger(started?.child.piped ? SECOND_PIPED_LOG : SECOND_LOG, nowMs());
    const onWait = (ms: number, now: number) => {
      if (trigger(ms, now)) startSecond();
    };
    if (opts.secondLog === true) startSecond();
    await readLog(first, what, newestFirst, true, auto ? onWait : undefined);
    await second?.done;
    walked = await expected;
    const missing = walked?.filter((c) => !owner.has(c)) ?? [];
    if (missing.length > 0) {
      await readLog(feed(spawnGit(repoPath, logArgs(markers, decorate, revArgs(missing)), true), missing), what, others, false);
    }
  } catch (e) {
    second?.child.kill();
    throw e;
  }
  scanPaths();
  // The commits in git log's order (a list's, or a range's newest first). Findings are sorted oldest first at the
  // end (a range's order negated); named tags outside the range come after every commit.
  for (const c of [...(walked ?? []), ...newestFirst, ...oldestFirst.reverse(), ...others]) {
    if (!order.has(c)) order.set(c, listed ? order.size : -order.size);
  }

  if (tagged) listTags();

  // Binary blobs (and text git would not diff): what the new blob has that the old did not.
  let archiveBudget = MAX_ARCHIVE_TOTAL;
  if (pending.length > 0) {
    const blobs = await readBlobs(repoPath, pending.flatMap((b) => (b.oldOid ? [b.newOid, b.oldOid] : [b.newOid])));
    for (const b of pending) {
      const now = blobs.get(b.newOid);
      if (!now) continue;
      const before = b.oldOid ? blobs.get(b.oldOid) : undefined;
      const emit = emitFor(b.commit, b.path);
      const members = await unpack(now, Math.min(MAX_ARCHIVE_BLOB, archiveBudget));
      if (members === 'too-large') {
        findings.push({ commit: b.commit, path: b.path, line: 0, rule: 'archive-over-budget', redacted: `more than ${MAX_ARCHIVE_BLOB >> 20} MiB unpacked`, via: 'archive' });
        continue;
      }
      if (members !== undefined) {
        // Compressed or archived: every member is new content (a diff of compressed bytes says nothing).
        for (const m of members) {
          archiveBudget -= m.data.length;
          const text = isBinary(m.data) ? binaryStrings(m.data) : Buffer.from(m.data).toString('utf8');
          const lines = text.split('\n');
          const name = m.name ? `${b.path}!${m.name}` : b.path;
          scanLines({ lines, numbers: lines.map((_, i) => i + 1) }, scanOpts, (line, rule, redacted, allowed, via) => {
            const f: GitFinding = { commit: b.commit, path: name, line, rule, redacted, via: via ?? 'archive' };
            if (allowed) f.allowed = true;
            findings.push(f);
          });
        }
        continue;
      }
      if (!isBinary(now)) {
        // A text file git did not diff (an attribute said -diff): new lines are those the old blob lacks.
        const old = new Set(before ? before.toString('utf8').split('\n') : []);
        const lines = now.toString('utf8').split('\n');
        const src: LineText = { numbers: [], lines: [] };
        lines.forEach((l, i) => {
          if (!old.has(l)) {
            src.numbers.push(i + 1);
            src.lines.push(l);
          }
        });
        scanLines(src, scanOpts, emit);
        continue;
      }
      const old = new Set(before ? binaryStrings(before).split('\n') : []);
      const strings = binaryStrings(now).split('\n').filter((s) => !old.has(s));
      scanLines({ lines: strings, numbers: strings.map(() => 0) }, scanOpts, (line, rule, redacted, allowed, via) =>
        emit(line, rule, redacted, allowed, via ?? 'binary'),
      );
    }
  }

  // Annotated tags pointing into the range (or named).
  if (tagList && (order.size > 0 || (opts.tags?.length ?? 0) > 0)) {
    const out = (await tagList).toString('utf8');
    const named = new Set(opts.tags ?? []);
    let tag: { name: string; target: string; lines: string[] } | undefined;
    for (const line of out.split('\n')) {
      if (line.startsWith(START)) {
        const [type = '', target = '', ...name] = line.slice(START.length).split(' ');
        tag = type === 'tag' ? { name: name.join(' '), target, lines: [] } : undefined;
      } else if (line === END) {
        if (tag && (order.has(tag.target) || named.has(tag.name))) {
          const lines = tag.lines;
          while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
          if (!order.has(tag.target)) order.set(tag.target, order.size);
          scanLines({ lines, numbers: lines.map((_, i) => i + 1) }, scanOpts, emitFor(tag.target, `<tag:${tag.name}>`));
        }
        tag = undefined;
      } else tag?.lines.push(line);
    }
  }

  return findings.sort(
    (a, b) => (order.get(a.commit) ?? 0) - (order.get(b.commit) ?? 0) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0) || a.line - b.line,
  );
}
