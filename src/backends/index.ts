/** Backend registry: the only module that knows every backend. */
import type { Backend } from '../bottle/backend.js';
import type { BackendName } from '../bottle/spec.js';
import type { Settings } from '../settings.js';
import { DockerBackend } from './docker/index.js';
import { DockerBundleHost } from './docker/bundle-host.js';
import { DockerGuestImages } from './docker/guest-images.js';
import { MicrovmBackend } from './microvm/index.js';

export type BackendFactory = (settings: Settings) => Backend;

const BUILT_IN: Record<BackendName, BackendFactory> = {
  docker: (settings) => new DockerBackend(settings),
  // The micro-VM's bundle and root disk come from the container engine, through interfaces of bottle/.
  microvm: (settings) => new MicrovmBackend(settings, new DockerBundleHost(settings), new DockerGuestImages(settings)),
};

// Keyed by the settings object: no global to reset, gone with the settings.
const chosen = new WeakMap<Settings, Partial<Record<BackendName, BackendFactory>>>();

/**
 * Settings whose bottles run on the given backends instead of the built-in
 * ones: an orchestrator's own implementation of the contract in
 * bottle/backend.ts, or a test's fake.
 */
export function withBackends(settings: Settings, factories: Partial<Record<BackendName, BackendFactory>>): Settings {
  const copy: Settings = { ...settings };
  chosen.set(copy, { ...chosen.get(settings), ...factories });
  return copy;
}

export function getBackend(settings: Settings, name: BackendName): Backend {
  return (chosen.get(settings)?.[name] ?? BUILT_IN[name])(settings);
}
