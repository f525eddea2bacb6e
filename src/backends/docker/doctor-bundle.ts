/**
 * What runs inside the sidecar bundle: Node, OpenSSL, git and OpenSSH, read
 * from the bundle image this package would start (never built here: doctor
 * stays quick), by a throwaway container with no network.
 */
import type { DoctorCheck } from '../../bottle/backend.js';
import { nodeEndOfLife } from '../../providers/versions.js';
import { describeEngineError, type Engine, labels } from './engine.js';
import { recipeHash } from './images.js';
import { bundleImageRecipe } from './plan.js';
import { runOnce } from './run-once.js';

const PROBE = 'node -p "process.versions.node + \' \' + process.versions.openssl"; git --version; ssh -V 2>&1';

export interface BundleVersions {
  node: string;
  openssl: string;
  git: string;
  ssh: string;
}

export async function bundleVersionsCheck(engine: Engine, home: string, today = new Date()): Promise<DoctorCheck> {
  const recipe = bundleImageRecipe();
  let tag: string;
  try {
    tag = `${recipe.repository}:${await recipeHash(engine, recipe)}`;
    await engine.getImage(tag).inspect();
  } catch {
    return { name: 'bundle runtime', ok: true, detail: 'bundle image not built yet; the next `bot-bottle start` builds it', fix: undefined };
  }
  let v: BundleVersions;
  try {
    v = parseVersions(await runProbe(engine, tag, home));
  } catch (e) {
    return { name: 'bundle runtime', ok: false, detail: `cannot read versions from ${tag}: ${describeEngineError(e)}`, fix: `remove the image (docker rmi ${tag}); the next start rebuilds it` };
  }
  const detail = `Node ${v.node} (OpenSSL ${v.openssl}), git ${v.git}, ${v.ssh}`;
  const eol = nodeEndOfLife(v.node);
  if (!eol || eol <= today.toISOString().slice(0, 10)) {
    return { name: 'bundle runtime', ok: false, detail: `${detail}: Node ${v.node.split('.')[0]} ${eol ? `reached end of life on ${eol}` : 'has no known support window'}`, fix: 'update bot-bottle (it pins the bundle\'s Node in src/providers/versions.ts)' };
  }
  return { name: 'bundle runtime', ok: true, detail: `${detail}; Node supported until ${eol}`, fix: undefined };
}

/** The Node that runs the CLI itself: outside the boundary, but it holds the user's tokens. */
export function hostNodeCheck(today = new Date(), version = process.versions.node): DoctorCheck {
  const eol = nodeEndOfLife(version);
  if (eol && eol > today.toISOString().slice(0, 10)) return { name: 'host node', ok: true, detail: `Node ${version}; supported until ${eol}`, fix: undefined };
  return {
    name: 'host node',
    ok: false,
    detail: `Node ${version} ${eol ? `reached end of life on ${eol}` : 'has no known support window'}; the CLI runs, without security fixes`,
    fix: 'install a supported Node LTS (22 or 24) for the CLI',
  };
}

export function parseVersions(out: string): BundleVersions {
  const lines = out.split('\n').map((l) => l.trim()).filter(Boolean);
  const [node, openssl] = (lines[0] ?? '').split(' ');
  const git = /^git version (\S+)/.exec(lines[1] ?? '')?.[1];
  const ssh = /^(OpenSSH_\S+?),?(?:\s|$)/.exec(lines[2] ?? '')?.[1];
  if (!node || !/^\d+\.\d+\.\d+$/.test(node) || !openssl || !git || !ssh) throw new Error(`unexpected output: ${JSON.stringify(out.slice(0, 200))}`);
  return { node, openssl, git, ssh };
}

async function runProbe(engine: Engine, image: string, home: string): Promise<string> {
  const r = await runOnce(engine, {
    Image: image,
    Entrypoint: ['sh', '-c', PROBE],
    Labels: labels(undefined, 'probe', home),
    NetworkDisabled: true,
    HostConfig: { NetworkMode: 'none', ReadonlyRootfs: true, CapDrop: ['ALL'], SecurityOpt: ['no-new-privileges'] },
  });
  const out = r.stdout.toString('utf8');
  if (r.code !== 0) throw new Error(`probe exited ${r.code}: ${r.stderr.toString('utf8').slice(0, 200)}`);
  return out;
}
