/**
 * `doctor` on the real engine: the versions inside the sidecar bundle are read
 * from the bundle image a start would use (a throwaway container, no network,
 * removed after), and the bundle's Node is the pinned LTS, not Debian's.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connectEngine } from '../src/backends/docker/engine.js';
import { ensureImage } from '../src/backends/docker/images.js';
import { bundleImageRecipe } from '../src/backends/docker/plan.js';
import { silentProgress } from '../src/progress.js';
import { nodeEndOfLife, VERSIONS } from '../src/providers/versions.js';
import { docker, makeHome, run, type TestHome } from './helpers.js';

let h: TestHome;

before(async () => {
  h = makeHome();
  await ensureImage(await connectEngine(), bundleImageRecipe(), silentProgress);
});

after(async () => {
  await h.cleanup();
});

interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

void test('doctor --json reports the bundle runtime: the pinned Node LTS with its support window, git and OpenSSH', { timeout: 120_000 }, async () => {
  const r = await run(['doctor', '--no-network', '--json'], { env: h.env });
  assert.equal(r.code, 0, r.stderr);
  const checks = JSON.parse(r.stdout) as Check[];
  const bundle = checks.find((c) => c.name === 'bundle runtime');
  assert.ok(bundle, r.stdout);
  assert.equal(bundle.ok, true, bundle.detail);
  assert.match(bundle.detail, new RegExp(`^Node ${VERSIONS.node.version.replace(/\./g, '\\.')} \\(OpenSSL \\d+\\.\\d+\\.\\d+\\S*\\), git \\d+\\.\\d+\\.\\d+, OpenSSH_\\S+; Node supported until ${nodeEndOfLife(VERSIONS.node.version)}$`));
  // The Node in the boundary gets security fixes today.
  assert.ok((nodeEndOfLife(VERSIONS.node.version) ?? '') > new Date().toISOString().slice(0, 10));
  const host = checks.find((c) => c.name === 'host node');
  assert.ok(host && host.detail.includes(process.versions.node), r.stdout);
  // The probe container is gone.
  assert.equal((await docker(['ps', '-aq', '--filter', 'label=bot-bottle.kind=probe', '--filter', `ancestor=${bundleImageRecipe().repository}`])).trim(), '');
});
