/**
 * git's smart HTTP served by git's own `http-backend`, as a CGI behind our
 * server: request metadata in the environment, the body (inflated here when
 * the client gzipped it) on stdin, CGI headers then the body on stdout.
 */
import { spawn } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

export interface CgiOptions {
  readonly projectRoot: string;
  /** `/<name>.git/info/refs` etc. */
  readonly pathInfo: string;
  readonly query: string;
  readonly env: NodeJS.ProcessEnv;
}

export interface CgiResult {
  readonly status: number;
  readonly exitCode: number | null;
  readonly stderr: string;
  /** The client went away before the response ended. */
  readonly aborted: boolean;
}

// What the Git-Protocol header may carry (`version=2`, `version=2:object-format=sha1`).
const GIT_PROTOCOL_RE = /^[A-Za-z0-9=:,._-]{1,200}$/;

function findHeaderEnd(buf: Buffer): { end: number; sep: number } | undefined {
  const crlf = buf.indexOf('\r\n\r\n');
  const lf = buf.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { end: crlf, sep: 4 };
  if (lf >= 0) return { end: lf, sep: 2 };
  return undefined;
}

export function parseCgiHeaders(text: string): { status: number; headers: [string, string][] } {
  let status = 200;
  const headers: [string, string][] = [];
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const k = line.slice(0, i).trim();
    const v = line.slice(i + 1).trim();
    if (k.toLowerCase() === 'status') status = Number.parseInt(v, 10) || 500;
    else headers.push([k, v]);
  }
  return { status, headers };
}

/** Every running http-backend's process group, so a stopping server takes them (and their hooks) along. */
const running = new Set<(sig: NodeJS.Signals) => void>();

export function signalAllBackends(sig: NodeJS.Signals): number {
  for (const send of running) send(sig);
  return running.size;
}

export function runHttpBackend(req: IncomingMessage, res: ServerResponse, opts: CgiOptions): Promise<CgiResult> {
  return new Promise((resolve) => {
    const encoding = (req.headers['content-encoding'] ?? '').toLowerCase();
    if (encoding !== '' && encoding !== 'gzip' && encoding !== 'x-gzip' && encoding !== 'identity') {
      res.writeHead(415, { 'Content-Type': 'text/plain' }).end(`bot-bottle git-gate: unsupported Content-Encoding ${encoding}\n`);
      resolve({ status: 415, exitCode: null, stderr: '', aborted: false });
      return;
    }
    const gzipped = encoding === 'gzip' || encoding === 'x-gzip';
    const proto = req.headers['git-protocol'];
    const env: NodeJS.ProcessEnv = {
      ...opts.env,
      GIT_PROJECT_ROOT: opts.projectRoot,
      GIT_HTTP_EXPORT_ALL: '1',
      PATH_INFO: opts.pathInfo,
      REQUEST_METHOD: req.method ?? 'GET',
      QUERY_STRING: opts.query,
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      REMOTE_USER: 'agent',
      REMOTE_ADDR: req.socket.remoteAddress ?? '',
      GATEWAY_INTERFACE: 'CGI/1.1',
      SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
    };
    // Length known only for a plain body; an inflated or chunked one is read to EOF.
    const len = req.headers['content-length'];
    if (!gzipped && len !== undefined && /^\d+$/.test(len)) env.CONTENT_LENGTH = len;
    if (typeof proto === 'string' && GIT_PROTOCOL_RE.test(proto)) env.GIT_PROTOCOL = proto;

    const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const signalGroup = (sig: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, sig);
      } catch {
        // already gone
      }
    };
    running.add(signalGroup);
    // TERM first: a hook waiting for a human withdraws its proposal; KILL whatever is left.
    const killGroup = () => {
      signalGroup('SIGTERM');
      setTimeout(() => signalGroup('SIGKILL'), 3000).unref();
    };
    let aborted = false;
    let done = false;
    res.on('close', () => {
      if (!done && !res.writableFinished) {
        // The client gave up (Ctrl-C during a held push): stop everything it started.
        aborted = true;
        killGroup();
      }
    });

    const body: Readable = gzipped ? req.pipe(createGunzip()) : req;
    body.on('error', () => {
      aborted = true;
      killGroup();
    });
    child.stdin.on('error', () => undefined);
    body.pipe(child.stdin);

    let head: Buffer = Buffer.alloc(0);
    let headersSent = false;
    let status = 500;
    const err: Buffer[] = [];
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdout.on('data', (chunk: Buffer) => {
      if (headersSent) {
        if (!res.write(chunk)) {
          child.stdout.pause();
          res.once('drain', () => child.stdout.resume());
        }
        return;
      }
      head = Buffer.concat([head, chunk]);
      const h = findHeaderEnd(head);
      if (!h) {
        if (head.length > 64 * 1024) killGroup();
        return;
      }
      const parsed = parseCgiHeaders(head.subarray(0, h.end).toString('latin1'));
      status = parsed.status;
      res.statusCode = status;
      for (const [k, v] of parsed.headers) res.setHeader(k, v);
      headersSent = true;
      const rest = head.subarray(h.end + h.sep);
      if (rest.length > 0) res.write(rest);
    });
    child.on('error', (e) => {
      done = true;
      running.delete(signalGroup);
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`bot-bottle git-gate: cannot run git http-backend: ${e.message}\n`);
      resolve({ status: 500, exitCode: null, stderr: e.message, aborted });
    });
    child.on('close', (code) => {
      done = true;
      running.delete(signalGroup);
      const stderr = Buffer.concat(err).toString('utf8');
      if (!headersSent) {
        status = 500;
        if (!res.headersSent && !aborted) {
          res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`bot-bottle git-gate: git http-backend failed: ${stderr.trim().split('\n').at(-1) ?? `exit ${code}`}\n`);
        }
      } else res.end();
      resolve({ status, exitCode: code, stderr, aborted });
    });
  });
}
