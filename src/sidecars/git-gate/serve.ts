/**
 * git-gate entry point, bundled to /opt/bot-bottle/git-gate.js.
 *
 *   node git-gate.js                      the server (config from $BOT_BOTTLE_GIT_GATE_CONFIG)
 *   node git-gate.js --hook pre-receive   the mirrors' pre-receive hook (run by git-receive-pack)
 */
import { GIT_GATE_CONFIG_ENV, loadGitGateConfig, type GitGateConfig } from './config.js';
import { runPreReceiveHook } from './hook.js';
import { HOOK_SELFTEST_ENV } from './mirror.js';
import { startGate } from './server.js';

const CONFIG_EXIT = 2;

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--hook' && process.env[HOOK_SELFTEST_ENV] === '1') {
    // The server proving at start that git can really run this hook.
    process.stdout.write('git-gate hook ok\n');
    process.exit(0);
  }
  if (argv[0] === '--hook') {
    if (argv[1] !== 'pre-receive') {
      process.stderr.write(`git-gate: unknown hook ${argv[1] ?? ''}\n`);
      process.exit(1);
    }
    process.exit(await runPreReceiveHook());
  }

  let cfg: GitGateConfig;
  try {
    cfg = loadGitGateConfig(process.env[GIT_GATE_CONFIG_ENV] || '');
  } catch (e) {
    process.stderr.write(`bot-bottle git-gate: bad config: ${(e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ')}\n`);
    process.exit(CONFIG_EXIT);
  }
  const script = process.argv[1] ?? '';
  const gate = await startGate(cfg, [process.execPath, ...process.execArgv, script]);
  process.stdout.write(`[git-gate] listening on ${cfg.listen.host}:${cfg.listen.port} for ${Object.keys(cfg.repos).join(', ') || 'no repos'}\n`);
  const stop = () => {
    gate.close().then(
      () => process.exit(0),
      () => process.exit(0),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`bot-bottle git-gate: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
