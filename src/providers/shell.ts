import { join } from 'node:path';
import { packageRoot } from '../paths.js';
import type { Provider } from './types.js';

/** The plain shell agent: the demo's, the tests', and bring-your-own-harness users'. */
export function shellProvider(): Provider {
  return {
    name: 'shell',
    imageDir: join(packageRoot(), 'images', 'agent-shell'),
    user: 'agent',
    home: '/home/agent',
    interactiveArgv: ['bash', '-l'],
    // The shell provider's prompt *is* a script.
    headlessArgv: (promptFile) => ['bash', promptFile],
    egressHosts: [],
  };
}
