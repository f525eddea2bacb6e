/**
 * QEMU `microvm` guests: the command line, and the process. QEMU daemonizes
 * (a bottle outlives the CLI that started it, like a container) and writes a
 * pid file; every later signal goes to that pid only after its command line
 * proves it is our QEMU for this guest (never by name, never a reused pid).
 */
import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BottleError, errnoCode } from '../../errors.js';
import { LANES, laneName, laneSocket } from './channel.js';

export const QEMU = 'qemu-system-x86_64';
export type Accel = 'kvm' | 'tcg';

/** The address in the guest's network where QEMU forwards the bundle's ports. */
export const BUNDLE_GUEST_ADDR = '10.0.2.100';

/**
 * Software emulation on a busy host: with the guest clock on host time, a
 * vCPU starved by the host scheduler misses its own timer ticks and the
 * kernel hangs calibrating them (seen here at load 10+: minutes, or for
 * ever). Counting instructions (`-icount`) makes guest time follow guest
 * progress, so boot is deterministic; `sleep=on` keeps an idle guest idle.
 */
const TCG_CLOCK = ['-icount', 'shift=auto,sleep=on'];
const TIMER_ARGS = ['no_timer_check'];

export interface GuestForward {
  readonly port: number;
  /** Host command QEMU runs per connection, its stdio being the connection. */
  readonly command: readonly string[];
}

export interface GuestSpec {
  /** Unique per guest; appears on QEMU's command line (verification, `ps`). */
  readonly name: string;
  readonly accel: Accel;
  readonly memoryMiB: number;
  readonly cpus: number;
  readonly kernel: string;
  readonly initramfs: string;
  readonly append: readonly string[];
  /** Folder for the pid file, console log and sockets (mode 700). */
  readonly runDir: string;
  readonly disks: readonly { readonly path: string; readonly format: 'raw' | 'qcow2' }[];
  /** Exec lanes (virtio-serial); 0 for the probe. */
  readonly lanes: number;
  /** undefined: no network device at all. */
  readonly forwards: readonly GuestForward[] | undefined;
  readonly daemonize: boolean;
}

export function pidFile(runDir: string): string {
  return join(runDir, 'qemu.pid');
}

export function consoleLog(runDir: string): string {
  return join(runDir, 'console.log');
}

/** QEMU's option syntax: a literal comma is written twice. */
function opt(s: string): string {
  return s.replace(/,/g, ',,');
}

/** Shell-like quoting for a guestfwd command (libslirp splits it like a shell). */
function shellWord(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function qemuArgs(spec: GuestSpec): string[] {
  const args = [
    '-name', `${spec.name},process=${spec.name.slice(0, 15)}`,
    // Software emulation has no paravirtual clock: the timer chips give the
    // kernel something to calibrate against (without them it stalls at boot).
    '-M', spec.accel === 'kvm' ? 'microvm' : 'microvm,pit=on,pic=on,rtc=on',
    '-accel', spec.accel,
    ...(spec.accel === 'tcg' ? TCG_CLOCK : []),
    '-cpu', spec.accel === 'kvm' ? 'host' : 'max',
    '-m', String(spec.memoryMiB),
    '-smp', String(spec.cpus),
    '-nodefaults', '-no-user-config', '-nographic', '-no-reboot',
    '-kernel', spec.kernel,
    '-initrd', spec.initramfs,
    '-append', ['console=ttyS0', 'quiet', 'panic=-1', 'rdinit=/init', ...TIMER_ARGS, ...spec.append].join(' '),
    '-serial', `file:${opt(consoleLog(spec.runDir))}`,
    '-pidfile', pidFile(spec.runDir),
    '-device', 'virtio-rng-device',
  ];
  spec.disks.forEach((d, i) => {
    args.push('-drive', `id=disk${i},file=${opt(d.path)},format=${d.format},if=none,discard=unmap`, '-device', `virtio-blk-device,drive=disk${i}`);
  });
  if (spec.lanes > 0) {
    args.push('-device', 'virtio-serial-device');
    for (let i = 0; i < Math.min(spec.lanes, LANES); i++) {
      args.push('-chardev', `socket,id=lane${i},path=${opt(laneSocket(spec.runDir, i))},server=on,wait=off`);
      args.push('-device', `virtserialport,chardev=lane${i},name=${laneName(i)}`);
    }
  }
  if (spec.forwards) {
    // restrict=on: the guest reaches nothing through QEMU (not the host, not
    // the internet, not QEMU's DNS) except the guestfwd ports listed here.
    const fwd = spec.forwards.map((f) => `,guestfwd=tcp:${BUNDLE_GUEST_ADDR}:${f.port}-cmd:${opt(f.command.map(shellWord).join(' '))}`).join('');
    args.push('-netdev', `user,id=net0,restrict=on,ipv6=off,net=10.0.2.0/24,host=10.0.2.2,dns=10.0.2.3${fwd}`, '-device', 'virtio-net-device,netdev=net0');
  }
  if (spec.daemonize) args.push('-daemonize');
  return args;
}

/** Start QEMU; with `daemonize`, resolves once the guest runs in the background. */
export function startQemu(spec: GuestSpec): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    // A bare environment: QEMU (and the socat it runs per connection) outlives
    // the CLI, and must not carry the host variables bottles forward as secrets.
    const env = { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin' };
    const child = spawn(QEMU, qemuArgs(spec), { stdio: ['ignore', 'ignore', 'pipe'], env });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', (e) =>
      reject(errnoCode(e) === 'ENOENT' ? new BottleError('launch', `${QEMU} is not installed`, { fix: 'apt-get install qemu-system-x86 qemu-utils' }) : e),
    );
    child.on('close', (code) => resolve({ code, stderr: stderr.trim() }));
  });
}

/** The pid in a guest's pid file, if that process is still our QEMU for this guest. */
export async function runningPid(runDir: string, name: string): Promise<number | undefined> {
  let pid: number;
  try {
    pid = Number.parseInt(await readFile(pidFile(runDir), 'utf8'), 10);
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  return (await isOurQemu(pid, runDir, name)) ? pid : undefined;
}

/** Proves a pid is our QEMU for this guest: its argv names the guest and its pid file. */
export async function isOurQemu(pid: number, runDir: string, name: string): Promise<boolean> {
  let argv: string[];
  try {
    argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
  } catch {
    return false;
  }
  const nameAt = argv.indexOf('-name');
  const pidAt = argv.indexOf('-pidfile');
  return (
    (argv[0] ?? '').endsWith(QEMU) &&
    nameAt > 0 &&
    (argv[nameAt + 1] ?? '').split(',')[0] === name &&
    pidAt > 0 &&
    argv[pidAt + 1] === pidFile(runDir)
  );
}

async function gone(pid: number, runDir: string, name: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!(await isOurQemu(pid, runDir, name))) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !(await isOurQemu(pid, runDir, name));
}

/** Stop a guest's QEMU: SIGTERM, then SIGKILL. Idempotent; never signals a process that is not ours. */
export async function stopQemu(runDir: string, name: string, opts: { graceMs: number } = { graceMs: 3000 }): Promise<void> {
  const pid = await runningPid(runDir, name);
  if (pid !== undefined) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
    if (!(await gone(pid, runDir, name, opts.graceMs))) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      await gone(pid, runDir, name, 5000);
    }
  }
  await rm(pidFile(runDir), { force: true });
}

/** Wait for a guest to power itself off. */
export async function waitExit(runDir: string, name: string, ms: number): Promise<boolean> {
  const pid = await runningPid(runDir, name);
  return pid === undefined ? true : gone(pid, runDir, name, ms);
}
