/**
 * Host-side registry of sidecars: each one's *prepare* turns the manifest
 * into a SidecarPlan (pure: nothing written). Backends consume the plans;
 * they never import a sidecar.
 */
import { type PreparedSidecar, type SidecarName, type SidecarPlan, type SidecarPrepareInput, SIDECARS } from '../bottle/sidecar.js';

type Prepare = (input: SidecarPrepareInput) => Promise<SidecarPlan>;

/** Loaded lazily: a command that never starts a bottle does not pay for sidecar code. */
const loaders: Record<SidecarName, () => Promise<Prepare>> = {
  egress: async () => (await import('./egress/prepare.js')).prepare,
  'git-gate': async () => (await import('./git-gate/prepare.js')).prepare,
  supervise: async () => (await import('./supervise/prepare.js')).prepare,
};

/** Every sidecar's plan, with its state folder on the host and where the bundle mounts it. */
export async function prepareSidecars(input: SidecarPrepareInput, dirs: (name: SidecarName) => { hostDir: string; bundleDir: string }): Promise<PreparedSidecar[]> {
  const out: PreparedSidecar[] = [];
  for (const name of SIDECARS) {
    const plan = await (await loaders[name]())(input);
    out.push({ name, ...dirs(name), plan });
  }
  return out;
}
