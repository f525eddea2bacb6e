import { join } from 'node:path';
import { BottleError } from '../errors.js';
import type { Settings } from '../settings.js';
import { claudeProvider } from './claude.js';
import { codexProvider } from './codex.js';
import { loadPlugin } from './plugin.js';
import { shellProvider } from './shell.js';
import type { Provider } from './types.js';

export type { ImageSpec, Provider, ProviderContext, ProviderSetup, SessionCommands } from './types.js';
export { refuseRouteConflicts } from './common.js';

const BUILT_IN: Record<string, () => Provider> = { shell: shellProvider, claude: claudeProvider, codex: codexProvider };
export const BUILT_IN_TEMPLATES: readonly string[] = Object.keys(BUILT_IN);

/** Built-in templates, then user plugins in `<home>/contrib/<name>/` (a `plugin.md` manifest and a Dockerfile). */
export async function getProvider(settings: Settings, template: string): Promise<Provider> {
  const builtIn = BUILT_IN[template];
  if (builtIn) return builtIn();
  const plugin = await loadPlugin(settings.home, template);
  if (plugin) return plugin;
  throw new BottleError('usage', `unknown agent_provider.template ${JSON.stringify(template)}`, {
    fix: `use one of ${BUILT_IN_TEMPLATES.join(', ')}, or add a plugin at ${join(settings.home, 'contrib', template)}/plugin.md`,
  });
}
