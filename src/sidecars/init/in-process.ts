/**
 * A sidecar the init runs in its own process rather than spawning a Node of
 * its own (the egress proxy): the bottle's start then waits on one Node boot
 * instead of two, one after the other, on cores the engine is busy with.
 *
 * The module is imported as soon as the init boots, while the secrets are
 * still on their way (loading code is not running it: no sidecar starts
 * without its tokens), and started once they have arrived.
 *
 * Fail closed: such a service is not restarted. If it cannot start, or dies
 * (an uncaught error ends the whole process), the init exits and the bundle
 * with it, so the agent loses its way out rather than keeping a half-working one.
 */
import { pathToFileURL } from 'node:url';

export interface InProcessService {
  close(): Promise<void>;
}

export interface InProcessModule {
  /** Resolves once the service serves (the proxy listens). */
  startInProcess(opts: { env: Readonly<Record<string, string>>; log: (line: string) => void }): Promise<InProcessService>;
  /** The one-line message and exit code for a start that failed. */
  startFailure?(err: unknown): { line: string; code: number };
}

export async function loadInProcess(path: string): Promise<InProcessModule> {
  const mod = (await import(pathToFileURL(path).href)) as Partial<InProcessModule>;
  if (typeof mod.startInProcess !== 'function') throw new Error(`${path} exports no startInProcess`);
  return mod as InProcessModule;
}

/** Why a start failed, as one line, and the init's exit code for it. */
export function failureOf(mod: InProcessModule | undefined, name: string, err: unknown): { line: string; code: number } {
  if (mod?.startFailure !== undefined) return mod.startFailure(err);
  return { line: `bot-bottle ${name}: ${(err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ')}`, code: 1 };
}
