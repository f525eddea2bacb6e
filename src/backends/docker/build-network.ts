/**
 * Where an agent-proposed Dockerfile is built. Its RUN steps would otherwise
 * run on the engine's default bridge: the host's services, the cloud
 * metadata address and the whole internet. Instead they run on a network of
 * their own with no route out (internal, no host address on its bridge),
 * whose only other member is the build proxy (the bundle image running
 * build-proxy.js): CONNECT to the bottle's routes, plain GET to the Debian
 * mirror images are built from, nothing else. Both are removed afterwards,
 * also when the build fails.
 */
import { BottleError } from '../../errors.js';
import type { Progress } from '../../progress.js';
import { BUILD_PROXY_ENV, BUILD_PROXY_PORT, type BuildProxyConfig } from '../../sidecars/egress/build-proxy.js';
import { bundleEntry } from '../../bottle/layout.js';
import { type Engine, isNotFound, labels } from './engine.js';
import { createBottleNetwork } from './networks.js';

const PROXY_ALIAS = 'build-proxy';
const READY_TIMEOUT_MS = 30_000;

export interface BuildNetwork {
  /** For the build's `networkmode`. */
  readonly mode: string;
  /** For the build's HTTP(S)_PROXY. */
  readonly proxy: string;
}

export interface BuildEgress {
  readonly routes: readonly { readonly host: string; readonly port: number }[];
  readonly hosts: Readonly<Record<string, string>>;
  /** Package mirrors, as URLs (the Debian mirror the base image came from). */
  readonly mirrors: readonly string[];
}

function mirrorHostPorts(urls: readonly string[]): { host: string; port: number }[] {
  return urls.flatMap((u) => {
    try {
      const url = new URL(u);
      return url.protocol === 'http:' ? [{ host: url.hostname.toLowerCase(), port: Number(url.port || 80) }] : [];
    } catch {
      return [];
    }
  });
}

/** Run `fn` with a confined build network and its proxy; both removed afterwards. */
export async function withBuildNetwork<T>(
  engine: Engine,
  opts: { identity: string; home: string; bundleImage: string; egress: BuildEgress },
  progress: Progress,
  fn: (net: BuildNetwork) => Promise<T>,
): Promise<T> {
  const name = `bot-bottle-${opts.identity}-build`;
  const config: BuildProxyConfig = { port: BUILD_PROXY_PORT, routes: opts.egress.routes, mirrors: mirrorHostPorts(opts.egress.mirrors), hosts: opts.egress.hosts };
  progress.step(`building the agent-proposed image on a confined network (${config.routes.length} route(s), ${config.mirrors.length} package mirror(s))`);
  const gone = (e: unknown): void => {
    if (!isNotFound(e)) throw e;
  };
  const remove = async () => {
    await engine.getContainer(`${name}-proxy`).remove({ force: true }).catch(gone);
    await engine.getNetwork(name).remove().catch(gone);
  };
  try {
    // Like a bottle's networks: from our own pool when the engine's default pools are spent.
    await createBottleNetwork(engine, {
      Name: name,
      Driver: 'bridge',
      Internal: true,
      CheckDuplicate: true,
      Options: { 'com.docker.network.bridge.inhibit_ipv4': 'true' },
      Labels: labels(opts.identity, 'network-build', opts.home),
    });
    const proxy = await engine.createContainer({
      name: `${name}-proxy`,
      Image: opts.bundleImage,
      Labels: labels(opts.identity, 'build-proxy', opts.home),
      Entrypoint: ['node', bundleEntry('build-proxy')],
      Env: [`${BUILD_PROXY_ENV}=${JSON.stringify(config)}`],
      HostConfig: { NetworkMode: name, CapDrop: ['ALL'], SecurityOpt: ['no-new-privileges'], ReadonlyRootfs: true, PidsLimit: 64, Memory: 256 * 1024 * 1024 },
      NetworkingConfig: { EndpointsConfig: { [name]: { Aliases: [PROXY_ALIAS] } } },
    });
    // Its way out; it listens on the build network's side only (listenScoped).
    await engine.getNetwork('bridge').connect({ Container: proxy.id });
    await proxy.start();
    await waitListening(engine, `${name}-proxy`);
    return await fn({ mode: name, proxy: `http://${PROXY_ALIAS}:${BUILD_PROXY_PORT}` });
  } finally {
    await remove();
  }
}

async function waitListening(engine: Engine, container: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let logs = '';
  while (Date.now() < deadline) {
    const c = engine.getContainer(container);
    logs = (await c.logs({ stdout: true, stderr: true, follow: false })).toString('utf8');
    if (logs.includes('listening on')) return;
    const state = await c.inspect();
    if (!state.State.Running) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new BottleError('image-build', `the build proxy did not start: ${logs.replace(/[^\x20-\x7e]+/g, ' ').trim().slice(-300)}`, { fix: 'bot-bottle doctor' });
}
