import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BottleError } from '../errors.js';
import type { Settings } from '../settings.js';
import { shellProvider } from './shell.js';
import type { Provider } from './types.js';

export type { Provider } from './types.js';

const BUILT_IN: Record<string, () => Provider> = { shell: shellProvider };

/**
 * Built-in templates, then user plugins in `<home>/contrib/<name>/` (a folder
 * with a Dockerfile; the agent runs `bash -l`, the headless prompt as a script).
 */
export function getProvider(settings: Settings, template: string): Provider {
  const builtIn = BUILT_IN[template];
  if (builtIn) return builtIn();
  const dir = join(settings.home, 'contrib', template);
  if (existsSync(join(dir, 'Dockerfile'))) {
    return { ...shellProvider(), name: template, imageDir: dir };
  }
  throw new BottleError('usage', `unknown agent_provider.template ${JSON.stringify(template)}`, {
    fix: `use one of ${Object.keys(BUILT_IN).join(', ')}, or add a plugin at ${dir}/Dockerfile`,
  });
}
