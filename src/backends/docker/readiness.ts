/**
 * Waiting for a launching bottle's sidecar bundle. The wait ends on real
 * signals: the health file the bundle's init rewrites on every state change
 * (and the files its sidecars write, such as the egress CA), or the bundle
 * container's exit. The deadline only bounds a bundle that neither comes up
 * nor dies (a hung sidecar); it is generous because on a loaded machine (many
 * bottles starting at once on two cores) four Node processes boot slowly, and
 * a launch must not fail for being slow.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Container } from 'dockerode';
import { BottleError } from '../../errors.js';
import type { Progress } from '../../progress.js';

export const READY_DEADLINE_MS = 300_000;
/** A wait longer than this is reported, then again at every further interval. */
const REPORT_AFTER_MS = 5_000;
/** Re-read even without a file event: a watch can miss an event (some bind mounts, runtimes). */
const POLL_MS = 100;

interface ServiceReport {
  state?: string;
  restarts?: number;
  lastExit?: { code?: number | null; signal?: string | null } | null;
}

interface Health {
  ready?: boolean;
  services?: Record<string, ServiceReport>;
}

/** One launch's view of its bundle: exit, deadline and health shared by every wait on it. */
export class BundleWatch {
  private exitCode: number | undefined;
  private readonly stopWaiting = new AbortController();
  private readonly deadline: number;
  private lastHealth: Health | undefined;

  constructor(
    bundle: Container,
    private readonly identity: string,
    private readonly containerName: string,
    private readonly healthFile: string,
    private readonly progress: Progress,
    deadlineMs = READY_DEADLINE_MS,
  ) {
    this.deadline = Date.now() + deadlineMs;
    // Called once the bundle has started: "not-running" then means it exited.
    bundle.wait({ condition: 'not-running', abortSignal: this.stopWaiting.signal }).then(
      (r: { StatusCode?: number }) => void (this.exitCode = r.StatusCode ?? -1),
      () => undefined,
    );
  }

  /** Every service in the health file is ready. */
  async ready(): Promise<void> {
    await this.until(this.healthFile, 'every sidecar ready', async () => {
      const text = await readFile(this.healthFile, 'utf8').catch(() => undefined);
      if (text === undefined) return undefined;
      try {
        this.lastHealth = JSON.parse(text) as Health;
      } catch {
        return undefined; // a reader racing a writer outside the rename: next event
      }
      return this.lastHealth.ready === true ? true : undefined;
    });
  }

  /** A non-empty file a sidecar writes (atomically) into its mounted state folder. */
  async file(path: string, what: string): Promise<Buffer> {
    return this.until(path, what, async () => {
      const data = await readFile(path).catch(() => undefined);
      return data !== undefined && data.length > 0 ? data : undefined;
    });
  }

  /** The launch is over either way: stop listening for the exit and end every wait still running. */
  close(): void {
    this.stopWaiting.abort();
  }

  private get closed(): boolean {
    return this.stopWaiting.signal.aborted;
  }

  private async until<T>(path: string, what: string, check: () => Promise<T | undefined>): Promise<T> {
    const started = Date.now();
    let nextReport = started + REPORT_AFTER_MS;
    let wake: () => void = () => undefined;
    let watcher: FSWatcher | undefined;
    try {
      const name = basename(path);
      watcher = watch(dirname(path), (_event, file) => {
        if (file === null || file === name || file.startsWith(`${name}.`)) wake();
      });
      watcher.on('error', () => undefined); // the poll still runs
    } catch {
      // the folder cannot be watched: polling alone
    }
    try {
      for (;;) {
        const found = await check();
        if (found !== undefined) return found;
        if (this.closed) throw this.failure(`launch ended before ${what}`);
        if (this.exitCode !== undefined) throw this.failure(`exited (code ${this.exitCode}) before ${what}`);
        const now = Date.now();
        if (now >= this.deadline) throw this.failure(`not ${what} after ${Math.round((now - started) / 1000)} s`);
        if (now >= nextReport) {
          this.progress.step(`still waiting for the sidecar bundle (${what}): ${this.states()}`);
          nextReport = now + 3 * REPORT_AFTER_MS;
        }
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.min(POLL_MS, Math.max(0, this.deadline - now)));
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
    } finally {
      watcher?.close();
    }
  }

  /** Each service's state from the last health report, the ones not ready first. */
  private states(): string {
    const services = Object.entries(this.lastHealth?.services ?? {});
    if (services.length === 0) return 'no health report yet';
    const rank = (s: ServiceReport) => (s.state === 'ready' ? 1 : 0);
    return services
      .sort(([, a], [, b]) => rank(a) - rank(b))
      .map(([name, s]) => {
        const exit = s.lastExit ? `, last exit ${s.lastExit.signal ?? `code ${s.lastExit.code ?? '?'}`}` : '';
        const restarts = s.restarts ? `, ${s.restarts} restarts` : '';
        return `${name} ${s.state ?? '?'}${restarts}${exit}`;
      })
      .join('; ');
  }

  private failure(why: string): BottleError {
    return new BottleError('launch', `sidecar bundle of ${this.identity} ${why} (${this.states()})`, {
      fix: `see why with: docker logs ${this.containerName}`,
    });
  }
}
