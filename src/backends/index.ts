/** Backend registry: the only module that knows every backend. */
import type { Backend } from '../bottle/backend.js';
import type { BackendName } from '../bottle/spec.js';
import type { Settings } from '../settings.js';
import { DockerBackend } from './docker/index.js';

export function getBackend(settings: Settings, name: BackendName): Backend {
  switch (name) {
    case 'docker':
      return new DockerBackend(settings);
  }
}
