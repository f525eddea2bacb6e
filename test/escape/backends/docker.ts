/**
 * The escape suite's Docker adapter: the only part of the suite that knows
 * how this backend holds a bottle (container names, the engine's view of
 * them, the bundle's networks). Another backend supplies the same
 * interface in a file beside this one.
 */
import { bottleNames } from '../../../src/backends/docker/names.js';
import { hostAddresses } from '../../../src/demo/run.js';
import { docker } from '../../helpers.js';
import type { EscapeBackend, Limits } from '../backend.js';

const agentCtr = (id: string) => bottleNames(id).agent;
const bundleCtr = (id: string) => bottleNames(id).bundle;

async function limitsOf(ctr: string): Promise<Limits> {
  const hc = JSON.parse(await docker(['inspect', '-f', '{{json .HostConfig}}', ctr])) as { NanoCpus?: number; Memory?: number; PidsLimit?: number | null };
  return { nanoCpus: hc.NanoCpus ?? 0, memoryBytes: hc.Memory ?? 0, pids: hc.PidsLimit ?? 0 };
}

export const dockerBackend: EscapeBackend = {
  name: 'docker',
  timeScale: 1,
  startArgs: ['--backend', 'docker'],
  describeAgent: (id) => docker(['inspect', agentCtr(id)]),
  describeBundle: (id) => docker(['inspect', bundleCtr(id)]),
  bundleExec: (id, script) => docker(['exec', bundleCtr(id), 'sh', '-c', script]),
  agentLimits: (id) => limitsOf(agentCtr(id)),
  bundleLimits: (id) => limitsOf(bundleCtr(id)),
  hostAddresses: () => Promise.resolve(hostAddresses()),
  async agentAddresses(id) {
    return (await docker(['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}', agentCtr(id)])).split(' ').filter(Boolean);
  },
  async bundleAddresses(id) {
    const nets = JSON.parse(await docker(['inspect', '-f', '{{json .NetworkSettings.Networks}}', bundleCtr(id)])) as Record<string, { IPAddress: string }>;
    const inside = nets[bottleNames(id).internalNetwork]?.IPAddress ?? '';
    const outside = nets[bottleNames(id).egressNetwork]?.IPAddress ?? '';
    return { inside, outside };
  },
  attachFixture: (id, git) => git.attach(id),
  async outsideImage(id) {
    return docker(['inspect', '-f', '{{.Config.Image}}', agentCtr(id)]);
  },
  async outsiderRun(id, image, script) {
    // A container on the bundle's egress network: what the host and its other containers can see of the bundle.
    return docker(['run', '--rm', '--network', bottleNames(id).egressNetwork, '--label', 'bb-test=1', '--entrypoint', 'bash', image, '-c', script]);
  },
};
