/**
 * Errors are values with a user-facing message. Every failure a user can cause
 * or fix is a BottleError whose `message` is one line and whose `fix` (when
 * known) is the command or edit that resolves it. The CLI prints these without
 * a stack trace; anything else is a bug and is printed as one.
 */

/**
 * Exit codes that mean something to a script (the README's table is this one,
 * checked by a test). `exec` and attached sessions end with the agent
 * command's own code instead.
 */
export const ExitCode = {
  ok: 0,
  /** The check ran and says no: `scan` found secrets, a `demo` outcome was not as expected. */
  failed: 1,
  usage: 2,
  manifest: 3,
  notFound: 4,
  engine: 5,
  conflict: 6,
  build: 7,
  launch: 8,
  /** A bug in bot-bottle (sysexits' EX_SOFTWARE): never a user error. */
  internal: 70,
  /** The terminal went away during a session; the bottle is kept preserved. */
  hangUp: 129,
  /** Ctrl-C or SIGTERM during a session (the bottle is removed as on `exit`), or during a start (nothing is left). */
  interrupted: 130,
  /** `scan` had output for a reader that stopped reading (`| head -1`), and found nothing: 141, as a shell reports a program SIGPIPE ended. */
  pipeClosed: 141,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export type ErrorKind =
  | 'usage'
  | 'manifest'
  | 'not-found'
  | 'prompt-needed'
  | 'engine-unreachable'
  | 'name-in-use'
  | 'image-build'
  | 'launch'
  | 'interrupted'
  | 'state';

const exitCodeOf: Record<ErrorKind, ExitCode> = {
  usage: ExitCode.usage,
  manifest: ExitCode.manifest,
  'not-found': ExitCode.notFound,
  'prompt-needed': ExitCode.usage,
  'engine-unreachable': ExitCode.engine,
  'name-in-use': ExitCode.conflict,
  'image-build': ExitCode.build,
  launch: ExitCode.launch,
  interrupted: ExitCode.interrupted,
  state: ExitCode.internal,
};

export class BottleError extends Error {
  readonly kind: ErrorKind;
  readonly fix: string | undefined;

  constructor(kind: ErrorKind, message: string, options: { fix?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BottleError';
    this.kind = kind;
    this.fix = options.fix;
  }

  get exitCode(): ExitCode {
    return exitCodeOf[this.kind];
  }

  /** One line: the message, then the fix. */
  get userMessage(): string {
    return this.fix ? `${this.message} (fix: ${this.fix})` : this.message;
  }
}

/** A manifest problem: always names the file, and the key path and line when known. */
export class ManifestError extends BottleError {
  readonly file: string;
  readonly keyPath: string | undefined;
  readonly line: number | undefined;

  constructor(file: string, message: string, opts: { keyPath?: string; line?: number; fix?: string } = {}) {
    const where = [file + (opts.line ? `:${opts.line}` : ''), opts.keyPath].filter(Boolean).join(': ');
    super('manifest', `${where}: ${message}`, opts.fix === undefined ? {} : { fix: opts.fix });
    this.name = 'ManifestError';
    this.file = file;
    this.keyPath = opts.keyPath;
    this.line = opts.line;
  }
}

export function isBottleError(e: unknown): e is BottleError {
  return e instanceof BottleError;
}

/** Node system errors carry `code`; narrow without `any`. */
export function errnoCode(e: unknown): string | undefined {
  if (typeof e === 'object' && e !== null && 'code' in e) {
    const code = (e).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}
