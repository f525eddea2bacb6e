/**
 * One bottle on the micro-VM backend: its guest (QEMU, tracked by pid file
 * and command line) beside its sidecar bundle (a container, run by the
 * BundleHost exactly as on Docker). What `exec` needs later (the image's
 * env and user, the agent env) is recorded in `guest.json` next to the
 * guest's disks; the secrets are only ever in the guest's tmpfs.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { ExecIO } from '../../bottle/backend.js';
import type { SetupStep } from '../../bottle/agent-setup.js';
import { withEnvPrelude } from '../../bottle/agent-setup.js';
import { AGENT } from '../../bottle/layout.js';
import { BottleState, writeSecretFile } from '../../bottle/state.js';
import { BottleError } from '../../errors.js';
import { guestExec, guestPowerOff, type GuestCommand } from './channel.js';
import { guestFiles, type GuestFiles } from './guest.js';
import { runningPid, stopQemu, waitExit } from './qemu.js';

/** The agent user's uid:gid in every agent image (the provider templates create it). */
export const AGENT_OWNER = '1000:1000';
const POWER_OFF_MS = 5000;

/** What exec needs, written at launch. */
export interface GuestRecord {
  /** QEMU's -name: checked against /proc before any signal. */
  readonly name: string;
  /** The image's USER ('' = root), as Docker runs the agent. */
  readonly user: string;
  /** Image ENV overlaid with the bottle's agent env (not secret). */
  readonly env: Readonly<Record<string, string>>;
  readonly accel: string;
}

export function vmName(identity: string): string {
  return `bot-bottle-${identity}`;
}

export function vmFiles(state: BottleState): GuestFiles & { readonly record: string } {
  return { ...guestFiles(state.vmDir), record: join(state.vmDir, 'guest.json') };
}

export async function writeRecord(state: BottleState, record: GuestRecord): Promise<void> {
  await mkdir(state.vmDir, { recursive: true, mode: 0o700 });
  await writeSecretFile(vmFiles(state).record, JSON.stringify(record, null, 2) + '\n');
}

async function readRecord(state: BottleState): Promise<GuestRecord | undefined> {
  try {
    return JSON.parse(await readFile(vmFiles(state).record, 'utf8')) as GuestRecord;
  } catch {
    return undefined;
  }
}

/** The guest of a bottle, if its QEMU runs. */
export async function runningGuest(state: BottleState): Promise<{ record: GuestRecord; pid: number } | undefined> {
  const record = await readRecord(state);
  if (!record) return undefined;
  const pid = await runningPid(vmFiles(state).runDir, record.name);
  return pid === undefined ? undefined : { record, pid };
}

function notRunning(identity: string): BottleError {
  return new BottleError('not-found', `the micro-VM of ${identity} is not running`, { fix: 'see `bot-bottle list`; a stopped bottle can be resumed with `bot-bottle resume <identity>`' });
}

/** A command in the agent as the image's user, the secret env loaded: Docker's exec, over our channel. */
export async function execInGuest(state: BottleState, argv: readonly string[], io: ExecIO): Promise<number> {
  const guest = await runningGuest(state);
  if (!guest) throw notRunning(state.identity);
  const env = io.tty ? { ...guest.record.env, TERM: 'xterm' } : guest.record.env;
  const cmd: GuestCommand = { argv: withEnvPrelude(argv), env, user: guest.record.user || 'root', workdir: AGENT.workspace };
  return guestExec(vmFiles(state).runDir, cmd, io);
}

/** A setup step (trees, secret env, files, trust) run in the guest; it must exit 0. */
export async function runStep(state: BottleState, record: GuestRecord, step: SetupStep): Promise<void> {
  await inGuest(state, record, step.argv, step.owner, step.input, step.what);
}

/** A command's stdout, run as root in the guest (no env prelude). */
export async function guestOutput(state: BottleState, record: GuestRecord, argv: readonly string[]): Promise<Buffer> {
  return inGuest(state, record, argv, 'root', undefined, argv.join(' '));
}

async function inGuest(state: BottleState, record: GuestRecord, argv: readonly string[], owner: SetupStep['owner'], input: SetupStep['input'] | undefined, what: string): Promise<Buffer> {
  const stdin = input === undefined ? undefined : new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const stdout = new PassThrough().on('data', (c: Buffer) => out.push(c));
  const stderr = new PassThrough().on('data', (c: Buffer) => err.push(c));
  const cmd: GuestCommand = { argv, env: record.env, user: owner === 'root' ? '0:0' : AGENT_OWNER, workdir: '/' };
  const pending = guestExec(vmFiles(state).runDir, cmd, { stdin, stdout, stderr, tty: false });
  if (stdin && typeof input === 'function') input().pipe(stdin);
  else stdin?.end(input);
  const code = await pending;
  if (code !== 0) {
    const why = Buffer.concat([...err, ...out]).toString('utf8').trim().split('\n')[0] ?? '';
    throw new BottleError('launch', `${what} failed in the micro-VM of ${state.identity} (exit ${code}): ${why}`);
  }
  return Buffer.concat(out);
}

/**
 * Power the guest off (it syncs its disks first), then make sure QEMU is
 * gone: SIGTERM, then SIGKILL, each only to the pid whose command line is
 * this guest's. Idempotent.
 */
export async function powerOff(state: BottleState): Promise<void> {
  const files = vmFiles(state);
  const record = await readRecord(state);
  const name = record?.name ?? vmName(state.identity);
  if ((await runningPid(files.runDir, name)) !== undefined) {
    const asked = await Promise.race([
      guestPowerOff(files.runDir).then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((r) => setTimeout(() => r(false), 2000).unref()),
    ]);
    if (asked) await waitExit(files.runDir, name, POWER_OFF_MS);
  }
  await stopQemu(files.runDir, name);
}

/** Remove the guest's files: its system overlay always, the workspace disk unless kept. */
export async function removeGuestFiles(state: BottleState, opts: { keepWorkspace: boolean }): Promise<void> {
  const files = vmFiles(state);
  if (!existsSync(state.vmDir)) return;
  await Promise.all([rm(files.overlay, { force: true }), rm(files.runDir, { recursive: true, force: true }), rm(files.record, { force: true })]);
  if (!opts.keepWorkspace) await rm(state.vmDir, { recursive: true, force: true });
}
