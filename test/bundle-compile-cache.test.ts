/**
 * The bundle image ships V8's compiled code for the sidecars on a bottle's
 * start path (images/bundle/Dockerfile). Node files it under a tag of its V8
 * flags, so a sidecar whose flags drift from the ones the cache was made with
 * silently boots without it: each entry is run here, read-only, with the flags
 * its plan gives it, and Node's own debug output must say the cache was used.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { connectEngine } from '../src/backends/docker/engine.js';
import { ensureImage } from '../src/backends/docker/images.js';
import { bundleImageRecipe } from '../src/backends/docker/plan.js';
import { EGRESS_NODE_FLAGS, sidecarCommand } from '../src/bottle/layout.js';
import { silentProgress } from '../src/progress.js';
import { docker } from './helpers.js';

let image: string;

before(async () => {
  image = await ensureImage(await connectEngine(), bundleImageRecipe(), silentProgress);
});

/** Node's compile-cache debug lines for `command` run as `user` (no config: each entry compiles, then exits). */
async function cacheLog(command: readonly string[], user: string): Promise<string> {
  const [file, ...args] = command;
  // The entries exit non-zero without a config: read the output, not the status.
  const out = await docker([
    'run', '--rm', '--read-only', '--tmpfs', '/tmp', '--network', 'none', '--user', user, '-e', 'NODE_DEBUG_NATIVE=COMPILE_CACHE',
    '--entrypoint', 'sh', image, '-c', '"$@" 2>&1; true', 'sh', file ?? 'node', ...args,
  ]);
  return out;
}

test('the egress proxy, the git gate and the init boot from the image\'s compile cache', async () => {
  const entrypoint = JSON.parse(await docker(['inspect', '-f', '{{json .Config.Entrypoint}}', image])) as string[];
  for (const [what, command] of [
    ['egress', sidecarCommand('egress', EGRESS_NODE_FLAGS)],
    ['git-gate', sidecarCommand('git-gate')],
    ['init', entrypoint],
  ] as const) {
    const log = await cacheLog(command, '10001:10001');
    assert.match(log, new RegExp(`cache for file:///opt/bot-bottle/${what}\\.js was accepted`), `${what}: ${log.slice(0, 600)}`);
  }
});
