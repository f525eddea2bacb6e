/**
 * Prompt-injection heuristics over what a fetch brings the agent: the commits
 * upstream gained since the gate last looked (their messages and the lines
 * their diffs add), scanned with the same `inbound` heuristics as the egress
 * DLP runs over responses. Reported in the audit log (`bot-bottle logs`),
 * never blocking: the agent asked for upstream's code, and a human reads the
 * finding.
 *
 * Bounded: newest commits first, at most `maxBytes` of `git log -p` output
 * and `timeoutMs`; past either the scan stops and says it was cut short.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { inboundFindings } from '../../secrets/index.js';

export interface InboundHit {
  readonly commit: string;
  /** File path, or `<commit-message>`. Upstream's text: escape it before a human reads it. */
  readonly path: string;
  /** 1-based line in the file (or message). */
  readonly line: number;
  readonly rule: string;
  /** What fired, cut to EXCERPT characters. Upstream's text: escape it before a human reads it. */
  readonly excerpt: string;
}

export interface InboundScan {
  readonly hits: readonly InboundHit[];
  readonly commits: number;
  /** The budget (bytes or time) ended the scan before the last commit. */
  readonly truncated: boolean;
}

export interface InboundLimits {
  readonly maxBytes: number;
  readonly timeoutMs: number;
  readonly maxHits: number;
}

export const INBOUND_LIMITS: InboundLimits = { maxBytes: 8 << 20, timeoutMs: 20_000, maxHits: 50 };
const EXCERPT = 160;

/** Lines (1-based numbers) of one file's added text or one message. */
interface Chunk {
  numbers: number[];
  lines: string[];
}

/**
 * Scan `git log -p` of `tips` not reachable from `seen`, in the bare
 * repository `dir`. `env` is git's environment (no upstream credential is
 * needed: everything is local).
 */
export function scanFetched(dir: string, tips: readonly string[], seen: readonly string[], env: NodeJS.ProcessEnv, limits: InboundLimits = INBOUND_LIMITS): Promise<InboundScan> {
  if (tips.length === 0) return Promise.resolve({ hits: [], commits: 0, truncated: false });
  const nonce = randomBytes(8).toString('hex');
  const START = `\x01${nonce} C `;
  const END = `\x01${nonce} E`;
  const hits: InboundHit[] = [];
  let commits = 0;
  let commit = '';
  let state: 'none' | 'msg' | 'diff' | 'hunk' = 'none';
  let path = '';
  let newLine = 0;
  let chunk: Chunk = { numbers: [], lines: [] };

  const flush = (where: string) => {
    if (chunk.lines.length === 0) return;
    const text = chunk.lines.join('\n');
    const starts: number[] = [];
    let off = 0;
    for (const l of chunk.lines) {
      starts.push(off);
      off += l.length + 1;
    }
    for (const f of inboundFindings(text)) {
      if (hits.length >= limits.maxHits) break;
      let i = starts.length - 1;
      while (i > 0 && (starts[i] ?? 0) > f.start) i--;
      hits.push({ commit, path: where, line: chunk.numbers[i] ?? 0, rule: f.rule, excerpt: f.match.replace(/\s+/g, ' ').slice(0, EXCERPT) });
    }
    chunk = { numbers: [], lines: [] };
  };

  const onLine = (line: string) => {
    if (line.startsWith(START)) {
      if (state === 'hunk') flush(path);
      commit = line.slice(START.length).trim();
      commits++;
      state = 'msg';
      return;
    }
    if (state === 'msg') {
      if (line === END) {
        while (chunk.lines.length > 0 && chunk.lines[chunk.lines.length - 1] === '') {
          chunk.lines.pop();
          chunk.numbers.pop();
        }
        flush('<commit-message>');
        state = 'diff';
      } else {
        chunk.numbers.push(chunk.lines.length + 1);
        chunk.lines.push(line);
      }
      return;
    }
    if (line.startsWith('diff --git ')) {
      if (state === 'hunk') flush(path);
      path = '';
      state = 'diff';
      return;
    }
    if (state === 'hunk') {
      const c = line.charCodeAt(0);
      if (c === 43 /* + */) {
        chunk.numbers.push(newLine++);
        chunk.lines.push(line.slice(1));
      } else if (c === 32 /* space */) newLine++;
      else if (line.startsWith('@@')) startHunk(line);
      return;
    }
    if (state !== 'diff') return;
    if (line.startsWith('+++ ')) {
      const p = line.slice(4);
      // core.quotePath=false: only paths with quotes, backslashes or control characters stay quoted (shown escaped later).
      if (p !== '/dev/null') path = p.replace(/^"?b\//, '').replace(/"$/, '');
    } else if (line.startsWith('@@')) startHunk(line);
  };
  const startHunk = (line: string) => {
    const plus = /\+(\d+)/.exec(line.slice(2, line.indexOf('@@', 2)));
    newLine = plus ? Number(plus[1]) : 0;
    state = 'hunk';
  };

  const args = [
    '-C', dir, '-c', 'core.quotePath=false', '-c', 'diff.noprefix=false', '-c', 'color.ui=never',
    'log', '-p', '-U0', '--no-merges', '--no-renames', '--no-color', '--no-ext-diff', '--no-textconv', '--src-prefix=a/', '--dst-prefix=b/', '--encoding=UTF-8',
    `--format=${START.replace('\x01', '%x01')}%H%n%B%n${END.replace('\x01', '%x01')}`,
    '--stdin', '--',
  ];
  return new Promise((resolve, reject) => {
    const p = spawn('git', args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let bytes = 0;
    let truncated = false;
    let rest = '';
    let failed: Error | undefined;
    const stop = () => {
      truncated = true;
      p.kill('SIGKILL');
    };
    const timer = setTimeout(stop, limits.timeoutMs);
    p.stdout.setEncoding('utf8');
    p.stdout.on('data', (s: string) => {
      if (truncated || failed) return;
      bytes += s.length;
      try {
        const parts = (rest + s).split('\n');
        rest = parts.pop() ?? '';
        for (const l of parts) onLine(l);
      } catch (e) {
        failed = e instanceof Error ? e : new Error(String(e));
        p.kill('SIGKILL');
        return;
      }
      if (bytes >= limits.maxBytes || hits.length >= limits.maxHits) stop();
    });
    const err: Buffer[] = [];
    p.stderr.on('data', (b: Buffer) => err.push(b));
    p.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    p.on('close', (code) => {
      clearTimeout(timer);
      if (failed) return reject(failed);
      if (!truncated && code !== 0) return reject(new Error(`git log: ${Buffer.concat(err).toString('utf8').trim().split('\n').pop() ?? `exit ${code}`}`));
      if (!truncated && rest) onLine(rest);
      // A cut commit still reports what it showed so far.
      if (state === 'hunk') flush(path);
      else if (state === 'msg') flush('<commit-message>');
      resolve({ hits, commits, truncated });
    });
    p.stdin.on('error', () => undefined);
    p.stdin.end([...tips, ...seen.map((s) => `^${s}`)].join('\n') + '\n');
  });
}
