/**
 * The gate's HTTP server: git's smart protocol only, for the repos of the
 * bottle. Every ref advertisement (the first request of any fetch, clone or
 * push) is preceded by a refresh of the mirror from upstream; when that
 * fails the request fails, with a message git shows the user, within the
 * connect and fetch timeouts. Pushes run one at a time per repo.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { appendAudit, type AuditRecord } from './audit.js';
import { runHttpBackend, signalAllBackends } from './cgi.js';
import type { GitGateConfig } from './config.js';
import { baseGitEnv, runGit } from './git.js';
import { HOOK_REPO_ENV, HOOK_REPORT_ENV, type HookReport } from './hook.js';
import { scanFetched, type InboundScan } from './inbound.js';
import { ensureMirror, installHook, mirrorPath, projectRoot, refreshMirror, reportsDir, type RefreshResult } from './mirror.js';
import { GIT_GATE_CONFIG_ENV } from './config.js';
import { listenScoped } from '../net-scope.js';

/** One holder at a time; a waiter gives up after its deadline instead of hanging. */
export class RepoLock {
  private holder: Promise<void> | undefined;
  private what = '';

  async acquire(timeoutMs: number, what: string): Promise<(() => void) | { busy: string }> {
    const deadline = Date.now() + timeoutMs;
    while (this.holder) {
      const left = deadline - Date.now();
      if (left <= 0) return { busy: this.what };
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.holder, new Promise<void>((r) => (timer = setTimeout(r, left)))]);
      clearTimeout(timer);
    }
    let release!: () => void;
    this.holder = new Promise<void>((r) => (release = r));
    this.what = what;
    return () => {
      this.holder = undefined;
      release();
    };
  }
}

export interface GateServer {
  readonly server: Server;
  close(): Promise<void>;
}

const SERVICES = new Set(['git-upload-pack', 'git-receive-pack']);
const ROUTE_RE = /^\/([A-Za-z0-9_][A-Za-z0-9._-]*)\.git\/(info\/refs|git-upload-pack|git-receive-pack)$/;

function text(res: ServerResponse, status: number, msg: string): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache' }).end(`${msg}\n`);
}

const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

export async function startGate(cfg: GitGateConfig, hookArgv: readonly string[]): Promise<GateServer> {
  await mkdir(cfg.mirrorRoot, { recursive: true, mode: 0o700 });
  await mkdir(reportsDir(cfg), { recursive: true, mode: 0o700 });
  const hook = await installHook([cfg.hooksDir, join(cfg.mirrorRoot, 'hooks')], hookArgv);
  // No working hook: fetches are still served, every push is refused (never accepted unscanned).
  const pushesDisabled = 'error' in hook ? `the gate cannot run its pre-receive hook (${hook.error})` : undefined;
  if (pushesDisabled) log(`[git-gate] PUSHES DISABLED: ${pushesDisabled}`);
  for (const name of Object.keys(cfg.repos)) await ensureMirror(cfg, name, 'dir' in hook ? hook.dir : cfg.hooksDir);

  const locks = new Map<string, RepoLock>();
  const lockOf = (name: string): RepoLock => {
    let l = locks.get(name);
    if (!l) locks.set(name, (l = new RepoLock()));
    return l;
  };
  const cgiEnv = (name: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv =>
    baseGitEnv(cfg, { [GIT_GATE_CONFIG_ENV]: process.env[GIT_GATE_CONFIG_ENV] ?? '', [HOOK_REPO_ENV]: name, ...extra });

  /** Refresh under the repo's lock; a push holding it (waiting for a human) makes this a quick 503, not a hang. */
  const refresh = async (name: string): Promise<RefreshResult | { busy: string }> => {
    const repo = cfg.repos[name];
    if (!repo) return { ok: false, ms: 0, reason: 'unknown repo' };
    const release = await lockOf(name).acquire(cfg.fetchTimeoutMs, 'a push');
    if (typeof release !== 'function') return release;
    try {
      return await refreshMirror(cfg, name, repo);
    } finally {
      release();
    }
  };

  /**
   * Per repo, the ref tips whose history the inbound heuristics have seen (or
   * the agent itself pushed). In memory: after a restart the next fetch looks
   * again, within the same budget.
   */
  const inboundSeen = new Map<string, Set<string>>();
  /** Scan what the mirror gained since the last look; never throws (a failed scan is reported, not served around). */
  const scanInbound = async (name: string): Promise<InboundScan | { error: string }> => {
    try {
      const env = baseGitEnv(cfg);
      const refs = await runGit(['-C', mirrorPath(cfg, name), 'for-each-ref', '--format=%(objectname)', 'refs/heads', 'refs/tags'], { env, timeoutMs: 10_000 });
      if (refs.code !== 0) return { error: `cannot list refs: ${refs.stderr.trim().split('\n').pop() ?? ''}` };
      const seen = inboundSeen.get(name) ?? new Set<string>();
      const tips = [...new Set(refs.stdout.split('\n').filter(Boolean))].filter((t) => !seen.has(t));
      if (tips.length === 0) return { hits: [], commits: 0, truncated: false };
      const before = [...seen];
      // Marked before scanning: a concurrent fetch does not scan the same commits again.
      inboundSeen.set(name, new Set([...seen, ...tips]));
      return await scanFetched(mirrorPath(cfg, name), tips, before, env);
    } catch (e) {
      return { error: e instanceof Error ? e.message : String(e) };
    }
  };
  const inboundFields = (s: InboundScan | { error: string }): Partial<AuditRecord> =>
    'error' in s
      ? { inbound_error: s.error }
      : s.commits === 0
        ? {}
        : { inbound: s.hits, inbound_commits: s.commits, ...(s.truncated ? { inbound_truncated: true } : {}) };

  const audit = (rec: Omit<AuditRecord, 'time'>) => appendAudit(cfg.auditLog, { time: new Date().toISOString(), ...rec });

  async function advertise(req: IncomingMessage, res: ServerResponse, name: string, service: string, query: string): Promise<void> {
    const t0 = Date.now();
    const op = service === 'git-receive-pack' ? 'push' : 'fetch';
    if (op === 'push' && pushesDisabled) {
      text(res, 503, `bot-bottle git-gate: pushes are disabled: ${pushesDisabled}`);
      await audit({ repo: name, op, refs: [], commits_scanned: 0, findings: [], verdict: 'refused:hook-unavailable', ms: Date.now() - t0 });
      return;
    }
    const r = await refresh(name);
    const url = cfg.repos[name]?.url ?? name;
    if ('busy' in r) {
      text(res, 503, `bot-bottle git-gate: ${name} is busy with ${r.busy} (waiting for upstream or a human decision); try again shortly`);
      await audit({ repo: name, op, refs: [], commits_scanned: 0, findings: [], verdict: 'refused:busy', ms: Date.now() - t0 });
      return;
    }
    if (!r.ok) {
      text(res, 502, `bot-bottle git-gate: upstream ${url} unreachable: ${r.reason ?? 'unknown error'}; refusing to serve possibly stale data`);
      log(`[git-gate] ${name}: ${op} refused, upstream unreachable: ${r.reason ?? ''} (${r.ms} ms)`);
      await audit({ repo: name, op, refs: [], commits_scanned: 0, findings: [], verdict: 'refused:upstream-unreachable', ms: Date.now() - t0, reason: r.reason ?? '' });
      return;
    }
    // What this fetch can bring the agent, scanned while the advertisement is served (reported, never blocking).
    const inbound = op === 'fetch' ? scanInbound(name) : undefined;
    const cgi = await runHttpBackend(req, res, { projectRoot: projectRoot(cfg), pathInfo: `/${name}.git/info/refs`, query, env: cgiEnv(name) });
    if (op === 'fetch') {
      const fields = inbound ? inboundFields(await inbound) : {};
      const n = fields.inbound?.length ?? 0;
      if (n > 0) log(`[git-gate] ${name}: fetch: ${n} prompt-injection finding(s) in what upstream sent (see bot-bottle logs)`);
      await audit({ repo: name, op, refs: [], commits_scanned: 0, findings: [], verdict: cgi.status === 200 ? 'served' : `error:${cgi.status}`, ms: Date.now() - t0, upstream_ms: r.ms, ...fields });
    }
  }

  async function receive(req: IncomingMessage, res: ServerResponse, name: string, query: string): Promise<void> {
    const t0 = Date.now();
    if (pushesDisabled) {
      text(res, 503, `bot-bottle git-gate: pushes are disabled: ${pushesDisabled}`);
      return;
    }
    const release = await lockOf(name).acquire(cfg.pushTimeoutMs, 'another push');
    if (typeof release !== 'function') {
      text(res, 503, `bot-bottle git-gate: ${name} is busy with ${release.busy}; try again shortly`);
      return;
    }
    const reportPath = join(reportsDir(cfg), `${Date.now()}-${randomBytes(4).toString('hex')}.json`);
    try {
      const cgi = await runHttpBackend(req, res, {
        projectRoot: projectRoot(cfg),
        pathInfo: `/${name}.git/git-receive-pack`,
        query,
        env: cgiEnv(name, { [HOOK_REPORT_ENV]: reportPath }),
      });
      let report: HookReport | undefined;
      try {
        report = JSON.parse(await readFile(reportPath, 'utf8')) as HookReport;
      } catch {
        report = undefined;
      }
      const verdict = report?.verdict ?? (cgi.aborted ? 'aborted' : cgi.status === 200 ? 'no-hook-report' : `error:${cgi.status}`);
      if (!report) {
        // The hook did not report (nothing to update, or it never ran): resync the mirror from
        // upstream so it cannot keep a ref upstream never took.
        const again = await refreshMirror(cfg, name, cfg.repos[name]);
        if (!again.ok) log(`[git-gate] ${name}: resync after push failed: ${again.reason ?? ''}`);
      }
      // The agent's own commits are not news to it: a later fetch does not scan them as inbound.
      if (report && report.verdict.startsWith('forwarded')) {
        const seen = inboundSeen.get(name) ?? new Set<string>();
        for (const u of report.refs) if (!/^0+$/.test(u.new)) seen.add(u.new);
        inboundSeen.set(name, seen);
      }
      log(`[git-gate] ${name}: push ${verdict} (${report?.refs.map((u) => u.ref).join(' ') ?? ''}; ${report?.commits_scanned ?? 0} commits, ${report?.findings.length ?? 0} findings, ${Date.now() - t0} ms)`);
      await audit({
        repo: name,
        op: 'push',
        refs: report?.refs ?? [],
        commits_scanned: report?.commits_scanned ?? 0,
        findings: report?.findings ?? [],
        verdict: cgi.aborted && report ? `${report.verdict} (client gone)` : verdict,
        ms: Date.now() - t0,
        ...(report?.upstream_ms === undefined ? {} : { upstream_ms: report.upstream_ms }),
        ...(report?.proposal === undefined ? {} : { proposal: report.proposal }),
        ...(report?.reason === undefined ? {} : { reason: report.reason }),
      });
    } finally {
      release();
      await rm(reportPath, { force: true }).catch(() => undefined);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://gate');
    if (url.pathname === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ ok: true, repos: Object.keys(cfg.repos) }) + '\n');
      return;
    }
    const m = ROUTE_RE.exec(url.pathname);
    const name = m?.[1] ?? '';
    if (!m || !Object.hasOwn(cfg.repos, name)) {
      text(res, 404, `bot-bottle git-gate: no repository at ${url.pathname} (this bottle's repos: ${Object.keys(cfg.repos).map((n) => `/${n}.git`).join(', ')})`);
      return;
    }
    const what = m[2] ?? '';
    const query = url.search.replace(/^\?/, '');
    if (what === 'info/refs') {
      const service = url.searchParams.get('service') ?? '';
      if (req.method !== 'GET' || !SERVICES.has(service)) {
        text(res, 403, 'bot-bottle git-gate: only git smart HTTP is served (git >= 1.6.6)');
        return;
      }
      await advertise(req, res, name, service, query);
      return;
    }
    if (req.method !== 'POST') {
      text(res, 405, 'bot-bottle git-gate: POST only');
      return;
    }
    if (what === 'git-receive-pack') await receive(req, res, name, query);
    else await runHttpBackend(req, res, { projectRoot: projectRoot(cfg), pathInfo: `/${name}.git/git-upload-pack`, query, env: cgiEnv(name) });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      log(`[git-gate] internal error: ${e instanceof Error ? e.message : String(e)}`);
      text(res, 500, 'bot-bottle git-gate: internal error');
    });
  });
  // A push may wait minutes for a human: no overall request deadline; headers must still come quickly.
  server.requestTimeout = 0;
  server.headersTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  // `inside`: the agent's side and loopback only, never the egress side (net-scope.ts).
  const bound = await listenScoped(server, cfg.listen.host, cfg.listen.port);
  return {
    server,
    close: async () => {
      // Held pushes end now (their hooks withdraw their proposals), not when the init gives up on us.
      if (signalAllBackends('SIGTERM') > 0) await new Promise((r) => setTimeout(r, 1000));
      signalAllBackends('SIGKILL');
      const closed = bound.close();
      server.closeAllConnections();
      await closed;
    },
  };
}
