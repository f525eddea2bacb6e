/**
 * Integration test helpers: an isolated bot-bottle home per test, the CLI run
 * as a real subprocess, and the docker CLI for looking at what the engine holds.
 */
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { homeId, LABEL_HOME } from '../src/backends/docker/engine.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const execFileP = promisify(execFile);

export interface TestHome {
  readonly home: string;
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  writeAgent(name: string, text: string): void;
  writeBottle(name: string, text: string): void;
  cleanup(): Promise<void>;
}

export const SHELL_BOTTLE = `---
agent_provider:
  template: shell
---
A plain shell bottle for tests.
`;

export const SHELL_AGENT = (bottle = 'plain') => `---
bottle: ${bottle}
description: test agent
---
test prompt
`;

/**
 * The micro-VM's guest kit (kernel, root disks, guestd, the accelerator
 * verdict) is built once per test run and shared by every test home: each
 * is minutes of work under software emulation. scripts/test.sh names a
 * folder per run and removes it after; a test file run alone shares one per
 * user. microvm-accel.test.ts keeps its own, to fetch and probe from scratch.
 */
export function shareMicrovmCache(home: string): void {
  const shared = process.env.BOT_BOTTLE_TEST_MICROVM_CACHE ?? join(tmpdir(), `bb-test-microvm-cache-${process.getuid?.() ?? 0}`);
  mkdirSync(shared, { recursive: true, mode: 0o700 });
  mkdirSync(join(home, 'cache'), { recursive: true });
  symlinkSync(shared, join(home, 'cache', 'microvm'));
}

export function makeHome(extraEnv: NodeJS.ProcessEnv = {}): TestHome {
  const root = mkdtempSync(join(tmpdir(), 'bb-test-'));
  const home = join(root, 'home');
  const cwd = join(root, 'cwd');
  mkdirSync(join(home, 'agents'), { recursive: true });
  mkdirSync(join(home, 'bottles'), { recursive: true });
  shareMicrovmCache(home);
  mkdirSync(cwd, { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env, BOT_BOTTLE_HOME: home, HOME: root, NO_COLOR: '1', ...extraEnv };
  return {
    home,
    cwd,
    env,
    writeAgent: (name, text) => writeFileSync(join(home, 'agents', `${name}.md`), text),
    writeBottle: (name, text) => writeFileSync(join(home, 'bottles', `${name}.md`), text),
    cleanup: async () => {
      // Anything a test left behind goes: the suite must leave no bottles running.
      for (const id of stateIdentities(home)) await run(['stop', id], { env }).catch(() => undefined);
      await run(['cleanup', '--yes'], { env }).catch(() => undefined);
      rmSync(root, { recursive: true, force: true });
      await assertNothingLeft(home);
    },
  };
}

/**
 * After stop and cleanup, the engine holds nothing of this home. A leak is a
 * bottle left half-running (and, across a suite, spent network pools): it is
 * removed so later files start clean, and reported as this test's failure.
 */
async function assertNothingLeft(home: string): Promise<void> {
  const filter = `label=${LABEL_HOME}=${homeId(home)}`;
  const list = async (args: readonly string[]) => (await docker([...args, '--filter', filter])).split('\n').filter(Boolean);
  const containers = await list(['ps', '-a', '--format', '{{.Names}}']);
  const networks = await list(['network', 'ls', '--format', '{{.Name}}']);
  const volumes = await list(['volume', 'ls', '--format', '{{.Name}}']);
  if (containers.length > 0) await docker(['rm', '-f', ...containers]).catch(() => undefined);
  if (networks.length > 0) await docker(['network', 'rm', ...networks]).catch(() => undefined);
  if (volumes.length > 0) await docker(['volume', 'rm', '-f', ...volumes]).catch(() => undefined);
  const left = [...containers, ...networks, ...volumes];
  if (left.length > 0) throw new Error(`stop and cleanup left engine resources behind: ${left.join(', ')}`);
}

/** A home with the `plain` shell bottle and its `worker` agent: what most lifecycle tests start. */
export function workerHome(extraEnv: NodeJS.ProcessEnv = {}): TestHome {
  const h = makeHome(extraEnv);
  h.writeBottle('plain', SHELL_BOTTLE);
  h.writeAgent('worker', SHELL_AGENT('plain'));
  return h;
}

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function run(args: readonly string[], opts: { env: NodeJS.ProcessEnv; cwd?: string; input?: string; timeoutMs?: number }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: opts.env, cwd: opts.cwd ?? ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 600_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** The docker CLI, for assertions about the engine (not the code under test). */
export async function docker(args: readonly string[]): Promise<string> {
  const { stdout } = await execFileP('docker', [...args], { maxBuffer: 16 * 1024 * 1024 });
  return stdout.trim();
}

export async function labelled(kind: 'ps' | 'network' | 'volume', identity: string): Promise<string[]> {
  const filter = `label=bot-bottle.identity=${identity}`;
  const out =
    kind === 'ps' ? await docker(['ps', '-a', '-q', '--filter', filter]) : await docker([kind, 'ls', '-q', '--filter', filter]);
  return out.split('\n').filter(Boolean);
}

function stateIdentities(home: string): string[] {
  try {
    return readdirSync(join(home, 'state'));
  } catch {
    return [];
  }
}

export async function startDetached(h: TestHome, agent: string, extra: readonly string[] = []): Promise<string> {
  const r = await run(['start', agent, '--detach', '--json', ...extra], { env: h.env, cwd: h.cwd });
  if (r.code !== 0) throw new Error(`start failed (${r.code}): ${r.stderr}`);
  const parsed = JSON.parse(r.stdout) as { identity: string };
  return parsed.identity;
}

/** Run a shell script in the agent through the CLI's exec. */
export function agentSh(h: TestHome, identity: string, script: string, input?: string): Promise<RunResult> {
  return run(['exec', identity, '--', 'bash', '-c', script], { env: h.env, ...(input === undefined ? {} : { input }) });
}

export interface AttachedSession {
  readonly id: string;
  readonly child: ChildProcessWithoutNullStreams;
  /** What the prompt printed so far. */
  readonly stdout: () => string;
}

/** An attached headless session as a live CLI process, once its bottle is ready. */
export async function startAttached(h: TestHome, agent: string, prompt: string): Promise<AttachedSession> {
  const child = spawn(process.execPath, [CLI, 'start', agent, '--headless', '--prompt', prompt], { env: h.env });
  child.stdin.end();
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const id = await new Promise<string>((resolve, reject) => {
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const m = new RegExp(`ready: (${agent}-[a-z0-9]+)`).exec(err);
      if (m?.[1]) resolve(m[1]);
    });
    child.on('exit', () => reject(new Error(`CLI exited early: ${err}`)));
  });
  return { id, child, stdout: () => out };
}

/** Poll until `check` holds (a condition, never a guessed duration); fails with `what` after the deadline. */
export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
