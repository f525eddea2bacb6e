/**
 * Commands in the agent run through the secret-env prelude of
 * bottle/agent-setup.ts, so secrets reach the process environment without
 * ever being on a command line or in `docker inspect`.
 */
import { PassThrough } from 'node:stream';
import type { ExecIO } from '../../bottle/backend.js';
import { withEnvPrelude } from '../../bottle/agent-setup.js';
import { BottleError } from '../../errors.js';
import { type Engine, engineFailure, isNotFound } from './engine.js';
import { AGENT } from '../../bottle/layout.js';

export interface ExecOptions {
  readonly user?: string;
  readonly workdir?: string;
  readonly prelude?: boolean;
}

/** Run argv in a container with stdio passed through; resolves to the exit code. */
export async function execIn(engine: Engine, container: string, argv: readonly string[], io: ExecIO, opts: ExecOptions = {}): Promise<number> {
  const c = engine.getContainer(container);
  let exec;
  try {
    exec = await c.exec({
      Cmd: opts.prelude === false ? [...argv] : withEnvPrelude(argv),
      AttachStdin: io.stdin !== undefined,
      AttachStdout: true,
      AttachStderr: true,
      Tty: io.tty,
      WorkingDir: opts.workdir ?? AGENT.workspace,
      ...(opts.user ? { User: opts.user } : {}),
    });
  } catch (e) {
    if (isNotFound(e)) throw new BottleError('not-found', `no running agent container ${container}`, { fix: 'see `bot-bottle list`; a stopped bottle can be resumed with `bot-bottle resume <identity>`' });
    if (typeof e === 'object' && e !== null && 'statusCode' in e && (e as { statusCode: number }).statusCode === 409) {
      throw new BottleError('not-found', `the agent container ${container} is not running`, { fix: 'resume it with `bot-bottle resume <identity>`' });
    }
    throw engineFailure('exec', e);
  }
  const stream = await exec.start({ hijack: true, stdin: io.stdin !== undefined, Tty: io.tty });
  const done = new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', reject);
  });
  if (io.tty) {
    stream.pipe(io.stdout, { end: false });
    // Keep the agent's terminal the size of the user's.
    const out = io.stdout as NodeJS.WriteStream;
    const resize = () => {
      if (out.columns && out.rows) exec.resize({ h: out.rows, w: out.columns }).catch(() => undefined);
    };
    resize();
    out.on?.('resize', resize);
    stream.once('end', () => out.off?.('resize', resize));
  } else {
    const out = new PassThrough();
    const err = new PassThrough();
    out.pipe(io.stdout, { end: false });
    err.pipe(io.stderr, { end: false });
    engine.modem.demuxStream(stream, out, err);
  }
  const stdin = io.stdin;
  const onData = (chunk: Buffer) => stream.write(chunk);
  // Half-close so the command sees EOF on its stdin.
  const onEnd = () => stream.end();
  if (stdin) {
    stdin.on('data', onData);
    stdin.on('end', onEnd);
    // A stream paused explicitly (readline pauses stdin when a secret prompt
    // closes) stays paused when a `data` listener is added: resume it, or no
    // keystroke ever reaches the agent.
    stdin.resume();
  }
  try {
    await done;
  } finally {
    // The next exec (or the prompt after a session) owns stdin now.
    stdin?.off('data', onData);
    stdin?.off('end', onEnd);
  }
  const info = await exec.inspect();
  return info.ExitCode ?? 1;
}

/** Feed `content` to a command's stdin and fail loudly if it does not exit 0. */
export async function execWithInput(engine: Engine, container: string, argv: readonly string[], content: string | Buffer, what: string, user?: string): Promise<void> {
  await execOutput(engine, container, argv, user, content, what);
}

/** Run a command (no env prelude, from /) and return its stdout; a non-zero exit is a launch error. */
export async function execOutput(engine: Engine, container: string, argv: readonly string[], user?: string, input?: string | Buffer, what = argv.join(' ')): Promise<Buffer> {
  const stdin = input === undefined ? undefined : new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const stdout = new PassThrough().on('data', (c: Buffer) => out.push(c));
  const stderr = new PassThrough().on('data', (c: Buffer) => err.push(c));
  const pending = execIn(engine, container, argv, { stdin, stdout, stderr, tty: false }, { prelude: false, workdir: '/', ...(user ? { user } : {}) });
  stdin?.end(input);
  const code = await pending;
  if (code !== 0) {
    const said = Buffer.concat([...err, ...out]).toString('utf8').trim().split('\n')[0] ?? '';
    throw new BottleError('launch', `${what} failed in ${container} (exit ${code}): ${said}`);
  }
  return Buffer.concat(out);
}
