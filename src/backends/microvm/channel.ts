/**
 * The host side of the exec channel (see images/microvm-guest/guestd.c for
 * the guest side and the frame format). Each bottle has a few virtio-serial
 * "lanes", each a Unix socket that QEMU serves; one command runs per lane at
 * a time. A lane is claimed with an exclusive lock file holding our pid, so
 * concurrent `exec`s take different lanes and a dead client's claim expires.
 */
import { connect, type Socket } from 'node:net';
import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecIO } from '../../bottle/backend.js';
import { BottleError, errnoCode } from '../../errors.js';

export const LANES = 8;
const MAX_FRAME = 1 << 20;

export function laneSocket(runDir: string, lane: number): string {
  return join(runDir, `exec${lane}.sock`);
}

export function laneName(lane: number): string {
  return `bb.exec${lane}`;
}

export function frame(type: string, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(5);
  h.write(type, 0, 'latin1');
  h.writeUInt32BE(payload.length, 1);
  return Buffer.concat([h, payload]);
}

/** Splits a byte stream into frames. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  push(chunk: Buffer): { type: string; payload: Buffer }[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: { type: string; payload: Buffer }[] = [];
    while (this.buf.length >= 5) {
      const n = this.buf.readUInt32BE(1);
      if (n > MAX_FRAME) throw new Error('exec channel: oversized frame');
      if (this.buf.length < 5 + n) break;
      out.push({ type: String.fromCharCode(this.buf[0] ?? 0), payload: this.buf.subarray(5, 5 + n) });
      this.buf = this.buf.subarray(5 + n);
    }
    return out;
  }
}

export interface GuestCommand {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly user: string;
  readonly workdir: string;
}

/** The open frame's payload: NUL-separated `k=value` fields. */
export function openPayload(cmd: GuestCommand, tty: { rows: number; cols: number } | undefined): Buffer {
  const fields = [`u=${cmd.user}`, `w=${cmd.workdir}`, `t=${tty ? 1 : 0}`];
  if (tty) fields.push(`r=${tty.rows}`, `c=${tty.cols}`);
  for (const [k, v] of Object.entries(cmd.env)) {
    if (k.includes('=') || k.includes('\0') || v.includes('\0')) throw new BottleError('usage', `environment entry ${k} cannot be passed to the guest`);
    fields.push(`e=${k}=${v}`);
  }
  for (const a of cmd.argv) {
    if (a.includes('\0')) throw new BottleError('usage', 'a command argument contains a NUL byte');
    fields.push(`a=${a}`);
  }
  return Buffer.from(fields.join('\0') + '\0');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoCode(e) !== 'ESRCH';
  }
}

/** Claim a free lane: an exclusive lock file with our pid; stale claims are taken over. */
async function claimLane(runDir: string): Promise<{ lane: number; release: () => Promise<void> }> {
  for (let attempt = 0; attempt < 200; attempt++) {
    for (let lane = 0; lane < LANES; lane++) {
      const lock = join(runDir, `exec${lane}.lock`);
      try {
        const fh = await open(lock, 'wx', 0o600);
        await fh.writeFile(String(process.pid));
        await fh.close();
        return { lane, release: () => rm(lock, { force: true }) };
      } catch (e) {
        if (errnoCode(e) !== 'EEXIST') throw e;
      }
      const owner = Number.parseInt(await readFile(lock, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(owner) && owner > 0 && !alive(owner)) await rm(lock, { force: true });
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new BottleError('launch', `all ${LANES} exec lanes of the bottle are busy`, { fix: 'wait for another exec into this bottle to finish' });
}

function connectLane(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    s.once('connect', () => resolve(s));
    s.once('error', (e) => reject(e));
  });
}

/**
 * Run a command in the guest with stdio passed through; resolves to its exit
 * code. `runDir` is the bottle's QEMU run folder (where the lane sockets are).
 */
export async function guestExec(runDir: string, cmd: GuestCommand, io: ExecIO): Promise<number> {
  const { lane, release } = await claimLane(runDir);
  try {
    let sock: Socket;
    try {
      sock = await connectLane(laneSocket(runDir, lane));
    } catch (e) {
      throw new BottleError('not-found', `the bottle's VM is not running (${errnoCode(e) ?? 'no exec channel'})`, { fix: 'see `bot-bottle list`; resume it with `bot-bottle resume <identity>`' });
    }
    return await runOnLane(sock, cmd, io);
  } finally {
    await release();
  }
}

function runOnLane(sock: Socket, cmd: GuestCommand, io: ExecIO): Promise<number> {
  const out = io.stdout as NodeJS.WriteStream;
  const tty = io.tty ? { rows: out.rows || 24, cols: out.columns || 80 } : undefined;
  return new Promise<number>((resolve, reject) => {
    const reader = new FrameReader();
    let settled = false;
    const cleanups: (() => void)[] = [];
    const finish = (err: Error | undefined, code?: number) => {
      if (settled) return;
      settled = true;
      for (const c of cleanups) c();
      sock.end();
      if (err) reject(err);
      else resolve(code ?? 1);
    };
    sock.on('data', (chunk: Buffer) => {
      let frames;
      try {
        frames = reader.push(chunk);
      } catch (e) {
        finish(e as Error);
        return;
      }
      for (const f of frames) {
        if (f.type === 'o') io.stdout.write(f.payload);
        else if (f.type === 'e') io.stderr.write(f.payload);
        else if (f.type === 'x') finish(undefined, f.payload.readInt32BE(0));
        else if (f.type === 'E') finish(new BottleError('launch', `exec in the guest failed: ${f.payload.toString('utf8')}`));
      }
    });
    sock.on('error', (e) => finish(new BottleError('launch', `exec channel: ${e.message}`)));
    sock.on('close', () => finish(new BottleError('launch', 'the guest closed the exec channel (VM stopped?)')));
    sock.write(frame('O', openPayload(cmd, tty)));
    if (io.stdin) {
      const onData = (chunk: Buffer) => {
        for (let i = 0; i < chunk.length; i += 65536) sock.write(frame('I', chunk.subarray(i, i + 65536)));
      };
      const onEnd = () => sock.write(frame('C'));
      io.stdin.on('data', onData);
      io.stdin.once('end', onEnd);
      cleanups.push(() => {
        io.stdin?.off('data', onData);
        io.stdin?.off('end', onEnd);
      });
    } else {
      sock.write(frame('C'));
    }
    if (tty) {
      const onResize = () => {
        const b = Buffer.alloc(4);
        b.writeUInt16BE(out.rows || 24, 0);
        b.writeUInt16BE(out.columns || 80, 2);
        sock.write(frame('R', b));
      };
      out.on?.('resize', onResize);
      cleanups.push(() => out.off?.('resize', onResize));
    }
  });
}

/** Ask the guest for its kernel release: resolves once guestd answers on any free lane. */
export async function guestPing(runDir: string, timeoutMs: number, signal?: AbortSignal): Promise<string> {
  const { lane, release } = await claimLane(runDir);
  const deadline = Date.now() + timeoutMs;
  try {
    // `signal`: the caller stopped waiting (the guest powered off); a pending ping must not hold the process for the rest of timeoutMs.
    while (Date.now() < deadline && !signal?.aborted) {
      let sock: Socket | undefined;
      try {
        sock = await connectLane(laneSocket(runDir, lane));
        const s = sock;
        const answer = await new Promise<string | undefined>((resolve) => {
          const reader = new FrameReader();
          const t = setTimeout(() => resolve(undefined), Math.max(100, Math.min(2000, deadline - Date.now())));
          s.on('data', (c: Buffer) => {
            for (const f of reader.push(c)) {
              if (f.type !== 'p') continue;
              clearTimeout(t);
              resolve(f.payload.toString('utf8'));
            }
          });
          const none = () => {
            clearTimeout(t);
            resolve(undefined);
          };
          s.on('error', none);
          s.on('close', none);
          s.write(frame('P'));
        });
        if (answer !== undefined) return answer;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      } finally {
        sock?.destroy();
      }
    }
    throw new BottleError('launch', `the guest did not answer on its exec channel within ${Math.round(timeoutMs / 1000)} s`, { fix: "read the guest's console log (kept under the home's cache/microvm/boot-logs/)" });
  } finally {
    await release();
  }
}

/** Ask the guest to sync and power off. */
export async function guestPowerOff(runDir: string): Promise<void> {
  const { lane, release } = await claimLane(runDir);
  try {
    const sock = await connectLane(laneSocket(runDir, lane));
    await new Promise<void>((resolve) => sock.end(frame('S'), () => resolve()));
  } finally {
    await release();
  }
}
