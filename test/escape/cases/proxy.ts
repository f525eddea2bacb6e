/**
 * Proxy policy: hosts, ports, paths and methods outside the bottle's routes,
 * and the usual ways around an allowlist (IP literals and their numeric
 * spellings, DNS-over-HTTPS, dot segments, protocol upgrades, HTTP/2, SNI and
 * Host disagreements, redirects). Each case marks its request so that the
 * upstream's record shows whether anything arrived.
 */
import { escaped, stopped, type EscapeCase, type Outcome } from '../suite.js';
import type { HttpAnswer, World } from '../world.js';

/** Stopped when the proxy refused (the status, and the reason when given) and nothing with the marker arrived. */
export function refused(w: World, a: HttpAnswer, marker: string, statuses: readonly number[] = [403]): Outcome {
  if (w.leaked(marker)) return escaped(`the upstream received it (answer ${a.status} ${a.reason})`);
  if (!statuses.includes(a.status)) return escaped(`answered ${a.status} ${a.reason}`.trim());
  return stopped(`${a.status} ${a.reason}`.trim());
}

const numericForms = (ip: string): string[] => {
  const parts = ip.split('.').map(Number);
  const n = ((parts[0] ?? 0) * 2 ** 24 + (parts[1] ?? 0) * 2 ** 16 + (parts[2] ?? 0) * 2 ** 8 + (parts[3] ?? 0)) >>> 0;
  return [String(n), `0x${n.toString(16)}`, parts.map((p) => `0${p.toString(8)}`).join('.'), `${parts[0]}.${((parts[1] ?? 0) << 16) + ((parts[2] ?? 0) << 8) + (parts[3] ?? 0)}`];
};

export const proxyCases: EscapeCase[] = [
  {
    id: 'proxy/unrouted-host',
    category: 'proxy-policy',
    attack: 'HTTPS to a host the bottle has no route for (the proxy resolves it)',
    expect: 'stopped',
    async run(w) {
      const m = w.tag();
      return refused(w, await w.curl(w.url('evil.test', `/${m}`)), m);
    },
  },
  {
    id: 'proxy/ip-literal',
    category: 'proxy-policy',
    attack: "CONNECT to the upstream's IP address instead of a routed name",
    expect: 'stopped',
    async run(w) {
      const ip = (await w.backend.hostAddresses())[0] ?? '';
      const m = w.tag();
      return refused(w, await w.curl(`-k https://${ip}:${w.up.port}/${m}`), m);
    },
  },
  {
    id: 'proxy/ip-numeric-spellings',
    category: 'proxy-policy',
    attack: 'CONNECT to the IP spelled as one number, hex, octal or two parts (inet_aton forms)',
    expect: 'stopped',
    async run(w) {
      const ip = (await w.backend.hostAddresses())[0] ?? '';
      const out: string[] = [];
      for (const form of numericForms(ip)) {
        const m = w.tag();
        const o = refused(w, await w.curl(`-k https://${form}:${w.up.port}/${m}`), m);
        if (o.escaped) return escaped(`${form}: ${o.detail}`);
        out.push(`${form} ${o.detail}`);
      }
      return stopped(out.join('; '));
    },
  },
  {
    id: 'proxy/unrouted-port',
    category: 'proxy-policy',
    attack: 'a routed host on a port its route does not name',
    expect: 'stopped',
    async run(w) {
      const a = await w.curl(`https://api.test:${w.up.port + 1}/v1/x`);
      return a.status === 403 ? stopped(`403 ${a.reason}`) : escaped(`answered ${a.status}`);
    },
  },
  {
    id: 'proxy/doh-resolver',
    category: 'proxy-policy',
    attack: 'DNS-over-HTTPS to a public resolver (dns.google) to resolve and tunnel',
    expect: 'stopped',
    async run(w) {
      const a = await w.curl(`-H 'accept: application/dns-json' 'https://dns.google:${w.up.port}/resolve?name=example.com'`);
      const b = await w.curl(`-H 'accept: application/dns-json' 'https://dns.google/resolve?name=example.com'`);
      if (w.up.received.some((r) => r.sni === 'dns.google')) return escaped('the resolver was reached');
      return a.status === 403 && b.status === 403 ? stopped(`403 ${a.reason} / 403 ${b.reason}`) : escaped(`answered ${a.status} / ${b.status}`);
    },
  },
  {
    id: 'proxy/doh-on-allowed-host',
    category: 'proxy-policy',
    attack: 'DNS-over-HTTPS path and media type on an allowed host',
    expect: 'stopped',
    async run(w) {
      const m = w.tag().toLowerCase();
      return refused(w, await w.curl(`-H 'content-type: application/dns-message' --data-binary 'x' '${w.url('open.test', `/dns-query?dns=${m}`)}'`), m);
    },
  },
  {
    id: 'proxy/path-outside-route',
    category: 'proxy-policy',
    attack: 'a path outside the route (api.test allows /v1/ only)',
    expect: 'stopped',
    async run(w) {
      const m = w.tag();
      const a = await w.curl(w.url('api.test', `/admin/${m}`));
      return a.reason === 'path-not-allowed' || a.status === 403 ? refused(w, a, m) : escaped(`answered ${a.status}`);
    },
  },
  {
    id: 'proxy/method-outside-route',
    category: 'proxy-policy',
    attack: 'DELETE where the route allows GET and POST',
    expect: 'stopped',
    async run(w) {
      const m = w.tag();
      return refused(w, await w.curl(`-X DELETE ${w.url('api.test', `/v1/${m}`)}`), m);
    },
  },
  ...['X-HTTP-Method-Override', 'X-HTTP-Method', 'X-Method-Override'].map(
    (header): EscapeCase => ({
      id: `proxy/method-override-${header.toLowerCase()}`,
      category: 'proxy-policy',
      attack: `${header}: DELETE on a GET-only route (frameworks that honour it run a DELETE)`,
      expect: 'stopped',
      async run(w) {
        const m = w.tag();
        const a = await w.curl(`-H '${header}: DELETE' ${w.url('ro.test', `/items/${m}`)}`);
        const got = w.up.received.find((r) => r.url.includes(m));
        if (got?.headers.some(([k]) => k.toLowerCase() === header.toLowerCase())) return escaped(`the upstream received ${header} (answer ${a.status})`);
        return stopped(got ? 'forwarded without the override' : `${a.status} ${a.reason}`);
      },
    }),
  ),
  {
    id: 'proxy/method-override-query',
    category: 'proxy-policy',
    attack: 'a `_method=DELETE` query parameter on a POST (Rails, Laravel, Symfony read it)',
    expect: 'stopped',
    async run(w) {
      const m = w.tag();
      const a = await w.curl(`-X POST --data-binary x '${w.url('api.test', `/v1/${m}?_method=DELETE`)}'`);
      return w.leaked(m) ? escaped(`forwarded (answer ${a.status})`) : stopped(`${a.status} ${a.reason}`);
    },
  },
  {
    id: 'proxy/dot-segments',
    category: 'proxy-policy',
    attack: 'climb out of the allowed prefix: /v1/../admin sent as is',
    expect: 'stopped',
    async run(w) {
      const m = w.tag();
      return refused(w, await w.curl(`--path-as-is ${w.url('api.test', `/v1/../admin/${m}`)}`), m);
    },
  },
  {
    id: 'proxy/encoded-dot-segments',
    category: 'proxy-policy',
    attack: 'percent-encoded dot segments and slashes: /v1/%2e%2e%2fadmin',
    expect: 'stopped',
    async run(w) {
      const m = w.tag();
      const a = await w.curl(`--path-as-is ${w.url('api.test', `/v1/%2e%2e/admin/${m}`)}`);
      const b = await w.curl(`--path-as-is ${w.url('api.test', `/v1/%2E%2E%2Fadmin/${m}`)}`);
      const o = refused(w, a, m);
      return o.escaped ? o : refused(w, b, m);
    },
  },
  {
    id: 'proxy/backslash-path',
    category: 'proxy-policy',
    attack: 'backslashes that some servers read as slashes: /v1\\..\\admin',
    expect: 'stopped',
    async run(w) {
      const m = w.tag();
      return refused(w, await w.curl(`--path-as-is '${w.url('api.test', `/v1\\..\\admin/${m}`)}'`), m);
    },
  },
  {
    id: 'proxy/plain-http',
    category: 'proxy-policy',
    attack: 'plain HTTP through the proxy to a routed host (nothing to inspect TLS on)',
    expect: 'stopped',
    async run(w) {
      const m = w.tag();
      return refused(w, await w.curl(`http://api.test:${w.up.port}/v1/${m}`), m);
    },
  },
  {
    id: 'proxy/websocket-upgrade',
    category: 'proxy-policy',
    attack: 'upgrade an allowed request to a WebSocket (an uninspectable channel)',
    expect: 'stopped',
    async run(w) {
      const m = w.tag();
      return refused(w, await w.curl(`-H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' ${w.url('open.test', `/ws/${m}`)}`), m);
    },
  },
  {
    id: 'proxy/http2-alpn',
    category: 'proxy-policy',
    attack: 'negotiate HTTP/2 in the tunnel (frames the proxy would pass blind)',
    expect: 'stopped',
    async run(w) {
      const r = await w.raw('open.test', 'GET / HTTP/1.1\r\nHost: open.test\r\nConnection: close\r\n\r\n', '--alpn h2');
      const alpn = /alpn: (\S+)/.exec(r.stderr)?.[1] ?? '';
      return alpn === 'h2' ? escaped('the tunnel speaks h2') : stopped(`ALPN ${alpn || 'none'}; HTTP/1.1 only`);
    },
  },
  {
    id: 'proxy/sni-mismatch',
    category: 'proxy-policy',
    attack: 'CONNECT to a routed host, then TLS with SNI and Host of another',
    expect: 'stopped',
    async run(w) {
      const m = w.tag();
      const r = await w.raw('evil.test', `GET /${m} HTTP/1.1\r\nHost: evil.test:${w.up.port}\r\nConnection: close\r\n\r\n`, `--connect api.test:${w.up.port} --insecure`);
      if (w.leaked(m)) return escaped('the request reached the upstream');
      if (r.stdout.includes('HTTP/1.1 200')) return escaped('answered 200');
      return stopped(r.stdout.split('\r\n')[0] || `the proxy closed the tunnel (${r.code})`);
    },
  },
  {
    id: 'proxy/host-header-mismatch',
    category: 'proxy-policy',
    attack: 'inside an allowed tunnel, a Host header naming another host',
    expect: 'stopped',
    async run(w) {
      const m = w.tag();
      return refused(w, await w.curl(`-H 'Host: evil.test:${w.up.port}' ${w.url('api.test', `/v1/${m}`)}`), m, [403, 400, 421]);
    },
  },
  {
    id: 'proxy/absolute-form-other-host',
    category: 'proxy-policy',
    attack: 'inside an allowed tunnel, an absolute-form request line for another host',
    expect: 'stopped',
    async run(w) {
      const m = w.tag();
      const r = await w.raw('api.test', `GET https://evil.test:${w.up.port}/${m} HTTP/1.1\r\nHost: evil.test:${w.up.port}\r\nConnection: close\r\n\r\n`);
      const status = /^HTTP\/1\.1 (\d+)/.exec(r.stdout)?.[1] ?? '0';
      return refused(w, { status: Number(status), reason: '', headers: '', body: '' }, m, [400, 403]);
    },
  },
  {
    id: 'proxy/open-redirect',
    category: 'proxy-policy',
    attack: 'follow an open redirect on an allowed host to an unrouted one',
    expect: 'stopped',
    async run(w) {
      const m = w.tag();
      const a = await w.curl(`-L ${w.url('open.test', `/redirect?to=${encodeURIComponent(w.url('evil.test', `/${m}`))}`)}`);
      if (!w.up.received.some((r) => r.url.startsWith('/redirect?') && r.url.includes(m))) throw new Error(`control: the redirect itself did not go out (${a.status} ${a.reason})`);
      if (w.up.received.some((r) => r.sni === 'evil.test')) return escaped('the redirect target was reached');
      return a.status === 403 ? stopped(`the redirect target was refused: 403 ${a.reason}`) : escaped(`answered ${a.status}`);
    },
  },
  {
    id: 'proxy/connect-authority-confusion',
    category: 'proxy-policy',
    attack: 'CONNECT authorities that parsers split differently: userinfo, two ports, a trailing junk host',
    expect: 'stopped',
    async run(w) {
      const p = w.up.port;
      const forms = [`evil.test@api.test:${p}`, `api.test:${p}@evil.test:${p}`, `evil.test:${p}#api.test:${p}`, `api.test:${p}:${p}`, `evil.test%00api.test:${p}`];
      for (const authority of forms) {
        const r = await w.sh(`printf 'CONNECT ${authority} HTTP/1.1\\r\\nHost: ${authority}\\r\\n\\r\\n' | timeout ${w.secs(5)} python3 -c "import socket,sys; s=socket.create_connection(('bundle',3128)); s.sendall(sys.stdin.buffer.read()); print(s.recv(200).decode(errors='replace').splitlines()[0])"`);
        if (r.stdout.includes(' 200')) return escaped(`CONNECT ${authority} was accepted`);
      }
      return w.up.received.some((r) => r.sni === 'evil.test') ? escaped('evil.test was reached') : stopped(`${forms.length} authorities refused`);
    },
  },
  {
    id: 'proxy/introspection-holds-no-token',
    category: 'proxy-policy',
    attack: "read the tokens from the proxy's route list",
    expect: 'stopped',
    async run(w) {
      const r = await w.sh(`curl -sS --max-time ${w.secs(5)} -x http://bundle:3128 http://bot-bottle.proxy/routes`);
      if (!r.stdout.includes('api.test')) throw new Error(`control: the route list did not answer (${r.stdout.slice(0, 100)} ${r.stderr})`);
      return r.stdout.includes(w.token) || r.stdout.includes(w.echoToken) ? escaped('a token value is listed') : stopped('routes listed with token_ref names only');
    },
  },
];
