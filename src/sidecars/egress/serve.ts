/**
 * Bundle entry of the egress proxy. Run as a process (`node serve.js` with
 * BOT_BOTTLE_EGRESS_CONFIG naming the config file), it starts the proxy,
 * writes the CA certificate to `caCertOut`, logs one line once listening,
 * reloads routes on SIGHUP and stops on SIGTERM/SIGINT. A bad config is one
 * line on stderr and exit code 2. The same file is what the primary forks as
 * its workers (BOT_BOTTLE_EGRESS_WORKER=1).
 *
 * Imported instead (the bundle's init loads it into its own process: one Node
 * boot fewer on a bottle's start path), it only exports `startInProcess`.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EGRESS_CONFIG_ENV, EgressConfigError } from './config.js';
import { runEgress, runWorker, WORKER_ENV, type Running } from './run.js';

const CONFIG_EXIT = 2;

function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ');
}

function listeningLine(running: Running): string {
  const a = running.address;
  return `bot-bottle egress: listening on ${a.address}:${a.port} (${running.pids().length} process(es), ${running.proxy.routes.length} route(s)${running.config.caCertOut ? `, CA certificate in ${running.config.caCertOut}` : ''})`;
}

/** This file, for the primary's workers: they run it as a process (WORKER_ENV). */
const self = fileURLToPath(import.meta.url);

/** The proxy as the init runs it (see sidecars/init/in-process.ts): resolves once it listens. */
export async function startInProcess(opts: { env: Readonly<Record<string, string>>; log: (line: string) => void }): Promise<{ close(): Promise<void> }> {
  const configPath = opts.env[EGRESS_CONFIG_ENV];
  if (configPath === undefined || configPath === '') throw new EgressConfigError(`${EGRESS_CONFIG_ENV} is not set`);
  const running = await runEgress({ configPath, workerEntry: self, log: opts.log });
  opts.log(listeningLine(running));
  return { close: () => running.close() };
}

/** The config error line the host shows as the launch failure, and the exit code that goes with it. */
export function startFailure(err: unknown): { line: string; code: number } {
  const bad = err instanceof EgressConfigError;
  return { line: `bot-bottle egress: ${bad ? 'bad config: ' : ''}${oneLine(err)}`, code: bad ? CONFIG_EXIT : 1 };
}

function runAsProcess(): void {
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const configPath = process.env[EGRESS_CONFIG_ENV];

  if (configPath === undefined || configPath === '') {
    process.stderr.write(`bot-bottle egress: bad config: ${EGRESS_CONFIG_ENV} is not set\n`);
    process.exit(CONFIG_EXIT);
  } else if (process.env[WORKER_ENV] === '1') {
    try {
      runWorker(configPath, log);
    } catch (err) {
      process.stderr.write(`bot-bottle egress worker: ${oneLine(err)}\n`);
      process.exit(CONFIG_EXIT);
    }
  } else {
    runEgress({ configPath, workerEntry: process.argv[1], log }).then(
      (running) => {
        process.stdout.write(`${listeningLine(running)}\n`);
        process.on('SIGHUP', () => running.reload());
        const stop = (): void => {
          running.close().then(
            () => process.exit(0),
            () => process.exit(1),
          );
          setTimeout(() => process.exit(0), 3000).unref();
        };
        process.on('SIGTERM', stop);
        process.on('SIGINT', stop);
      },
      (err: unknown) => {
        const f = startFailure(err);
        process.stderr.write(`${f.line}\n`);
        process.exit(f.code);
      },
    );
  }
}

/** Run as a process (or as a worker) only when this file is the program, not when the init imports it. */
function isProgram(): boolean {
  const argv1 = process.argv[1];
  if (argv1 === undefined) return false;
  try {
    return realpathSync(argv1) === realpathSync(self);
  } catch {
    return false;
  }
}

if (isProgram()) runAsProcess();
