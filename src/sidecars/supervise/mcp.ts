/**
 * The MCP face of supervise: one McpServer per client session, four tools,
 * each with a JSON schema (zod) and a description an agent can act on.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import * as z from 'zod';
import { ID_RE } from './queue.js';
import type { CallContext, SuperviseService, ToolOutcome } from './service.js';

export const SERVER_NAME = 'bot-bottle-supervise';
export const TOOL_NAMES = ['list-egress-routes', 'request-egress', 'request-capability', 'allow'] as const;

const WHY = z
  .string()
  .min(1)
  .max(4000)
  .describe('Why you need this, in one or two sentences a human reviewer can judge (what task, what it unblocks).');

const DECISION_OUTPUT = {
  proposal_id: z.string().describe('The proposal id in the bottle queue.'),
  kind: z.string().describe('Proposal kind.'),
  decision: z.enum(['approved', 'approved-with-edits', 'rejected', 'expired', 'withdrawn', 'cancelled']).describe('The human decision, or expired when nobody answered in time.'),
  note: z.string().optional().describe("The human's note (approval) or reason (rejection)."),
  decided_by: z.string().optional(),
  effect: z.string().optional().describe('What changed in the bottle because of the decision.'),
};

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

function callContext(extra: Extra): CallContext {
  const token = extra._meta?.progressToken;
  return {
    signal: extra.signal,
    ...(token === undefined
      ? {}
      : {
          progress: (elapsedMs: number, message: string) =>
            extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: Math.round(elapsedMs / 1000), message } }),
        }),
  };
}

function result(o: ToolOutcome): CallToolResult {
  return {
    content: [{ type: 'text', text: o.text }],
    ...(o.isError ? { isError: true } : {}),
    ...(o.structured ? { structuredContent: o.structured } : {}),
  };
}

export function createMcpServer(svc: SuperviseService): McpServer {
  const server = new McpServer(
    { name: SERVER_NAME, version: '0.1.0' },
    {
      instructions:
        'bot-bottle supervise: this bottle denies everything its manifest does not allow. When you hit a wall (a host the egress proxy refuses with 403, ' +
        'a tool missing from the image, a request or push held for review), ask a human through these tools instead of working around it. ' +
        'Calls block until the human answers (up to the configured timeout) and return the decision and the human note.',
    },
  );

  server.registerTool(
    'list-egress-routes',
    {
      title: 'List egress routes',
      description:
        'List the egress routes in force for this bottle right now: which hosts, ports, paths and methods the egress proxy lets through. ' +
        'Token values are never shown (only the name of the host variable that holds one). Use it before request-egress to see whether a route already exists.',
      inputSchema: {},
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async () => result(await svc.listEgressRoutes()),
  );

  server.registerTool(
    'request-egress',
    {
      title: 'Request an egress route',
      description:
        'Ask a human to let this bottle reach a host it is refused (HTTP 403 from the egress proxy). Give the bare host name (no scheme or path), ' +
        'optionally the port (default 443), path prefixes and methods to narrow it (ask for the least you need), and why. ' +
        'Blocks until the human approves (possibly narrowing the request), rejects with a reason, or the request expires. ' +
        'On approval the route is live in the running proxy within about a second: retry your request. Output starts with "decision: <state>".',
      inputSchema: {
        host: z.string().min(1).max(253).describe('Host name, e.g. "api.github.com". No scheme, path or wildcard.'),
        port: z.number().int().min(1).max(65535).optional().describe('TCP port; default 443.'),
        paths: z.array(z.string().min(1).max(2000)).max(50).optional().describe('Path prefixes, each starting with "/", e.g. ["/repos/acme/"]. Omit for every path.'),
        methods: z.array(z.string().min(1).max(16)).max(10).optional().describe('HTTP methods, e.g. ["GET"]. Omit for any method.'),
        why: WHY,
      },
      outputSchema: DECISION_OUTPUT,
      annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: true },
    },
    async (args, extra) => result(await svc.requestEgress(args, callContext(extra))),
  );

  server.registerTool(
    'request-capability',
    {
      title: 'Request an image change',
      description:
        'Ask a human to change this bottle\'s image, e.g. to install a missing tool. Send Dockerfile lines to append to the current ' +
        'Dockerfile (e.g. "USER root\\nRUN apt-get update && apt-get install -y --no-install-recommends jq\\nUSER agent"), or a whole Dockerfile with a FROM line to replace it. ' +
        'Blocks until the human decides. On approval the host rebuilds the image and restarts the bottle: /workspace is kept, ' +
        'running processes and anything outside /workspace are lost, so save your work first. Output starts with "decision: <state>".',
      inputSchema: {
        dockerfile_change: z.string().min(1).max(256 * 1024).describe('Dockerfile lines to append, or a complete Dockerfile (with FROM) to replace the current one.'),
        why: WHY,
      },
      outputSchema: DECISION_OUTPUT,
      annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: false },
    },
    async (args, extra) => result(await svc.requestCapability(args, callContext(extra))),
  );

  server.registerTool(
    'allow',
    {
      title: 'Argue for a held request or push',
      description:
        'When the egress proxy holds a request (its data looked like a secret) or the git-gate holds a push, the refusal names a proposal id ' +
        '(e.g. "dlp-1a2b3c4d" or "push-1a2b3c4d"). Use this to tell the human why it should go through. You cannot approve anything yourself: ' +
        'this records your justification and waits for the human decision on the held proposal. Output starts with "decision: <state>".',
      inputSchema: {
        proposal_id: z.string().regex(ID_RE).describe('Id of the held proposal, as given in the refusal.'),
        why: WHY,
      },
      outputSchema: DECISION_OUTPUT,
      annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: false },
    },
    async (args, extra) => result(await svc.allow(args, callContext(extra))),
  );

  return server;
}
