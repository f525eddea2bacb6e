/**
 * The environment is read once, here, into a validated settings object that
 * is passed down. Nothing else in the code reads `process.env` for settings.
 */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { BottleError } from './errors.js';

export interface Settings {
  /** The bot-bottle home: trusted bottles, agents, state. */
  readonly home: string;
  /** The user's home, for `~/.claude/skills`. */
  readonly userHome: string;
  /** The working directory agents are also loaded from. */
  readonly cwd: string;
  /** The host's environment, the source of `${VAR}` forwards and tokens. */
  readonly hostEnv: Readonly<Record<string, string>>;
  /** Extra CA bundle handed to image builds (corporate TLS proxies). */
  readonly hostCaBundle: string | undefined;
  /** Debian mirror used when a base image must be made locally. */
  readonly debianMirror: string | undefined;
  /** Whether stdout is a terminal (colours, pickers, progress bars). */
  readonly tty: boolean;
  /** Days a torn-down bottle's audit log and proposals are kept (`BOT_BOTTLE_ARCHIVE_DAYS`; 0 keeps none). */
  readonly archiveDays: number;
}

export const DEFAULT_ARCHIVE_DAYS = 90;

function archiveDays(raw: string | undefined): number {
  if (raw === undefined || raw === '') return DEFAULT_ARCHIVE_DAYS;
  const days = Number(raw);
  if (!/^[0-9]+$/.test(raw.trim()) || !Number.isSafeInteger(days)) {
    // A typo must not silently mean "keep nothing" or "keep forever".
    throw new BottleError('usage', `BOT_BOTTLE_ARCHIVE_DAYS=${JSON.stringify(raw)} is not a whole number of days`, {
      fix: `export BOT_BOTTLE_ARCHIVE_DAYS=${DEFAULT_ARCHIVE_DAYS} (0 keeps no archive)`,
    });
  }
  return days;
}

export function readSettings(
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
  tty: boolean = process.stdout.isTTY === true,
): Settings {
  const userHome = env.HOME && isAbsolute(env.HOME) ? env.HOME : homedir();
  const home = env.BOT_BOTTLE_HOME ? resolve(cwd, env.BOT_BOTTLE_HOME) : join(userHome, '.bot-bottle');
  const hostEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) hostEnv[k] = v;
  return {
    home,
    userHome,
    cwd,
    hostEnv,
    hostCaBundle: env.BOT_BOTTLE_CA_BUNDLE || undefined,
    debianMirror: env.BOT_BOTTLE_DEBIAN_MIRROR || undefined,
    tty: tty && !env.NO_COLOR,
    archiveDays: archiveDays(env.BOT_BOTTLE_ARCHIVE_DAYS),
  };
}
