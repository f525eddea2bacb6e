/**
 * Running the proxy: the CA, the listening socket and the serving processes.
 *
 * Node serves on one core per process, so the primary (which listens, owns
 * the CA and serves its share itself) forks `workers - 1` children running
 * the same entry and hands each accepted connection to the next process in
 * turn (the socket travels over the IPC channel, as `node:cluster` does).
 * The CA is made (or loaded from `caDir`) by the primary only and handed to
 * the children in memory; they never write it anywhere. A child that dies is
 * replaced; if the primary dies the children exit (fail closed).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../../paths.js';
import { loadOrCreateCa, writeCaCert, type CaMaterial } from './certs.js';
import { EGRESS_CONFIG_ENV, loadEgressConfig, type EgressConfig } from './config.js';
import { EgressProxy } from './proxy.js';
import { listenScoped } from '../net-scope.js';

export const WORKER_ENV = 'BOT_BOTTLE_EGRESS_WORKER';

type ToChild = { t: 'ca'; ca: CaMaterial } | { t: 'reload' };
type ToPrimary = { t: 'ready' };

export interface RunOptions {
  readonly configPath: string;
  /** Overrides `config.workers`. */
  readonly workers?: number;
  /** Script the children run (default: serve.js/serve.ts beside this file). */
  readonly workerEntry?: string;
  readonly log?: (line: string) => void;
}

export interface Running {
  readonly address: AddressInfo;
  readonly config: EgressConfig;
  readonly ca: CaMaterial;
  /** The primary's own proxy (routes, introspection, reload). */
  readonly proxy: EgressProxy;
  readonly pids: () => number[];
  reload(): void;
  close(): Promise<void>;
}

/**
 * One serving process unless the config asks for more. Measured on the
 * 2-core bench box (client, upstream and proxy sharing the cores, as agent,
 * services and proxy do in a bottle), one process beat two on every phase
 * but `echo` (small GET 9,751 vs 7,730 req/s) at half the memory; more
 * processes pay off only with idle cores. `cpuCount()` is there for that.
 */
const DEFAULT_WORKERS = 1;

export function cpuCount(): number {
  try {
    return availableParallelism();
  } catch {
    return cpus().length || 1;
  }
}

function defaultEntry(): string {
  const here = import.meta.url;
  const ext = here.endsWith('.ts') ? '.ts' : '.js';
  const beside = fileURLToPath(new URL(`./serve${ext}`, here));
  // In the bundled CLI (scripts/bundle-cli.mjs) this module is a chunk of its own: the entry is the package's.
  return existsSync(beside) ? beside : join(packageRoot(), 'dist', 'sidecars', 'egress', 'serve.js');
}

/** Start the primary: CA, listen, children. */
export async function runEgress(opts: RunOptions): Promise<Running> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const config = loadEgressConfig(opts.configPath);
  const ca = await loadOrCreateCa(config.caDir, config.identity);
  if (config.caCertOut !== undefined) writeCaCert(ca, config.caCertOut);
  const proxy = new EgressProxy({ config, ca, configPath: opts.configPath, log });
  proxy.watch();
  const nWorkers = Math.max(1, opts.workers ?? config.workers ?? DEFAULT_WORKERS);

  if (nWorkers === 1) {
    const address = await proxy.listen();
    return {
      address,
      config,
      ca,
      proxy,
      pids: () => [process.pid],
      reload: () => proxy.reload(),
      close: () => proxy.close(),
    };
  }

  const entry = opts.workerEntry ?? defaultEntry();
  if (!existsSync(entry)) throw new Error(`worker entry ${entry} does not exist`);
  const children: (ChildProcess | undefined)[] = new Array<ChildProcess | undefined>(nWorkers - 1).fill(undefined);
  const ready: boolean[] = new Array<boolean>(nWorkers - 1).fill(false);
  let closing = false;

  const spawn = (i: number): void => {
    const child = fork(entry, [], {
      env: { ...process.env, [WORKER_ENV]: '1', [EGRESS_CONFIG_ENV]: opts.configPath },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'json',
    });
    children[i] = child;
    ready[i] = false;
    child.on('message', (m: ToPrimary) => {
      if (m.t === 'ready') ready[i] = true;
    });
    child.on('exit', (code, signal) => {
      ready[i] = false;
      children[i] = undefined;
      if (closing) return;
      log(`egress: worker ${child.pid ?? '?'} exited (${signal ?? code ?? '?'}); restarting it`);
      setTimeout(() => spawn(i), 500).unref();
    });
    child.send({ t: 'ca', ca } satisfies ToChild);
  };
  for (let i = 0; i < nWorkers - 1; i++) spawn(i);

  // Round-robin over the primary (slot nWorkers-1) and the ready children.
  let next = 0;
  const server: Server = createServer({ pauseOnConnect: true }, (socket: Socket) => {
    for (let tries = 0; tries < nWorkers; tries++) {
      const slot = next;
      next = (next + 1) % nWorkers;
      if (slot === nWorkers - 1) return proxy.acceptSocket(socket);
      const child = children[slot];
      if (child !== undefined && ready[slot] && child.connected) {
        child.send({ t: 'conn' }, socket, { keepOpen: false }, (err) => {
          if (err) proxy.acceptSocket(socket);
        });
        return;
      }
    }
    proxy.acceptSocket(socket);
  });
  // `inside`: the agent's side and loopback only (net-scope.ts).
  const bound = await listenScoped(server, config.listen.host, config.listen.port);
  const address = server.address() as AddressInfo;

  return {
    address,
    config,
    ca,
    proxy,
    pids: () => [process.pid, ...children.flatMap((c) => (c?.pid === undefined ? [] : [c.pid]))],
    reload: () => {
      proxy.reload();
      for (const c of children) if (c?.connected) c.send({ t: 'reload' } satisfies ToChild);
    },
    close: async () => {
      closing = true;
      await bound.close();
      for (const c of children) if (c !== undefined && c.exitCode === null) c.kill('SIGTERM');
      await proxy.close();
    },
  };
}

/** A child: wait for the CA, then serve the sockets the primary hands over. */
export function runWorker(configPath: string, log: (line: string) => void): void {
  const config = loadEgressConfig(configPath);
  let proxy: EgressProxy | undefined;
  const pending: Socket[] = [];
  process.on('message', (m: ToChild | { t: 'conn' }, handle?: unknown) => {
    switch (m.t) {
      case 'ca':
        if (proxy !== undefined) return;
        proxy = new EgressProxy({ config, ca: m.ca, configPath, log });
        proxy.watch();
        for (const s of pending.splice(0)) proxy.acceptSocket(s);
        process.send?.({ t: 'ready' } satisfies ToPrimary);
        return;
      case 'reload':
        proxy?.reload();
        return;
      case 'conn': {
        const socket = handle as Socket | undefined;
        if (socket === undefined) return;
        if (proxy === undefined) pending.push(socket);
        else proxy.acceptSocket(socket);
        return;
      }
      default:
        return;
    }
  });
  // The primary is gone: stop serving (the agent loses egress, never gains it).
  process.on('disconnect', () => {
    void proxy?.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  });
  process.on('SIGHUP', () => proxy?.reload());
  process.on('SIGTERM', () => process.exit(0));
}
