/**
 * Host-side *prepare* of the supervise sidecar: when the bottle asks for
 * supervision, the bundle runs the MCP server (serve.ts) and the agent is
 * told where it is. The queue folder is created here so the host CLI and
 * the other sidecars can write into it before the server starts. No secrets.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { inBundle, SERVICE_FILES } from '../../bottle/layout.js';
import type { SidecarPlan, SidecarPrepareInput } from '../../bottle/sidecar.js';
import { ENV, MCP_PATH, SUPERVISE_PORT } from './config.js';

export const MCP_URL_ENV = 'BOT_BOTTLE_MCP_URL';

export async function prepare(input: SidecarPrepareInput): Promise<SidecarPlan> {
  if (!input.bottle.supervise) {
    return { services: [], agentEnv: {}, agentFiles: [], bundleSecrets: {}, describe: { enabled: false } };
  }
  await mkdir(join(input.hostDir, SERVICE_FILES.supervise.queue), { recursive: true, mode: 0o700 });
  const url = `http://${input.bundleHost}:${SUPERVISE_PORT}${MCP_PATH}`;
  const env: Record<string, string> = {
    [ENV.identity]: input.identity,
    [ENV.dir]: input.bundleDir,
    [ENV.hosts]: input.bundleHost,
    [ENV.egressRoutesDir]: inBundle('egress', 'routes'),
    [ENV.egressConfigFile]: inBundle('egress', 'config'),
    [ENV.egressPolicyFile]: inBundle('egress', 'policy'),
  };
  return {
    services: [
      {
        name: 'supervise',
        command: ['node', `${input.bundleCodeDir}/supervise.js`],
        env,
        restart: 'always',
        readyProbe: { tcpPort: SUPERVISE_PORT },
      },
    ],
    agentEnv: { [MCP_URL_ENV]: url },
    agentFiles: [],
    bundleSecrets: {},
    describe: { enabled: true, mcp_url: url, queue: inBundle('supervise', 'queue'), tools: ['list-egress-routes', 'request-egress', 'request-capability', 'allow'] },
  };
}
