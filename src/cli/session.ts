/** An attached session on the terminal: raw TTY for a shell, teardown on Ctrl-C or SIGTERM. */
import { endSession, type SessionIO, type Settings, type Started } from '../index.js';

export async function attachSession(settings: Settings, started: Started, run: (io: SessionIO) => Promise<number>): Promise<number> {
  const tty = process.stdin.isTTY === true && process.stdout.isTTY === true;
  let ending = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (ending) return;
    ending = true;
    process.stderr.write(`\n${signal}: removing ${started.identity}\n`);
    const backend = started.backend;
    const done = backend ? endSession(settings, backend, started.identity) : Promise.resolve();
    done.finally(() => process.exit(130)).catch(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  if (tty) process.stdin.setRawMode(true);
  try {
    return await run({ stdin: tty ? process.stdin : stdinIfPiped(), stdout: process.stdout, stderr: process.stderr, tty });
  } finally {
    if (tty) process.stdin.setRawMode(false);
    process.stdin.pause();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
  }
}

/** Pass stdin through only when something is piped in; a closed or absent stdin stays closed. */
export function stdinIfPiped(): NodeJS.ReadableStream | undefined {
  return process.stdin.isTTY ? undefined : process.stdin;
}
