/**
 * Smuggling and header tricks, sent as raw bytes inside an allowed tunnel
 * (agent/raw.py): framing disagreements (CL.TE, TE.CL, the Transfer-Encoding
 * obfuscations public smuggling scanners try), pipelining, header folding,
 * bytes the parser should refuse. The smuggled request always aims at a path
 * the route refuses and carries a marker: the attack worked if the upstream
 * ever saw that marker.
 */
import { escaped, stopped, type EscapeCase, type Outcome } from '../suite.js';
import type { World } from '../world.js';

const CRLF = '\r\n';

/** The first status line(s) of the raw answer, for the report. */
function statuses(out: string): string {
  const s = [...out.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => m[1]);
  return s.length > 0 ? s.join(',') : 'no answer';
}

async function smuggle(w: World, build: (host: string, smuggled: string) => string, opts = ''): Promise<Outcome & { out: string }> {
  const m = w.tag();
  const host = `api.test:${w.up.port}`;
  const smuggled = `GET /admin/${m} HTTP/1.1${CRLF}Host: ${host}${CRLF}${CRLF}`;
  const r = await w.raw('api.test', build(host, smuggled), opts);
  // Smuggled means parsed upstream as a request of its own (the marker in a forwarded body is just data).
  if (w.up.received.some((x) => x.url.includes(m))) return { ...escaped(`the upstream received the smuggled request (${statuses(r.stdout)})`), out: r.stdout };
  return { ...stopped(`answers ${statuses(r.stdout)}; nothing smuggled`), out: r.stdout };
}

/** Transfer-Encoding spellings that front and back ends have disagreed on (from public TE.TE scanner lists). */
const TE_OBFUSCATIONS: readonly string[] = [
  'Transfer-Encoding: xchunked',
  'Transfer-Encoding : chunked',
  ' Transfer-Encoding: chunked',
  'Transfer-Encoding:\tchunked',
  'Transfer-Encoding: chunked\t',
  'Transfer-Encoding: chunked, identity',
  'Transfer-Encoding: identity, chunked',
  'Transfer-Encoding: chunked\r\nTransfer-Encoding: x',
  'Transfer-Encoding: \x0bchunked',
  'Transfer_Encoding: chunked',
  'TrAnSfEr-EnCoDiNg: cHuNkEd',
  'Transfer-Encoding: chùnked',
  'Transfer-Encoding:\r\n chunked',
];

export const smugglingCases: EscapeCase[] = [
  {
    id: 'smuggling/duplicate-host',
    category: 'smuggling',
    attack: 'inside an allowed tunnel, a second Host header naming another host (and the injected token with it)',
    expect: 'stopped',
    async run(w) {
      const m = w.tag();
      const r = await w.raw('echo.test', `GET /anything/${m} HTTP/1.1${CRLF}Host: echo.test:${w.up.port}${CRLF}Host: evil.test:${w.up.port}${CRLF}Connection: close${CRLF}${CRLF}`);
      if (w.leaked(m)) return escaped(`forwarded with two Host headers${w.leaked(w.echoToken) ? ' and the injected token' : ''} (${statuses(r.stdout)})`);
      return statuses(r.stdout) === '400' ? stopped('answers 400') : escaped(`answers ${statuses(r.stdout)}, not 400`);
    },
  },
  {
    id: 'smuggling/duplicate-host-secret',
    category: 'smuggling',
    attack: 'a credential in a second Host header, which the DLP head scan skips',
    expect: 'stopped',
    async run(w) {
      const m = w.marker();
      const r = await w.raw('api.test', `GET /v1/x HTTP/1.1${CRLF}Host: api.test:${w.up.port}${CRLF}Host: ${m}${CRLF}Connection: close${CRLF}${CRLF}`);
      return w.leaked(m) ? escaped(`the key went out in the second Host (${statuses(r.stdout)})`) : stopped(`answers ${statuses(r.stdout)}`);
    },
  },
  {
    id: 'smuggling/cl-te',
    category: 'smuggling',
    attack: 'CL.TE: Content-Length covers a chunked terminator; a second request hides behind it',
    expect: 'stopped',
    run: (w) =>
      smuggle(w, (host, s) => {
        const body = `0${CRLF}${CRLF}${s}`;
        return `POST /v1/a HTTP/1.1${CRLF}Host: ${host}${CRLF}Content-Length: ${body.length}${CRLF}Transfer-Encoding: chunked${CRLF}${CRLF}${body}`;
      }),
  },
  {
    id: 'smuggling/te-cl',
    category: 'smuggling',
    attack: 'TE.CL: a chunk that holds a whole request, with a Content-Length that stops before it',
    expect: 'stopped',
    run: (w) =>
      smuggle(w, (host, s) => {
        const chunk = `${s.length.toString(16)}${CRLF}${s}${CRLF}0${CRLF}${CRLF}`;
        return `POST /v1/a HTTP/1.1${CRLF}Host: ${host}${CRLF}Content-Length: 4${CRLF}Transfer-Encoding: chunked${CRLF}${CRLF}${chunk}`;
      }),
  },
  {
    id: 'smuggling/te-obfuscations',
    category: 'smuggling',
    attack: `TE.TE: ${TE_OBFUSCATIONS.length} Transfer-Encoding spellings from public smuggling scanners, each with a Content-Length that disagrees`,
    expect: 'stopped',
    async run(w) {
      const seen: string[] = [];
      for (const te of TE_OBFUSCATIONS) {
        const o = await smuggle(w, (host, s) => {
          const body = `0${CRLF}${CRLF}${s}`;
          return `POST /v1/a HTTP/1.1${CRLF}Host: ${host}${CRLF}Content-Length: ${body.length}${CRLF}${te}${CRLF}${CRLF}${body}`;
        });
        if (o.escaped) return escaped(`${JSON.stringify(te)}: ${o.detail}`);
        seen.push(statuses(o.out).split(',')[0] ?? '?');
      }
      return stopped(`answers ${[...new Set(seen)].join('/')}; nothing smuggled`);
    },
  },
  {
    id: 'smuggling/duplicate-content-length',
    category: 'smuggling',
    attack: 'two Content-Length headers that disagree',
    expect: 'stopped',
    run: (w) =>
      smuggle(w, (host, s) => `POST /v1/a HTTP/1.1${CRLF}Host: ${host}${CRLF}Content-Length: 0${CRLF}Content-Length: ${s.length}${CRLF}${CRLF}${s}`),
  },
  {
    id: 'smuggling/pipelined-disallowed',
    category: 'smuggling',
    attack: 'pipeline an allowed request and a disallowed one in the same tunnel',
    expect: 'stopped',
    run: (w) => smuggle(w, (host, s) => `GET /v1/first HTTP/1.1${CRLF}Host: ${host}${CRLF}${CRLF}${s.replace(`${CRLF}${CRLF}`, `${CRLF}Connection: close${CRLF}${CRLF}`)}`),
  },
  {
    id: 'smuggling/header-folding',
    category: 'smuggling',
    attack: 'obs-fold: a folded header line that a lenient parser joins into the previous one',
    expect: 'stopped',
    async run(w) {
      const m = w.tag();
      const host = `api.test:${w.up.port}`;
      const r = await w.raw('api.test', `GET /v1/a HTTP/1.1${CRLF}Host: ${host}${CRLF}X-Note: ok${CRLF} X-Leak: ${m}${CRLF}Connection: close${CRLF}${CRLF}`);
      return w.leaked(m) ? escaped(`the folded header went out (${statuses(r.stdout)})`) : stopped(`answers ${statuses(r.stdout)}`);
    },
  },
  {
    id: 'smuggling/bare-lf',
    category: 'smuggling',
    attack: 'bare LF line endings hiding a second request',
    expect: 'stopped',
    run: (w) => smuggle(w, (host, s) => `GET /v1/a HTTP/1.1\nHost: ${host}\nX-A: 1\n\n${s.replace(/\r\n/g, '\n')}`),
  },
  {
    id: 'smuggling/chunk-size-overflow',
    category: 'smuggling',
    attack: 'a chunk size that overflows 64 bits, so a second request reads as chunk data or vice versa',
    expect: 'stopped',
    run: (w) =>
      smuggle(w, (host, s) => `POST /v1/a HTTP/1.1${CRLF}Host: ${host}${CRLF}Transfer-Encoding: chunked${CRLF}${CRLF}10000000000000003${CRLF}abc${CRLF}0${CRLF}${CRLF}${s}`),
  },
  {
    id: 'smuggling/chunk-extension',
    category: 'smuggling',
    attack: 'a chunk extension carrying CR/LF and a second request',
    expect: 'stopped',
    run: (w) =>
      smuggle(w, (host, s) => `POST /v1/a HTTP/1.1${CRLF}Host: ${host}${CRLF}Transfer-Encoding: chunked${CRLF}${CRLF}3;x=\r${s}${CRLF}abc${CRLF}0${CRLF}${CRLF}`),
  },
  {
    id: 'smuggling/trailer-secret',
    category: 'smuggling',
    attack: 'a secret in a chunked trailer field (after the body the proxy scanned)',
    expect: 'stopped',
    async run(w) {
      const m = w.tag();
      const host = `api.test:${w.up.port}`;
      const r = await w.raw('api.test', `POST /v1/a HTTP/1.1${CRLF}Host: ${host}${CRLF}Transfer-Encoding: chunked${CRLF}Trailer: X-Leak${CRLF}Connection: close${CRLF}${CRLF}2${CRLF}ok${CRLF}0${CRLF}X-Leak: ${m}${CRLF}${CRLF}`);
      return w.leaked(m) ? escaped(`the trailer reached the upstream (${statuses(r.stdout)})`) : stopped(`answers ${statuses(r.stdout)}; the trailer was not forwarded`);
    },
  },
  {
    id: 'smuggling/space-before-colon',
    category: 'smuggling',
    attack: '"Host : evil" (whitespace before the colon) that some parsers accept',
    expect: 'stopped',
    async run(w) {
      const m = w.tag();
      const r = await w.raw('api.test', `GET /admin/${m} HTTP/1.1${CRLF}Host : api.test:${w.up.port}${CRLF}Connection: close${CRLF}${CRLF}`);
      return w.leaked(m) ? escaped(`forwarded (${statuses(r.stdout)})`) : stopped(`answers ${statuses(r.stdout)}`);
    },
  },
  {
    id: 'smuggling/nul-in-header',
    category: 'smuggling',
    attack: 'a NUL byte in a header value to cut the scanned text short',
    expect: 'stopped',
    async run(w) {
      const m = w.tag();
      const r = await w.raw('api.test', `GET /v1/a HTTP/1.1${CRLF}Host: api.test:${w.up.port}${CRLF}X-A: x\x00${m}${CRLF}Connection: close${CRLF}${CRLF}`);
      return w.leaked(m) ? escaped(`forwarded (${statuses(r.stdout)})`) : stopped(`answers ${statuses(r.stdout)}`);
    },
  },
  {
    id: 'smuggling/http10-no-host',
    category: 'smuggling',
    attack: 'HTTP/1.0 without Host, so the route must be guessed',
    expect: 'stopped',
    async run(w) {
      const m = w.tag();
      const r = await w.raw('api.test', `GET /admin/${m} HTTP/1.0${CRLF}${CRLF}`);
      return w.leaked(m) ? escaped(`forwarded (${statuses(r.stdout)})`) : stopped(`answers ${statuses(r.stdout)}`);
    },
  },
  {
    id: 'smuggling/h2c-upgrade',
    category: 'smuggling',
    attack: 'Upgrade: h2c inside the tunnel (HTTP/2 cleartext past the HTTP/1 checks)',
    expect: 'stopped',
    async run(w) {
      const m = w.tag();
      const r = await w.raw('open.test', `GET /${m} HTTP/1.1${CRLF}Host: open.test:${w.up.port}${CRLF}Connection: Upgrade, HTTP2-Settings${CRLF}Upgrade: h2c${CRLF}HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA${CRLF}${CRLF}`);
      if (w.leaked(m)) return escaped(`forwarded (${statuses(r.stdout)})`);
      return r.stdout.includes('101') ? escaped('101 Switching Protocols') : stopped(`answers ${statuses(r.stdout)}`);
    },
  },
  {
    id: 'smuggling/request-line-junk',
    category: 'smuggling',
    attack: 'a request target with spaces and a second HTTP version ("GET /v1/a HTTP/1.1 /admin")',
    expect: 'stopped',
    async run(w) {
      const m = w.tag();
      const r = await w.raw('api.test', `GET /v1/a HTTP/1.1 /admin/${m} HTTP/1.1${CRLF}Host: api.test:${w.up.port}${CRLF}Connection: close${CRLF}${CRLF}`);
      return w.leaked(m) ? escaped(`forwarded (${statuses(r.stdout)})`) : stopped(`answers ${statuses(r.stdout)}`);
    },
  },
];
