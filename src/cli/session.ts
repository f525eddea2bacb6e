/**
 * An attached session on the terminal: raw TTY for a shell. Ctrl-C or SIGTERM
 * ends the session as `exit` would; a lost terminal (SIGHUP: a closed window,
 * a dropped ssh connection) is not the user's decision, so the bottle is kept
 * preserved for `resume` instead of being removed with its work.
 */
import { destroy, endSession, ExitCode, type SessionIO, type Settings, type Started } from '../index.js';

export async function attachSession(settings: Settings, started: Started, run: (io: SessionIO) => Promise<number>): Promise<number> {
  const tty = process.stdin.isTTY === true && process.stdout.isTTY === true;
  let ending: Promise<never> | undefined;
  let lost = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (ending) return;
    const hangUp = signal === 'SIGHUP';
    // Set before anything else runs: the session's own end (its exec returns once the terminal is gone) must see it and leave the bottle to us.
    lost = hangUp;
    ignoreWriteErrors();
    say(hangUp ? `\nterminal closed: ${started.identity} is preserved (bot-bottle resume ${started.identity})\n` : `\n${signal}: removing ${started.identity}\n`);
    const backend = started.backend;
    const done = hangUp ? destroy(settings, started.identity, { preserve: true }) : backend ? endSession(settings, backend, started.identity) : Promise.resolve();
    const code = hangUp ? ExitCode.hangUp : ExitCode.interrupted;
    ending = done.then(
      () => process.exit(code),
      () => process.exit(code),
    );
  };
  // A raw-mode terminal never ends its input (Ctrl-D is a byte like any other) and a write to it fails only once it is
  // gone: either means the terminal was lost, whichever the process sees before the kernel's SIGHUP.
  const onTerminalGone = () => onSignal('SIGHUP');
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  if (tty) {
    process.stdin.setRawMode(true);
    process.stdin.on('end', onTerminalGone);
    for (const s of [process.stdin, process.stdout, process.stderr]) s.on('error', onTerminalGone);
  }
  try {
    return await run({ stdin: tty ? process.stdin : stdinIfPiped(), stdout: process.stdout, stderr: process.stderr, tty, terminalLost: () => lost });
  } finally {
    if (tty && !lost) process.stdin.setRawMode(false);
    process.stdin.pause();
    // A lost terminal's bottle is being preserved: nothing else runs until that is done (the handler exits).
    if (ending) await ending;
    process.stdin.off('end', onTerminalGone);
    for (const s of [process.stdin, process.stdout, process.stderr]) s.off('error', onTerminalGone);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
  }
}

/** The terminal may be gone (EIO): a failed write must not kill the CLI before it has dealt with the bottle. */
export function ignoreWriteErrors(): void {
  for (const out of [process.stdout, process.stderr]) if (out.listenerCount('error') === 0) out.on('error', () => undefined);
}

export function say(text: string): void {
  try {
    process.stderr.write(text);
  } catch {
    // no terminal left to tell
  }
}

/** Pass stdin through only when something is piped in; a closed or absent stdin stays closed. */
export function stdinIfPiped(): NodeJS.ReadableStream | undefined {
  return process.stdin.isTTY ? undefined : process.stdin;
}
