/** *Teardown*: remove every engine resource carrying the bottle's label. Idempotent. */
import { type Engine, isNotFound, LABEL_IDENTITY, LABEL_KIND } from './engine.js';

/** How long the bundle's init has to stop its sidecars (they flush and exit in well under a second) before the engine kills it. */
const BUNDLE_STOP_SECONDS = 5;

export async function teardownBottle(engine: Engine, identity: string, opts: { keepWorkspace: boolean }): Promise<void> {
  const filters = JSON.stringify({ label: [`${LABEL_IDENTITY}=${identity}`] });
  const containers = await engine.listContainers({ all: true, filters });
  // The bundle is asked to stop first: its sidecars batch audit lines for a
  // few milliseconds, and a SIGKILL right after the agent's last request (a
  // headless session ends at once) lost that request from the record.
  const runningBundles = containers.filter((c) => c.Labels?.[LABEL_KIND] === 'bundle' && c.State === 'running');
  // Best effort: one already stopping or gone is removed below all the same.
  await Promise.all(runningBundles.map((c) => engine.getContainer(c.Id).stop({ t: BUNDLE_STOP_SECONDS }).catch(() => undefined)));
  await Promise.all(containers.map((c) => ignoreGone(engine.getContainer(c.Id).remove({ force: true, v: false }))));
  const networks = await engine.listNetworks({ filters });
  await Promise.all(networks.map((n) => ignoreGone(engine.getNetwork(n.Id).remove())));
  if (!opts.keepWorkspace) {
    const { Volumes } = await engine.listVolumes({ filters });
    await Promise.all((Volumes ?? []).filter((v) => v.Labels?.[LABEL_KIND] !== undefined).map((v) => ignoreGone(engine.getVolume(v.Name).remove())));
    // Images made for this bottle alone (its --cwd layer, commits, capability changes) go with it.
    const own = await engine.listImages({ filters: JSON.stringify({ reference: [`bot-bottle/cwd-${identity}`, `bot-bottle/bottle-${identity}`] }) });
    for (const img of own) await ignoreGone(engine.getImage(img.Id).remove({ force: true }));
  }
}

async function ignoreGone(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}
