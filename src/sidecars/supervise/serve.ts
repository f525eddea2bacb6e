/**
 * Bundle entry point of the supervise sidecar (bundled to
 * /opt/bot-bottle/supervise.js, run by the bundle init): the MCP
 * server on 0.0.0.0:8765/mcp, plus a reconcile loop that installs approved
 * egress routes nobody was waiting for (a cancelled call, a restart).
 */
import { watch } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { startSupervise } from './server.js';
import { superviseConfigFromEnv, SuperviseConfigError } from './config.js';

const log = (line: string) => process.stdout.write(`[supervise] ${line}\n`);

async function main(): Promise<void> {
  let config;
  try {
    config = superviseConfigFromEnv();
  } catch (e) {
    process.stderr.write(`supervise: bad config: ${e instanceof SuperviseConfigError ? e.message : String(e)}\n`);
    process.exit(2);
  }
  await mkdir(config.queueDir, { recursive: true, mode: 0o700 });
  const running = await startSupervise(config, log);
  log(`MCP server on ${config.listen.host}:${running.port}/mcp for ${config.identity}; queue ${config.queueDir}`);

  let busy = false;
  const tick = () => {
    if (busy) return;
    busy = true;
    running.service
      .reconcile()
      .catch((e: unknown) => log(`reconcile: ${e instanceof Error ? e.message : String(e)}`))
      .finally(() => (busy = false));
  };
  tick();
  setInterval(tick, 2000).unref();
  try {
    watch(config.queueDir, tick).unref();
  } catch {
    // polling alone
  }

  const stop = (sig: string) => {
    log(`${sig}: stopping`);
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((e: unknown) => {
  process.stderr.write(`supervise: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
