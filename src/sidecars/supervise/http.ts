/**
 * The MCP endpoint over HTTP: a plain node:http server in front of the SDK's
 * Web-standard Streamable HTTP transport. This layer owns what must hold
 * before the SDK sees a byte:
 * - only `POST|GET|DELETE /mcp`, only with a Host (and Origin, if any) naming
 *   the bundle or loopback, so a page that rebinds a DNS name cannot drive it;
 * - bodies over 1 MiB and bodies that are not JSON get a JSON-RPC error, and
 *   the server keeps serving;
 * - one transport + McpServer per session, at most maxSessions (the least
 *   recently used idle one is closed to make room).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { drain, readBounded } from '../bounded-body.js';
import { INSIDE, listenScoped, refuseOutside } from '../net-scope.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { MCP_PATH, type SuperviseConfig } from './config.js';

interface Session {
  readonly transport: WebStandardStreamableHTTPServerTransport;
  readonly server: McpServer;
  lastSeen: number;
  inflight: number;
}

export interface RunningServer {
  readonly port: number;
  readonly url: string;
  readonly server: Server;
  sessionCount(): number;
  close(): Promise<void>;
}

export type Log = (line: string) => void;

function jsonRpcError(res: ServerResponse, status: number, code: number, message: string, extraHeaders: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...extraHeaders });
  res.end(body);
}

/** Host name of a Host header or an Origin URL, lower-case, without port. */
function hostName(value: string): string | undefined {
  try {
    return new URL(value.includes('://') ? value : `http://${value}`).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

/** The bounded read, in this server's terms: a JSON-RPC error status and message when it fails. */
async function readBody(req: IncomingMessage, max: number): Promise<{ ok: true; text: string } | { ok: false; status: number; message: string }> {
  const r = await readBounded(req, max, { drain: true });
  if (r.kind === 'ok') return { ok: true, text: r.body.toString('utf8') };
  return r.kind === 'too-large' ? { ok: false, status: 413, message: `request body over ${max} bytes` } : { ok: false, status: 400, message: 'request body could not be read' };
}

function webHeaders(req: IncomingMessage): Headers {
  const h = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const one of v) h.append(k, one);
    else h.set(k, v);
  }
  return h;
}

/** Write a Web Response to a Node response, streaming (SSE) bodies as they come. */
async function sendWeb(web: Response, res: ServerResponse): Promise<void> {
  const headers: Record<string, string> = {};
  web.headers.forEach((v, k) => (headers[k] = v));
  res.writeHead(web.status, headers);
  if (!web.body) {
    res.end();
    return;
  }
  res.flushHeaders();
  const reader = web.body.getReader();
  const onClose = () => void reader.cancel().catch(() => undefined);
  res.on('close', onClose);
  try {
    for (;;) {
      const chunk = (await reader.read()) as { done: boolean; value?: Uint8Array };
      if (chunk.done || !chunk.value) break;
      if (!res.write(chunk.value)) await new Promise<void>((r) => res.once('drain', r).once('close', r));
      if (res.destroyed) break;
    }
  } catch {
    // the client went away mid-stream
  } finally {
    res.off('close', onClose);
    res.end();
  }
}

export function startHttpServer(config: SuperviseConfig, makeServer: () => McpServer, log: Log = () => undefined): Promise<RunningServer> {
  const sessions = new Map<string, Session>();
  const allowed = new Set(config.allowedHosts);

  const evictIfFull = async (): Promise<boolean> => {
    if (sessions.size < config.maxSessions) return true;
    let victim: [string, Session] | undefined;
    for (const e of sessions) if (e[1].inflight === 0 && (!victim || e[1].lastSeen < victim[1].lastSeen)) victim = e;
    if (!victim) return false;
    sessions.delete(victim[0]);
    log(`session ${victim[0]} closed to make room`);
    await victim[1].transport.close().catch(() => undefined);
    return true;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const host = req.headers.host ?? '';
    const hostOk = allowed.has(hostName(host) ?? '');
    const origin = req.headers.origin;
    const originOk = origin === undefined || allowed.has(hostName(origin) ?? '');
    if (!hostOk || !originOk) {
      drain(req);
      return jsonRpcError(res, 403, -32000, `forbidden: ${!hostOk ? `host ${JSON.stringify(host)}` : `origin ${JSON.stringify(origin)}`} is not this bundle`);
    }
    const path = (req.url ?? '').split('?')[0];
    if (path !== MCP_PATH) {
      drain(req);
      return jsonRpcError(res, 404, -32000, `not found: the MCP endpoint is ${MCP_PATH}`);
    }
    const method = req.method ?? 'GET';
    if (method !== 'POST' && method !== 'GET' && method !== 'DELETE') {
      drain(req);
      return jsonRpcError(res, 405, -32000, 'method not allowed', { allow: 'GET, POST, DELETE' });
    }

    let parsed: unknown;
    if (method === 'POST') {
      const body = await readBody(req, config.maxBodyBytes);
      if (!body.ok) return jsonRpcError(res, body.status, body.status === 413 ? -32600 : -32700, body.message, { connection: 'close' });
      try {
        parsed = JSON.parse(body.text);
      } catch {
        return jsonRpcError(res, 400, -32700, 'parse error: the body is not valid JSON');
      }
    }

    const sid = req.headers['mcp-session-id'];
    let session: Session | undefined;
    if (typeof sid === 'string' && sid !== '') {
      session = sessions.get(sid);
      if (!session) return jsonRpcError(res, 404, -32001, 'session not found: initialize again');
    } else {
      const initializing = method === 'POST' && (Array.isArray(parsed) ? parsed.some((m) => isInitializeRequest(m)) : isInitializeRequest(parsed));
      if (!initializing) return jsonRpcError(res, 400, -32000, 'bad request: no Mcp-Session-Id; send initialize first');
      if (!(await evictIfFull())) return jsonRpcError(res, 503, -32000, 'too many sessions in progress', { 'retry-after': '5' });
      const transport = new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          if (session) sessions.set(id, session);
        },
        onsessionclosed: (id) => {
          sessions.delete(id);
        },
        keepAliveMs: Math.min(config.progressMs, 15_000),
        maxRequestBodySize: config.maxBodyBytes,
      });
      const server = makeServer();
      session = { transport, server, lastSeen: Date.now(), inflight: 0 };
      transport.onerror = (e) => log(`transport: ${e.message}`);
      await server.connect(transport);
    }

    session.lastSeen = Date.now();
    session.inflight++;
    try {
      const url = `http://${host}${req.url ?? MCP_PATH}`;
      const webReq = new Request(url, { method, headers: webHeaders(req) });
      const web = await session.transport.handleRequest(webReq, method === 'POST' ? { parsedBody: parsed } : {});
      await sendWeb(web, res);
    } finally {
      session.inflight--;
      session.lastSeen = Date.now();
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      log(`request failed: ${e instanceof Error ? e.message : String(e)}`);
      jsonRpcError(res, 500, -32603, 'internal error');
    });
  });
  // Only the agent's network and loopback may ask for powers; never the egress side.
  refuseOutside(server, undefined, (remote) => log(`refused a connection from ${remote} on the egress side`));
  // A waiting tool call is a long response, not a slow request: no socket idle timeout.
  server.timeout = 0;
  server.requestTimeout = 60_000;

  // `inside`: the agent's side and loopback only (net-scope.ts).
  return listenScoped(server, config.listen.host, config.listen.port).then((bound) => {
      const port = bound.port;
      return {
        port,
        url: `http://${config.listen.host === '0.0.0.0' || config.listen.host === INSIDE ? '127.0.0.1' : config.listen.host}:${port}${MCP_PATH}`,
        server,
        sessionCount: () => sessions.size,
        close: async () => {
          const all = [...sessions.values()];
          sessions.clear();
          await Promise.all(all.map((s) => s.transport.close().catch(() => undefined)));
          server.closeAllConnections();
          await bound.close();
        },
      };
  });
}
