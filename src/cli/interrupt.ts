/**
 * Ctrl-C, SIGTERM or a closed terminal while a bottle is being started: the
 * start stops at its next step and removes what it made, so no half-created
 * bottle is left running. A second signal quits at once (a long image build
 * would otherwise hold the user), and says how to remove what is left.
 */
import { ExitCode } from '../index.js';
import { ignoreWriteErrors, say } from './session.js';

const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export async function interruptible<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    ignoreWriteErrors();
    if (controller.signal.aborted) {
      say(`\n${signal} again: quitting now; \`bot-bottle cleanup\` removes what is left\n`);
      process.exit(ExitCode.interrupted);
    }
    say(`\n${signal}: stopping the start and removing what it created (again to quit at once)\n`);
    controller.abort();
  };
  for (const s of SIGNALS) process.on(s, onSignal);
  try {
    return await run(controller.signal);
  } finally {
    for (const s of SIGNALS) process.off(s, onSignal);
  }
}
