/**
 * Running git inside the bundle: a child with a hard deadline (the whole
 * process group is killed, ssh included), and the environment that talks to
 * the upstream with the bottle's credential. Credentials reach git through
 * files and environment variables of the gate's own children, never argv.
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GateRepo, GitGateConfig } from './config.js';
import { httpsOrigin } from './urls.js';

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly ms: number;
}

export interface RunOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
  readonly input?: string;
  /** Called with each stderr chunk as it arrives (progress relayed to a client). */
  readonly onStderr?: (chunk: string) => void;
}

/** A base environment for git in the bundle: no system config, no prompts, no pager. */
/** TLS trust for HTTPS upstreams on private CAs: taken from the gate's own environment when set. */
const PASSED_THROUGH = ['GIT_SSL_CAINFO', 'SSL_CERT_FILE', 'SSL_CERT_DIR'];

export function baseGitEnv(cfg: Pick<GitGateConfig, 'mirrorRoot'>, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const passed: NodeJS.ProcessEnv = {};
  for (const k of PASSED_THROUGH) if (process.env[k]) passed[k] = process.env[k];
  return {
    ...passed,
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: join(cfg.mirrorRoot, 'home'),
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '/bin/false',
    SSH_ASKPASS: '/bin/false',
    GIT_PAGER: 'cat',
    ...extra,
  };
}

export function runGit(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('git', [...args], {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      // Own process group: a timeout kills git and the ssh it started.
      detached: true,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            try {
              if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
            } catch {
              child.kill('SIGKILL');
            }
          }, opts.timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => {
      err.push(b);
      opts.onStderr?.(b.toString('utf8'));
    });
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), timedOut, ms: Date.now() - t0 });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

export class CredentialMissingError extends Error {
  override name = 'CredentialMissingError';
}

async function readSecret(cfg: GitGateConfig, name: string): Promise<string> {
  try {
    return await readFile(join(cfg.secretsDir, name), 'utf8');
  } catch (e) {
    throw new CredentialMissingError(`credential ${name} not available (${(e as NodeJS.ErrnoException).code ?? String(e)} in ${cfg.secretsDir})`);
  }
}

/**
 * The environment for a git process that talks to this repo's upstream. The
 * SSH key is copied to a file the gate's own uid owns with mode 600 (ssh
 * refuses keys it does not consider private), re-read on every call so a
 * secret written a moment after start is picked up; missing: fail closed.
 */
export async function upstreamEnv(cfg: GitGateConfig, name: string, repo: GateRepo): Promise<NodeJS.ProcessEnv> {
  if (repo.transport === 'ssh') {
    const key = await readSecret(cfg, repo.sshKeySecret ?? '');
    const knownHosts = await readSecret(cfg, repo.knownHostsSecret ?? '');
    const dir = join(cfg.mirrorRoot, 'keys');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const keyFile = join(dir, `${name}.key`);
    const khFile = join(dir, `${name}.known_hosts`);
    await writeFile(keyFile, key, { mode: 0o600 });
    await writeFile(khFile, knownHosts, { mode: 0o600 });
    const ssh = [
      'ssh',
      '-F /dev/null',
      `-i ${keyFile}`,
      '-o IdentitiesOnly=yes',
      '-o IdentityAgent=none',
      `-o UserKnownHostsFile=${khFile}`,
      '-o GlobalKnownHostsFile=/dev/null',
      '-o StrictHostKeyChecking=yes',
      '-o UpdateHostKeys=no',
      '-o BatchMode=yes',
      `-o ConnectTimeout=${cfg.connectTimeoutS}`,
      '-o ServerAliveInterval=5',
      '-o ServerAliveCountMax=3',
      '-o LogLevel=ERROR',
    ].join(' ');
    return baseGitEnv(cfg, { GIT_SSH_COMMAND: ssh, GIT_SSH_VARIANT: 'ssh' });
  }
  const env = baseGitEnv(cfg, {
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'credential.helper',
    GIT_CONFIG_VALUE_0: '',
    // A stalled upstream is an error, not a hang.
    GIT_HTTP_LOW_SPEED_LIMIT: '1',
    GIT_HTTP_LOW_SPEED_TIME: '30',
  });
  if (repo.tokenSecret) {
    const token = (await readSecret(cfg, repo.tokenSecret)).trim();
    // Basic with x-access-token works for GitHub (PATs and app tokens) and GitLab;
    // scoped to the upstream's origin so a redirect elsewhere never carries it.
    env.GIT_CONFIG_COUNT = '2';
    env.GIT_CONFIG_KEY_1 = `http.${httpsOrigin(repo.url)}.extraHeader`;
    env.GIT_CONFIG_VALUE_1 = `Authorization: Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`;
  }
  return env;
}

/** The last meaningful line of git's stderr, for a one-line reason. */
export function lastLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^fatal: Could not read from remote repository\.?$/.test(l) && !/^Please make sure you have the correct access rights/.test(l) && l !== 'and the repository exists.');
  return (lines.at(-1) ?? lines[0] ?? 'no output').replace(/^(fatal|error): /, '');
}
