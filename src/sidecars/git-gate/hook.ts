/**
 * The mirror's pre-receive hook: the gate's decision on a push. It runs
 * inside git-receive-pack with the pushed objects still in quarantine, so a
 * refused push leaves nothing behind. Whatever it writes to stderr reaches
 * the pushing agent as `remote:` lines.
 *
 * 1. Only branches and tags; a ref must name a commit (through tags).
 * 2. The commits new to upstream (`rev-list <tips> --not --all`: the mirror's
 *    refs are upstream's) are scanned commit by commit with the shared
 *    scanner, plus the messages of the pushed annotated tags.
 * 3. Any finding without an allow marker refuses the whole push (nothing is
 *    forwarded: a push is all or nothing, like `--atomic`). Findings that all
 *    carry an allow marker become a `push-hold` proposal a human must decide,
 *    with a reason.
 * 4. Clean (or approved): forwarded upstream, atomically, each ref leased on
 *    the value the agent saw. Only if upstream accepts does the hook succeed
 *    and the mirror take the refs, so it never claims what upstream refused.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { scanRange, type GitFinding } from '../../secrets/git.js';
import { scanText } from '../../secrets/index.js';
import { ProposalQueue, type Proposal } from '../supervise/queue.js';
import type { AuditFinding, RefUpdate } from './audit.js';
import { GIT_GATE_CONFIG_ENV, loadGitGateConfig, type GateRepo, type GitGateConfig } from './config.js';
import { baseGitEnv, CredentialMissingError, runGit, upstreamEnv } from './git.js';

export const HOOK_REPO_ENV = 'BOT_BOTTLE_GIT_GATE_REPO';
export const HOOK_REPORT_ENV = 'BOT_BOTTLE_GIT_GATE_REPORT';

/**
 * The scanner's inline allow markers (src/secrets/git.ts applies the same to
 * file lines and commit messages; tag messages are scanned here because a
 * pushed tag is not a ref yet while the hook runs).
 */
const ALLOW_MARKERS = ['bot-bottle:allow', 'gitleaks:allow'];
const ZERO = /^0+$/;

export interface HookReport {
  refs: RefUpdate[];
  commits_scanned: number;
  findings: AuditFinding[];
  verdict: string;
  upstream_ms?: number;
  proposal?: string;
  reason?: string;
}

const say = (line = ''): void => {
  process.stderr.write(`${line}\n`);
};

export function parseUpdates(stdin: string): RefUpdate[] {
  return stdin
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const [old = '', neu = '', ref = ''] = l.split(' ');
      return { ref, old, new: neu };
    });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** What receive-pack hands its hook: the repository and the quarantined objects of the push. */
const QUARANTINE_VARS = ['GIT_DIR', 'GIT_OBJECT_DIRECTORY', 'GIT_ALTERNATE_OBJECT_DIRECTORIES', 'GIT_QUARANTINE_PATH'];

function quarantineVars(): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const k of QUARANTINE_VARS) if (process.env[k] !== undefined) out[k] = process.env[k];
  return out;
}

async function git(cfg: GitGateConfig, args: readonly string[], input?: string): Promise<string> {
  const r = await runGit(args, { env: baseGitEnv(cfg, quarantineVars()), ...(input === undefined ? {} : { input }) });
  if (r.code !== 0) throw new Error(`git ${args[0] ?? ''}: ${r.stderr.trim().split('\n').at(-1) ?? 'failed'}`);
  return r.stdout;
}

interface Peeled {
  /** The commit the ref finally names, if any. */
  commit: string | undefined;
  /** Annotated tag objects on the way, outermost first. */
  tags: string[];
  /** The type that ended the chain when it is not a commit. */
  other: string | undefined;
}

async function peel(cfg: GitGateConfig, oid: string): Promise<Peeled> {
  const tags: string[] = [];
  let cur = oid;
  for (let depth = 0; depth < 10; depth++) {
    const type = (await git(cfg, ['cat-file', '-t', cur])).trim();
    if (type === 'commit') return { commit: cur, tags, other: undefined };
    if (type !== 'tag') return { commit: undefined, tags, other: type };
    tags.push(cur);
    const body = await git(cfg, ['cat-file', 'tag', cur]);
    const m = /^object ([0-9a-f]+)$/m.exec(body);
    if (!m?.[1]) return { commit: undefined, tags, other: 'malformed tag' };
    cur = m[1];
  }
  return { commit: undefined, tags, other: 'tag chain too deep' };
}

/** A pushed annotated tag's message, scanned like a commit message. */
async function scanTagMessage(cfg: GitGateConfig, tagOid: string, name: string, target: string, knownSecrets: readonly string[]): Promise<GitFinding[]> {
  const body = await git(cfg, ['cat-file', 'tag', tagOid]);
  const cut = body.indexOf('\n\n');
  const lines = (cut < 0 ? '' : body.slice(cut + 2)).replace(/\n+$/, '').split('\n');
  const text = lines.join('\n');
  const starts: number[] = [];
  let off = 0;
  for (const l of lines) {
    starts.push(off);
    off += l.length + 1;
  }
  const lineOf = (pos: number): number => {
    let i = 0;
    while (i + 1 < starts.length && (starts[i + 1] ?? Infinity) <= pos) i++;
    return i;
  };
  return scanText(text, { knownSecrets }).map((f) => {
    const first = lineOf(f.start);
    const last = lineOf(Math.max(f.start, f.end - 1));
    let allowed = false;
    for (let i = first; i <= last; i++) if (ALLOW_MARKERS.some((m) => (lines[i] ?? '').includes(m))) allowed = true;
    const out: GitFinding = { commit: target, path: `<tag:${name}>`, line: first + 1, rule: f.rule, redacted: f.redacted };
    if (allowed) out.allowed = true;
    if (f.via) out.via = f.via;
    return out;
  });
}

/** The bottle's own secret values; written with the credentials, so missing means not yet: refuse. */
async function readKnownSecrets(cfg: GitGateConfig): Promise<string[]> {
  if (!cfg.knownSecretsSecret) return [];
  const path = join(cfg.secretsDir, cfg.knownSecretsSecret);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new CredentialMissingError(`the bottle's secret list ${cfg.knownSecretsSecret} is not available (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (!Array.isArray(raw) || !raw.every((v) => typeof v === 'string')) throw new Error(`${path} is not a JSON array of strings`);
  return raw;
}

const short = (oid: string) => oid.slice(0, 12);

function findingLine(f: GitFinding): string {
  const where = f.path.startsWith('<') ? f.path : `file ${f.path}`;
  return `  commit ${short(f.commit)}  ${where}  line ${f.line}  rule ${f.rule}  value ${f.redacted}${f.via ? ` (hidden: ${f.via})` : ''}`;
}

function fixAdvice(findings: readonly GitFinding[]): string[] {
  const out = ['Nothing was sent upstream. Rewrite what carries the secret, then push again:'];
  if (findings.some((f) => !f.path.startsWith('<'))) {
    out.push(
      '  - in the last commit: remove it from the file, `git add` it, `git commit --amend`',
      '  - in an earlier commit: `git rebase -i <upstream-branch>`, mark that commit `edit`, remove it,',
      '    `git commit --amend`, `git rebase --continue` (a file added then deleted later in the push',
      '    is still in history: drop or edit the commit that added it)',
    );
  }
  if (findings.some((f) => f.path === '<commit-message>')) out.push('  - in a commit message: `git commit --amend` (last commit) or `reword` it in `git rebase -i <upstream-branch>`');
  if (findings.some((f) => f.path.startsWith('<tag:'))) out.push('  - in a tag message: `git tag -d NAME`, then `git tag -a NAME` again with a clean message');
  out.push(
    'A real credential that was committed must be treated as leaked: rotate it.',
    'A false positive: add `bot-bottle:allow` on that line; the push is then held for a human to approve.',
  );
  return out;
}

const toAudit = (f: GitFinding): AuditFinding => ({ commit: f.commit, path: f.path, line: f.line, rule: f.rule, ...(f.allowed ? { allowed: true } : {}) });

async function waitForHuman(cfg: GitGateConfig, name: string, repo: GateRepo, updates: readonly RefUpdate[], held: readonly GitFinding[]): Promise<Proposal> {
  const refs = updates.map((u) => u.ref.replace(/^refs\/(heads|tags)\//, '')).join(', ');
  say(`bot-bottle git-gate: push to ${name} HELD: ${held.length} finding(s) carry an allow comment, so a human decides.`);
  for (const f of held) say(findingLine(f));
  return holdForHuman(
    cfg,
    name,
    repo,
    updates,
    `push to ${name} (${refs}): ${held.length} secret finding(s) marked allowed`,
    ['The agent marked these lines with an allow comment:', ...held.map(findingLine)].join('\n'),
    held,
  );
}

/** Raise a `push-hold` proposal and wait for a human (or the timeout, or the agent giving up). */
async function holdForHuman(cfg: GitGateConfig, name: string, repo: GateRepo, updates: readonly RefUpdate[], summary: string, why: string, held: readonly GitFinding[] = []): Promise<Proposal> {
  const queue = new ProposalQueue(cfg.proposalsDir ?? '');
  const p = await queue.raise({
    kind: 'push-hold',
    bottle: cfg.identity,
    raised_by: 'git-gate',
    request: {
      repo: name,
      upstream: repo.url,
      refs: updates.map((u) => ({ ref: u.ref, old: u.old, new: u.new })),
      findings: held.map((f) => ({ commit: f.commit, path: f.path, line: f.line, rule: f.rule, redacted: f.redacted })),
    },
    summary,
    why,
    needs_reason: true,
  });
  const wait = cfg.holdTimeoutMs >= 300_000 ? `${Math.round(cfg.holdTimeoutMs / 60_000)} min` : `${Math.round(cfg.holdTimeoutMs / 1000)} s`;
  say(`Waiting up to ${wait} for a decision on proposal ${p.id}...`);
  const tick = setInterval(() => say(`  still waiting for a decision on ${p.id}`), 30_000);
  // The agent gave up (Ctrl-C, a dropped connection): the server TERMs us; withdraw the proposal.
  const cancel = new AbortController();
  const onTerm = () => cancel.abort();
  process.once('SIGTERM', onTerm);
  try {
    return await queue.waitFor(p.id, { timeoutMs: cfg.holdTimeoutMs, pollMs: 250, signal: cancel.signal });
  } catch (e) {
    if (!cancel.signal.aborted) throw e;
    return await queue.decide(p.id, { state: 'expired', by: 'git-gate', note: 'the agent cancelled the push before a decision' }).catch(() => queue.get(p.id));
  } finally {
    clearInterval(tick);
    process.removeListener('SIGTERM', onTerm);
  }
}

const PORCELAIN_FLAGS: Record<string, string> = { ' ': 'updated', '+': 'forced', '-': 'deleted', '*': 'created', '=': 'up to date', '!': 'REJECTED' };

/** `git push --porcelain`'s `<flag>\t<from>:<to>\t<summary>` as one readable line. */
export function porcelainLine(line: string): string | undefined {
  const m = /^([ +\-*=!])\t([^\t]*)\t(.*)$/.exec(line.trimEnd());
  if (!m) return undefined;
  const to = (m[2] ?? '').split(':').pop() ?? '';
  return `${to}: ${PORCELAIN_FLAGS[m[1] ?? ''] ?? m[1]} ${m[3] ?? ''}`.trimEnd();
}

async function forward(cfg: GitGateConfig, name: string, repo: GateRepo, updates: readonly RefUpdate[], report: HookReport): Promise<boolean> {
  let env: NodeJS.ProcessEnv;
  try {
    env = await upstreamEnv(cfg, name, repo);
  } catch (e) {
    if (!(e instanceof CredentialMissingError)) throw e;
    say(`bot-bottle git-gate: push to ${name} refused: ${e.message}`);
    report.verdict = 'refused:no-credential';
    report.reason = e.message;
    return false;
  }
  // Keep the quarantine visible: the pushed objects live there until the hook succeeds.
  const pushEnv = { ...env, ...quarantineVars() };
  const args = ['push', '--porcelain', '--no-verify', '--no-recurse-submodules'];
  if (updates.length > 1) args.push('--atomic');
  for (const u of updates) args.push(`--force-with-lease=${u.ref}:${ZERO.test(u.old) ? '' : u.old}`);
  args.push(repo.url);
  for (const u of updates) args.push(ZERO.test(u.new) ? `:${u.ref}` : `+${u.new}:${u.ref}`);
  const r = await runGit(args, { env: pushEnv, timeoutMs: cfg.pushTimeoutMs });
  report.upstream_ms = r.ms;
  say(`bot-bottle git-gate: upstream ${repo.url} answered:`);
  for (const l of r.stderr.split('\n').map((x) => x.trimEnd()).filter(Boolean)) say(`  ${l}`);
  for (const l of r.stdout.split('\n')) {
    const line = porcelainLine(l);
    if (line) say(`  ${line}`);
  }
  if (r.timedOut) {
    say(`bot-bottle git-gate: push to ${name} refused: upstream did not finish within ${Math.round(cfg.pushTimeoutMs / 1000)} s`);
    report.verdict = 'refused:upstream-timeout';
    return false;
  }
  if (r.code !== 0) {
    say(`bot-bottle git-gate: upstream refused the push; nothing changed on the gate either.`);
    report.verdict = 'refused:upstream';
    report.reason = r.stderr.trim().split('\n').at(-1) ?? '';
    return false;
  }
  return true;
}

export async function decide(cfg: GitGateConfig, name: string, repo: GateRepo, updates: RefUpdate[], repoPath: string, report: HookReport): Promise<boolean> {
  report.refs = updates;
  const bad = updates.filter((u) => !/^refs\/(heads|tags)\/./.test(u.ref));
  if (bad.length > 0) {
    say(`bot-bottle git-gate: push to ${name} refused: only branches and tags are forwarded (not ${bad.map((u) => u.ref).join(', ')})`);
    report.verdict = 'refused:ref-namespace';
    return false;
  }

  // Ref names are agent-written text that reaches the upstream: scanned like everything else.
  const refFindings: GitFinding[] = [];
  const knownForRefs = await readKnownSecrets(cfg);
  for (const u of updates) {
    for (const f of scanText(u.ref, { mode: 'egress', knownSecrets: knownForRefs })) {
      refFindings.push({ commit: ZERO.test(u.new) ? u.old : u.new, path: `<ref:${u.ref}>`, line: 0, rule: f.rule, redacted: f.redacted });
    }
  }

  // History rewrites and deletions: only as the bottle's manifest says (git-gate.rewrites).
  const rewrites: string[] = [];
  for (const u of updates) {
    if (ZERO.test(u.old)) continue;
    if (ZERO.test(u.new)) rewrites.push(`${u.ref} deleted`);
    else if (u.ref.startsWith('refs/tags/')) rewrites.push(`${u.ref} moved`);
    else if ((await runGit(['merge-base', '--is-ancestor', u.old, u.new], { env: baseGitEnv(cfg, quarantineVars()) })).code !== 0) rewrites.push(`${u.ref} rewritten (not a fast-forward)`);
  }
  if (rewrites.length > 0 && cfg.rewrites !== 'allow') {
    if (cfg.rewrites === 'refuse' || !cfg.proposalsDir) {
      say(`bot-bottle git-gate: push to ${name} refused: it rewrites history or deletes refs (${rewrites.join('; ')}).`);
      say(`This bottle's manifest does not allow that: set \`git-gate: {rewrites: supervise}\` (a human decides) or \`allow\` in the bottle file.`);
      report.verdict = 'refused:rewrite';
      report.reason = rewrites.join('; ');
      return false;
    }
    const p = await holdForHuman(cfg, name, repo, updates, `push to ${name} rewrites history: ${rewrites.join('; ')}`, ['The push rewrites history or deletes refs:', ...rewrites.map((r) => `  ${r}`)].join('\n'));
    report.proposal = p.id;
    if (p.state !== 'approved' && p.state !== 'approved-with-edits') {
      say(`bot-bottle git-gate: push to ${name} refused: proposal ${p.id} ${p.state === 'expired' ? 'expired' : `rejected by ${p.decided_by ?? 'a human'}`}`);
      report.verdict = p.state === 'expired' ? 'refused:hold-expired' : 'refused:hold-rejected';
      return false;
    }
    say(`bot-bottle git-gate: proposal ${p.id} approved by ${p.decided_by ?? 'a human'}: the rewrite goes through the secret scan like any push.`);
  }

  const tips: string[] = [];
  const tagTargets: { tag: string; name: string; target: string }[] = [];
  const knownTags = new Set((await git(cfg, ['for-each-ref', '--format=%(objectname)', 'refs/tags'])).split('\n').filter(Boolean));
  for (const u of updates) {
    if (ZERO.test(u.new)) continue;
    const p = await peel(cfg, u.new);
    if (!p.commit) {
      say(`bot-bottle git-gate: push to ${name} refused: ${u.ref} names a ${p.other ?? 'non-commit'}, not a commit`);
      report.verdict = 'refused:not-a-commit';
      return false;
    }
    tips.push(p.commit);
    const tagName = u.ref.replace(/^refs\/tags\//, '');
    for (const t of p.tags) if (!knownTags.has(t)) tagTargets.push({ tag: t, name: tagName, target: p.commit });
  }
  const knownSecrets = knownForRefs;
  const commits = tips.length === 0 ? [] : (await git(cfg, ['rev-list', '--reverse', '--topo-order', '--stdin', '--not', '--all'], tips.join('\n') + '\n')).split('\n').filter(Boolean);
  report.commits_scanned = commits.length;
  const tagScans: GitFinding[] = [];
  for (const t of tagTargets) tagScans.push(...(await scanTagMessage(cfg, t.tag, t.name, t.target, knownSecrets)));
  const findings = [...refFindings, ...(commits.length === 0 ? [] : await scanRange(repoPath, commits, { scanTags: false, knownSecrets })), ...tagScans];
  report.findings = findings.map(toAudit);

  const hard = findings.filter((f) => !f.allowed);
  if (hard.length > 0) {
    const scope = [`${commits.length} commit(s) new to upstream`, ...(tagTargets.length > 0 ? [`${tagTargets.length} tag message(s)`] : [])].join(' and ');
    say(`bot-bottle git-gate: push to ${name} REFUSED: ${hard.length} secret(s) in ${scope}`);
    for (const f of hard) say(findingLine(f));
    const held = findings.filter((f) => f.allowed);
    if (held.length > 0) say(`(and ${held.length} more marked allowed, which a human would have to approve)`);
    for (const l of fixAdvice(hard)) say(l);
    report.verdict = 'refused:secrets';
    return false;
  }

  const held = findings.filter((f) => f.allowed);
  if (held.length > 0) {
    if (!cfg.proposalsDir) {
      say(`bot-bottle git-gate: push to ${name} refused: ${held.length} allow-marked finding(s) need a human, and this bottle has no proposal queue`);
      for (const f of held) say(findingLine(f));
      report.verdict = 'refused:no-queue';
      return false;
    }
    const p = await waitForHuman(cfg, name, repo, updates, held);
    report.proposal = p.id;
    if (p.state !== 'approved' && p.state !== 'approved-with-edits') {
      const why = p.note ? `: ${p.note}` : '';
      say(`bot-bottle git-gate: push to ${name} refused: proposal ${p.id} ${p.state === 'expired' ? 'expired' : `rejected by ${p.decided_by ?? 'a human'}`}${why}`);
      report.verdict = p.state === 'expired' ? 'refused:hold-expired' : 'refused:hold-rejected';
      if (p.note) report.reason = p.note;
      return false;
    }
    say(`bot-bottle git-gate: proposal ${p.id} approved by ${p.decided_by ?? 'a human'}${p.note ? ` (${p.note})` : ''}; forwarding.`);
  }

  if (!(await forward(cfg, name, repo, updates, report))) return false;
  report.verdict = held.length > 0 ? 'forwarded:approved' : 'forwarded';
  return true;
}

/** `git-gate.js --hook pre-receive`: exit status is the verdict. */
export async function runPreReceiveHook(): Promise<number> {
  const report: HookReport = { refs: [], commits_scanned: 0, findings: [], verdict: 'error' };
  const reportPath = process.env[HOOK_REPORT_ENV];
  let ok = false;
  try {
    const cfg = loadGitGateConfig(process.env[GIT_GATE_CONFIG_ENV] ?? '');
    const name = process.env[HOOK_REPO_ENV] ?? '';
    const repo = cfg.repos[name];
    if (!repo) throw new Error(`unknown repo ${JSON.stringify(name)}`);
    ok = await decide(cfg, name, repo, parseUpdates(await readStdin()), process.cwd(), report);
  } catch (e) {
    // Fail closed: an error in the gate is a refusal, never a pass.
    const msg = (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ');
    const missing = e instanceof CredentialMissingError;
    say(`bot-bottle git-gate: push refused: ${missing ? '' : 'internal error: '}${msg}`);
    report.verdict = missing ? 'refused:no-credential' : 'error';
    report.reason = msg;
    ok = false;
  }
  if (reportPath) await writeFile(reportPath, JSON.stringify(report), { mode: 0o600 }).catch(() => undefined);
  return ok ? 0 : 1;
}
