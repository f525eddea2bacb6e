/**
 * Bundle entry point (PID 1 in the sidecar bundle): load the config, run the
 * supervisor, shut down cleanly on SIGTERM/SIGINT. As PID 1 the kernel gives
 * us no default signal actions, so without these handlers `docker stop` would
 * wait out its timeout and SIGKILL everything.
 */
import { BUNDLE_SECRETS_DIR, BUNDLE_SECRETS_STDIN_ENV } from '../../bottle/layout.js';
import { CONFIG_ENV, DEFAULT_CONFIG_PATH, loadBundleConfig, type BundleConfig } from './config.js';
import { receiveSecrets } from './secrets.js';
import { Supervisor } from './supervisor.js';
import { compileCacheFor } from './compile-cache.js';
import { INSIDE } from '../net-scope.js';

const CONFIG_EXIT = 2;
/** In the bundle's tmpfs (memory only; the rootfs is read-only). */
const COMPILE_CACHE_LINKS = '/tmp/compile-cache';

function readConfig(): BundleConfig {
  const path = process.env[CONFIG_ENV] || DEFAULT_CONFIG_PATH;
  try {
    return loadBundleConfig(path);
  } catch (err) {
    // Exactly one line: the host shows it verbatim as the launch failure.
    const msg = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ');
    process.stderr.write(`bot-bottle init: bad bundle config: ${msg}\n`);
    process.exit(CONFIG_EXIT);
  }
}

// The image's compile cache under this process's uid, for the services it spawns (compile-cache.ts).
const compileCache = process.env.NODE_COMPILE_CACHE;
const uid = process.getuid?.();
if (compileCache && uid !== undefined) {
  const linked = compileCacheFor(compileCache, COMPILE_CACHE_LINKS, uid);
  if (linked !== undefined) process.env.NODE_COMPILE_CACHE = linked;
}

const supervisor = new Supervisor(readConfig());

// The heartbeat, in-process when asked: the agent's proof that the bundle answers.
const heartbeatPort = Number(process.env.BOT_BOTTLE_HEARTBEAT_PORT ?? '');
let heartbeat: Promise<(() => Promise<void>) | undefined> = Promise.resolve(undefined);

/**
 * Begun once the services are spawned: loading node:http and listening are
 * ~20 ms of CPU (more on a busy machine) that the egress proxy's boot, and so
 * the bottle's readiness, need not wait for. The host never waits on it.
 */
function beginHeartbeat(): void {
  if (!Number.isInteger(heartbeatPort) || heartbeatPort <= 0) return;
  heartbeat = import('./heartbeat-server.js').then(({ startHeartbeat, stopHeartbeat }) => {
    const server = startHeartbeat(heartbeatPort, INSIDE, process.env.BOT_BOTTLE_HEALTH_FILE);
    return () => stopHeartbeat(server);
  });
}

function startServices(): void {
  supervisor.start();
  beginHeartbeat();
}

const onSignal = (sig: NodeJS.Signals): void => {
  process.stdout.write(`[init] ${sig}: stopping services\n`);
  Promise.all([supervisor.stop(), heartbeat.then((stop) => stop?.())]).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`bot-bottle init: shutdown failed: ${String(err)}\n`);
      process.exit(1);
    },
  );
};
process.on('SIGTERM', onSignal);
process.on('SIGINT', onSignal);

// Secrets first (when the host hands them over on stdin): no sidecar runs without its tokens.
if (process.env[BUNDLE_SECRETS_STDIN_ENV] === '1') {
  receiveSecrets(process.stdin, BUNDLE_SECRETS_DIR).then(
    () => startServices(),
    (err: unknown) => {
      process.stderr.write(`bot-bottle init: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(CONFIG_EXIT);
    },
  );
} else {
  startServices();
}
