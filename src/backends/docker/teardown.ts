/** *Teardown*: remove every engine resource carrying the bottle's label. Idempotent. */
import { type Engine, isNotFound, LABEL_IDENTITY, LABEL_KIND } from './engine.js';

export async function teardownBottle(engine: Engine, identity: string, opts: { keepWorkspace: boolean }): Promise<void> {
  const filters = JSON.stringify({ label: [`${LABEL_IDENTITY}=${identity}`] });
  const containers = await engine.listContainers({ all: true, filters });
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
