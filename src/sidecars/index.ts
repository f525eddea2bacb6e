/**
 * Host-side registry of sidecars: each one's *prepare* turns the manifest
 * into a SidecarPlan. Backends consume the plans; they never import a sidecar.
 */
import { type PreparedSidecar, type SidecarName, type SidecarPlan, type SidecarPrepareInput, SIDECARS } from '../bottle/sidecar.js';

type Prepare = (input: SidecarPrepareInput) => Promise<SidecarPlan>;

/** Loaded lazily: a command that never starts a bottle does not pay for sidecar code. */
const loaders: Record<SidecarName, () => Promise<Prepare | undefined>> = {
  egress: async () => (await import('./egress/prepare.js')).prepare,
  'git-gate': async () => (await import('./git-gate/prepare.js')).prepare,
  supervise: async () => (await import('./supervise/prepare.js')).prepare,
};

export type SidecarInputBase = Omit<SidecarPrepareInput, 'hostDir' | 'bundleDir'>;

export async function prepareSidecars(base: SidecarInputBase, dirs: (name: SidecarName) => { hostDir: string; bundleDir: string }): Promise<PreparedSidecar[]> {
  const out: PreparedSidecar[] = [];
  for (const name of SIDECARS) {
    const prepare = await loaders[name]();
    if (!prepare) continue;
    const { hostDir, bundleDir } = dirs(name);
    out.push({ name, hostDir, bundleDir, plan: await prepare({ ...base, hostDir, bundleDir }) });
  }
  return out;
}
