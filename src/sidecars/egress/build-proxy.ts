/**
 * The build proxy: the only way out of an image build whose Dockerfile an
 * agent proposed (an approved capability change). The build runs on a
 * network with no route out; this proxy, on that network and on one with a
 * route, lets through exactly what the bottle's own routes allow (CONNECT to
 * a routed host:port, tunnelled as is: a build holds no secret and no
 * workspace, so there is nothing for DLP to read) and plain GET/HEAD to the
 * package mirrors the bottle's images are built from (apt over HTTP; its
 * packages are signed). Everything else is refused with 403: the host, its
 * other services, IP literals, every other name.
 *
 * Configured by one JSON environment variable (no secret in it):
 * BOT_BOTTLE_BUILD_PROXY = {"port":3128,"routes":[{host,port}],"mirrors":[{host,port}],"hosts":{name:ip}}
 */
import * as http from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { INSIDE, listenScoped } from '../net-scope.js';
import { validHostName } from './config.js';
import { parseAuthority } from './tunnel.js';

export const BUILD_PROXY_ENV = 'BOT_BOTTLE_BUILD_PROXY';
export const BUILD_PROXY_PORT = 3128;

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface BuildProxyConfig {
  readonly port: number;
  /** The bottle's routes: reachable by CONNECT. */
  readonly routes: readonly HostPort[];
  /** Package mirrors: reachable by plain-HTTP GET and HEAD. */
  readonly mirrors: readonly HostPort[];
  /** The bottle's egress.hosts: name -> address. */
  readonly hosts: Readonly<Record<string, string>>;
}

const key = (h: HostPort) => `${h.host.toLowerCase()}:${h.port}`;

/** Parse and check the configuration (a bad one stops the proxy: nothing is let through by default). */
export function parseBuildProxyConfig(text: string): BuildProxyConfig {
  const raw = JSON.parse(text) as Partial<BuildProxyConfig>;
  const list = (v: unknown, what: string): HostPort[] => {
    if (!Array.isArray(v)) throw new Error(`${what} must be a list`);
    return v.map((x: Partial<HostPort>, i) => {
      if (typeof x.host !== 'string' || !validHostName(x.host.toLowerCase())) throw new Error(`${what}[${i}].host is not a host name`);
      if (typeof x.port !== 'number' || !Number.isInteger(x.port) || x.port < 1 || x.port > 65535) throw new Error(`${what}[${i}].port is not a port`);
      return { host: x.host.toLowerCase(), port: x.port };
    });
  };
  const hosts = raw.hosts ?? {};
  if (typeof hosts !== 'object' || Array.isArray(hosts)) throw new Error('hosts must be an object');
  return { port: typeof raw.port === 'number' ? raw.port : BUILD_PROXY_PORT, routes: list(raw.routes ?? [], 'routes'), mirrors: list(raw.mirrors ?? [], 'mirrors'), hosts };
}

function refuse(socket: Duplex, status: number, reason: string, detail: string): void {
  const body = `bot-bottle build proxy: ${detail}\n`;
  socket.end(`HTTP/1.1 ${status} ${status === 403 ? 'Forbidden' : 'Bad Request'}\r\nContent-Type: text/plain\r\nx-bot-bottle-reason: ${reason}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

export function startBuildProxy(config: BuildProxyConfig, log: (line: string) => void, host: string = INSIDE): Promise<http.Server> {
  const routes = new Set(config.routes.map(key));
  const mirrors = new Set(config.mirrors.map(key));
  const address = (host: string) => config.hosts[host] ?? host;
  const server = http.createServer((req, res) => {
    const method = req.method ?? 'GET';
    let url: URL;
    try {
      url = new URL(req.url ?? '');
    } catch {
      log(`deny ${method} ${req.url ?? ''}: not a proxy request`);
      res.writeHead(400, { 'x-bot-bottle-reason': 'not-a-proxy-request' }).end('bot-bottle build proxy: absolute URLs only\n');
      return;
    }
    const port = Number(url.port || 80);
    const target = { host: url.hostname.toLowerCase(), port };
    if (url.protocol !== 'http:' || !mirrors.has(key(target)) || (method !== 'GET' && method !== 'HEAD')) {
      log(`deny ${method} ${url.protocol}//${target.host}:${port}${url.pathname}: not a package mirror`);
      res.writeHead(403, { 'x-bot-bottle-reason': 'not-a-mirror' }).end(`bot-bottle build proxy: plain HTTP goes to package mirrors only (GET, HEAD); ${target.host}:${port} is not one\n`);
      return;
    }
    const headers = { ...req.headers };
    delete headers['proxy-connection'];
    delete headers['proxy-authorization'];
    const up = http.request({ host: address(target.host), port, method, path: url.pathname + url.search, headers, setHost: false }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', (e) => {
      log(`error ${method} ${target.host}: ${e.message}`);
      if (!res.headersSent) res.writeHead(502).end('bot-bottle build proxy: mirror unreachable\n');
      else res.destroy();
    });
    log(`allow ${method} http://${target.host}:${port}${url.pathname}`);
    req.pipe(up);
  });
  server.on('connect', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const a = parseAuthority(req.url ?? '');
    if (a === undefined || a.ipLiteral || !validHostName(a.host)) {
      log(`deny CONNECT ${req.url ?? ''}: not a routed host name`);
      return refuse(socket, 403, 'not-routed', 'CONNECT goes to the bottle\'s routed host names only');
    }
    if (!routes.has(key(a))) {
      log(`deny CONNECT ${a.host}:${a.port}: no route`);
      return refuse(socket, 403, 'not-routed', `${a.host}:${a.port} is not one of the bottle's routes`);
    }
    const up = connect({ host: address(a.host), port: a.port });
    up.once('connect', () => {
      log(`allow CONNECT ${a.host}:${a.port}`);
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    up.on('error', (e) => {
      log(`error CONNECT ${a.host}:${a.port}: ${e.message}`);
      if (socket.writable) refuse(socket, 403, 'upstream-unreachable', `${a.host}:${a.port} is unreachable`);
    });
    socket.on('close', () => up.destroy());
  });
  server.on('clientError', (_e, socket: Duplex) => socket.destroy());
  // The build's side only: the proxy's other network (the one with a route out) must not offer it to anyone.
  return listenScoped(server, host, config.port).then(() => server);
}

// Entry point in the bundle image: `node build-proxy.js`.
if (process.argv[1]?.endsWith('build-proxy.js')) {
  const text = process.env[BUILD_PROXY_ENV];
  if (text === undefined) {
    process.stderr.write(`bot-bottle build proxy: ${BUILD_PROXY_ENV} is not set\n`);
    process.exit(2);
  }
  let config: BuildProxyConfig;
  try {
    config = parseBuildProxyConfig(text);
  } catch (e) {
    process.stderr.write(`bot-bottle build proxy: bad configuration: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(2);
  }
  const log = (line: string) => process.stdout.write(`${line}\n`);
  startBuildProxy(config, log).then(
    () => log(`listening on ${config.port}: ${config.routes.length} route(s), ${config.mirrors.length} mirror(s)`),
    (e: unknown) => {
      process.stderr.write(`bot-bottle build proxy: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
