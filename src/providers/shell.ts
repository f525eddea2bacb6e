import { AGENT } from '../bottle/layout.js';
import type { Provider, ProviderSetup } from './types.js';
import { shellImage } from './images.js';
import { safeLabel, skillTrees } from './common.js';
import { titled } from './session.js';

const HOME = AGENT.home;

/** The plain shell agent: the demo's, the tests', and bring-your-own-harness users'. */
export function shellProvider(): Provider {
  return {
    name: 'shell',
    image: shellImage(),
    user: 'agent',
    home: HOME,
    outputFormats: [],
    setup: async (ctx): Promise<ProviderSetup> => ({
      routes: [],
      tokens: {},
      agentEnv: {},
      agentFiles: [],
      agentTrees: await skillTrees(ctx, HOME),
      session: {
        interactive: titled(['bash', '-l'], safeLabel(ctx.label)),
        // The shell provider's prompt *is* a script.
        headless: (promptFile) => ['bash', promptFile],
      },
      describe: {},
    }),
  };
}
