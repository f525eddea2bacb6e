/** Every bottle of a home the engine holds, by label, for one backend. */
import type { RunningBottle } from '../../bottle/backend.js';
import type { BackendName } from '../../bottle/spec.js';
import { type Engine, homeId, LABEL_BACKEND, LABEL_HOME, LABEL_IDENTITY, LABEL_KIND, LABEL_MANAGED } from './engine.js';

export async function listLabelled(engine: Engine, home: string, backend: BackendName): Promise<RunningBottle[]> {
  const filters = JSON.stringify({ label: [`${LABEL_MANAGED}=true`, `${LABEL_HOME}=${homeId(home)}`] });
  const [containers, networks, volumes] = await Promise.all([
    engine.listContainers({ all: true, filters }),
    engine.listNetworks({ filters }),
    engine.listVolumes({ filters }),
  ]);
  // Resources from before the backend label are Docker's.
  const ours = (l: Record<string, string> | undefined) => (l?.[LABEL_BACKEND] ?? 'docker') === backend;
  const byId = new Map<string, { services: Record<string, string>; createdAt: Date | undefined }>();
  const entry = (id: string) => {
    let e = byId.get(id);
    if (!e) byId.set(id, (e = { services: {}, createdAt: undefined }));
    return e;
  };
  for (const c of containers) {
    const id = c.Labels[LABEL_IDENTITY];
    if (!id || !ours(c.Labels)) continue;
    const e = entry(id);
    e.services[c.Labels[LABEL_KIND] ?? 'container'] = c.State;
    const created = new Date(c.Created * 1000);
    if (!e.createdAt || created < e.createdAt) e.createdAt = created;
  }
  for (const n of networks) {
    const id = n.Labels?.[LABEL_IDENTITY];
    if (id && ours(n.Labels)) entry(id).services[n.Labels?.[LABEL_KIND] ?? 'network'] = 'present';
  }
  for (const v of volumes.Volumes ?? []) {
    const id = v.Labels?.[LABEL_IDENTITY];
    if (id && ours(v.Labels)) entry(id).services[v.Labels?.[LABEL_KIND] ?? 'volume'] = 'present';
  }
  return [...byId.entries()].map(([identity, e]) => ({ identity, backend, services: e.services, createdAt: e.createdAt }));
}
