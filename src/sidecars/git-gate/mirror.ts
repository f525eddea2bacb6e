/**
 * The per-repo bare mirrors in the bundle's tmpfs, and their refresh from
 * upstream. The mirror's `refs/heads/*` and `refs/tags/*` are exactly the
 * upstream's as of the last refresh (fetched with prune, and a push is only
 * accepted locally after upstream took it), so "new to upstream" is "not
 * reachable from any ref of the mirror".
 */
import { spawn } from 'node:child_process';
import { chmod, mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GateRepo, GitGateConfig } from './config.js';
import { baseGitEnv, CredentialMissingError, lastLine, runGit, upstreamEnv } from './git.js';

export const MIRROR_REFSPECS = ['+refs/heads/*:refs/heads/*', '+refs/tags/*:refs/tags/*'] as const;

export function projectRoot(cfg: Pick<GitGateConfig, 'mirrorRoot'>): string {
  return join(cfg.mirrorRoot, 'repos');
}

export function mirrorPath(cfg: Pick<GitGateConfig, 'mirrorRoot'>, name: string): string {
  return join(projectRoot(cfg), `${name}.git`);
}

export function reportsDir(cfg: Pick<GitGateConfig, 'mirrorRoot'>): string {
  return join(cfg.mirrorRoot, 'reports');
}

const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export const HOOK_SELFTEST_ENV = 'BOT_BOTTLE_GIT_GATE_HOOK_SELFTEST';

/**
 * Install the pre-receive hook (this same program with `--hook pre-receive`)
 * in the first candidate folder where it demonstrably runs: git skips a hook
 * it cannot execute (a noexec mount) without failing the push, so an
 * unproven hook would be a gate that is open. Returns the folder, or the
 * reason none works (the server then refuses every push).
 */
export async function installHook(candidates: readonly string[], argv: readonly string[]): Promise<{ dir: string } | { error: string }> {
  const errors: string[] = [];
  for (const dir of [...new Set(candidates)]) {
    const file = join(dir, 'pre-receive');
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await writeFile(file, `#!/bin/sh\nexec ${argv.map(shq).join(' ')} --hook pre-receive\n`, { mode: 0o700 });
      await chmod(file, 0o700);
      const r = await runHookSelftest(file);
      if (r === 'ok') return { dir };
      errors.push(`${file}: ${r}`);
    } catch (e) {
      errors.push(`${file}: ${(e as Error).message}`);
    }
  }
  return { error: errors.join('; ') };
}

function runHookSelftest(file: string): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(file, [], { env: { ...process.env, [HOOK_SELFTEST_ENV]: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('error', (e) => {
      clearTimeout(t);
      resolve(`cannot execute (${(e as NodeJS.ErrnoException).code ?? e.message})`);
    });
    child.on('close', (code) => {
      clearTimeout(t);
      resolve(code === 0 && out.includes('git-gate hook ok') ? 'ok' : `self-test failed (exit ${code}): ${out.trim().slice(0, 200)}`);
    });
  });
}

const MIRROR_CONFIG: readonly [string, string][] = [
  ['http.receivepack', 'true'],
  ['http.uploadpack', 'true'],
  ['uploadpack.allowFilter', 'true'],
  // Objects an in-flight negotiation may still want are never pruned under it.
  ['gc.auto', '0'],
  ['receive.autogc', 'false'],
  ['core.logAllRefUpdates', 'false'],
  // Upstream decides fast-forward and deletion policy; the gate forwards what the client asked.
  ['receive.denyNonFastForwards', 'false'],
  ['receive.denyDeletes', 'false'],
];

/** Create the bare mirror if missing (no network): init, settings, the hook path. */
export async function ensureMirror(cfg: GitGateConfig, name: string, hooks: string): Promise<string> {
  const dir = mirrorPath(cfg, name);
  const exists = await stat(join(dir, 'HEAD')).then(
    () => true,
    () => false,
  );
  const env = baseGitEnv(cfg);
  if (!exists) {
    await mkdir(projectRoot(cfg), { recursive: true, mode: 0o700 });
    const r = await runGit(['init', '--bare', '--quiet', dir], { env });
    if (r.code !== 0) throw new Error(`git init ${dir}: ${lastLine(r.stderr)}`);
  }
  for (const [k, v] of [...MIRROR_CONFIG, ['core.hooksPath', hooks] as [string, string]]) {
    const r = await runGit(['-C', dir, 'config', k, v], { env });
    if (r.code !== 0) throw new Error(`git config ${k} in ${dir}: ${lastLine(r.stderr)}`);
  }
  return dir;
}

export interface RefreshResult {
  readonly ok: boolean;
  readonly ms: number;
  /** One line, for the client and the audit log, when not ok. */
  readonly reason?: string;
}

/**
 * Fetch upstream's heads and tags into the mirror, pruning what upstream no
 * longer has. Bounded by the connect timeout and the overall fetch timeout.
 */
export async function refreshMirror(cfg: GitGateConfig, name: string, repo: GateRepo): Promise<RefreshResult> {
  const t0 = Date.now();
  const dir = mirrorPath(cfg, name);
  let env: NodeJS.ProcessEnv;
  try {
    env = await upstreamEnv(cfg, name, repo);
  } catch (e) {
    if (e instanceof CredentialMissingError) return { ok: false, ms: Date.now() - t0, reason: e.message };
    throw e;
  }
  const left = () => Math.max(1000, cfg.fetchTimeoutMs - (Date.now() - t0));
  const r = await runGit(
    ['-C', dir, 'fetch', '--prune', '--no-tags', '--update-head-ok', '--no-auto-gc', '--no-recurse-submodules', '--no-write-fetch-head', '--quiet', repo.url, ...MIRROR_REFSPECS],
    { env, timeoutMs: left() },
  );
  if (r.timedOut) return { ok: false, ms: Date.now() - t0, reason: `no answer within ${Math.round(cfg.fetchTimeoutMs / 1000)} s` };
  if (r.code !== 0) return { ok: false, ms: Date.now() - t0, reason: lastLine(r.stderr) };

  // A clone checks out what HEAD names: follow upstream's default branch when ours dangles.
  const head = await runGit(['-C', dir, 'rev-parse', '--verify', '--quiet', 'HEAD'], { env: baseGitEnv(cfg) });
  if (head.code !== 0) {
    const ls = await runGit(['ls-remote', '--symref', repo.url, 'HEAD'], { env, timeoutMs: left() });
    const m = /^ref: (refs\/heads\/\S+)\tHEAD$/m.exec(ls.stdout);
    if (ls.code === 0 && m?.[1]) await runGit(['-C', dir, 'symbolic-ref', 'HEAD', m[1]], { env: baseGitEnv(cfg) });
  }
  return { ok: true, ms: Date.now() - t0 };
}
