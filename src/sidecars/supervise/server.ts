/** The supervise server as a library: service + MCP + HTTP, for serve.ts and the tests. */
import type { SuperviseConfig } from './config.js';
import { startHttpServer, type Log, type RunningServer } from './http.js';
import { createMcpServer } from './mcp.js';
import { SuperviseService } from './service.js';

export interface RunningSupervise extends RunningServer {
  readonly service: SuperviseService;
}

export async function startSupervise(config: SuperviseConfig, log: Log = () => undefined): Promise<RunningSupervise> {
  const service = new SuperviseService(config);
  const http = await startHttpServer(config, () => createMcpServer(service), log);
  return Object.assign(http, { service });
}
