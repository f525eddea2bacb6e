/**
 * Host-side *prepare* of the supervise sidecar: when the bottle asks for
 * supervision, the bundle runs the MCP server (serve.ts) and the agent is
 * told where it is. The plan asks for the queue folder (so the host CLI and
 * the other sidecars can write into it before the server starts) and for the
 * Dockerfile the agent image was built from (the base of capability
 * proposals). No secrets; writes nothing.
 */
import { BUNDLE_HOST, sidecarCommand, bundleServiceDir, inBundle, SERVICE_FILES } from '../../bottle/layout.js';
import { idleSidecar, type SidecarPlan, type SidecarPrepareInput } from '../../bottle/sidecar.js';
import { ENV, MCP_PATH, SUPERVISE_PORT } from './config.js';

export const MCP_URL_ENV = 'BOT_BOTTLE_MCP_URL';

export function prepare(input: SidecarPrepareInput): Promise<SidecarPlan> {
  if (!input.bottle.supervise) return Promise.resolve(idleSidecar({ enabled: false }));
  const url = `http://${BUNDLE_HOST}:${SUPERVISE_PORT}${MCP_PATH}`;
  const env: Record<string, string> = {
    [ENV.identity]: input.identity,
    [ENV.dir]: bundleServiceDir('supervise'),
    [ENV.hosts]: BUNDLE_HOST,
    [ENV.egressRoutesDir]: inBundle('egress', 'routes'),
    [ENV.egressConfigFile]: inBundle('egress', 'config'),
    [ENV.egressPolicyFile]: inBundle('egress', 'policy'),
  };
  return Promise.resolve({
    services: [
      {
        name: 'supervise',
        command: sidecarCommand('supervise'),
        env,
        restart: 'always',
        readyProbe: { tcpPort: SUPERVISE_PORT },
      },
    ],
    agentEnv: { [MCP_URL_ENV]: url },
    agentFiles: [],
    bundleSecrets: {},
    stateDirs: [SERVICE_FILES.supervise.queue],
    // For a committed snapshot there is no Dockerfile to diff against.
    stateFiles: input.agentDockerfile === undefined ? [] : [{ path: SERVICE_FILES.supervise.currentDockerfile, content: input.agentDockerfile, mode: 0o644 }],
    agentTrust: [],
    describe: { enabled: true, mcp_url: url, queue: inBundle('supervise', 'queue'), tools: ['list-egress-routes', 'request-egress', 'request-capability', 'allow'] },
  });
}
