/** What this host offers the Docker backend, each gap with its fix. */
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import type { DoctorCheck } from '../../bottle/backend.js';
import { homeDirs } from '../../bottle/state.js';
import type { Settings } from '../../settings.js';
import { bundleVersionsCheck, hostNodeCheck } from './doctor-bundle.js';
import { connectEngine, describeEngineError, ensureEngineCommand, isNotFound, LABEL_MANAGED } from './engine.js';

export async function dockerDoctor(settings: Settings, opts: { network: boolean } = { network: true }): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  let engine;
  try {
    engine = await connectEngine();
    const v = (await engine.version()) as { Version?: string; ApiVersion?: string };
    checks.push(ok('engine', `Docker ${v.Version ?? '?'} (API ${v.ApiVersion ?? '?'}) answers`));
  } catch (e) {
    checks.push(gap('engine', `unreachable: ${describeEngineError(e)}`, `as root: ${ensureEngineCommand()} (installs docker.io and starts dockerd)`));
  }
  if (engine) {
    const info = (await engine.info()) as { Runtimes?: Record<string, unknown> };
    let probe: { runtime?: string; reason?: string } | undefined;
    try {
      probe = JSON.parse(await readFile(homeDirs(settings.home).runtimeProbe, 'utf8')) as { runtime?: string; reason?: string };
    } catch {
      probe = undefined;
    }
    const hasRunsc = Object.keys(info.Runtimes ?? {}).includes('runsc');
    if (!hasRunsc) checks.push(gap('gvisor', 'runsc is not registered; bottles use runc', 'install gVisor (apt-get install runsc) and register it in /etc/docker/daemon.json'));
    else if (probe?.runtime === 'runsc') checks.push(ok('gvisor', probe.reason ?? 'probe passed'));
    else checks.push(gap('gvisor', probe?.reason ?? 'registered; not probed yet (the next start probes it)', 'see HOST-NOTES: some kernels reject networked runsc containers'));
    for (const image of ['debian:bookworm-slim']) {
      try {
        await engine.getImage(image).inspect();
        checks.push(ok(`image ${image}`, 'present'));
      } catch (e) {
        checks.push(gap(`image ${image}`, isNotFound(e) ? 'missing' : describeEngineError(e), 'the next `bot-bottle start` or `demo` builds it (debootstrap from the Debian mirror when no registry answers)'));
      }
    }
    const ours = await engine.listImages({ filters: JSON.stringify({ label: [`${LABEL_MANAGED}=true`] }) });
    checks.push(ok('bot-bottle images', `${ours.length} cached`));
    checks.push(await bundleVersionsCheck(engine, settings.home));
  }
  checks.push(hostNodeCheck());
  if (opts.network) {
    const reachable = await tcpReachable('registry-1.docker.io', 443, 3000);
    // Not a gap: every image can be built locally (the base image from the Debian mirror).
    checks.push(ok('registry', reachable ? 'registry-1.docker.io:443 answers' : 'none reachable; not needed: images are built locally from the Debian mirror'));
  }
  return checks;
}

function ok(name: string, detail: string): DoctorCheck {
  return { name, ok: true, detail, fix: undefined };
}

function gap(name: string, detail: string, fix: string): DoctorCheck {
  return { name, ok: false, detail, fix };
}

function tcpReachable(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port, timeout: timeoutMs });
    const done = (v: boolean) => {
      s.destroy();
      resolve(v);
    };
    s.once('connect', () => done(true));
    s.once('timeout', () => done(false));
    s.once('error', () => done(false));
  });
}
