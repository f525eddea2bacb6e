/**
 * Network reachability: from inside the agent, nothing but its own bundle
 * answers. Every target here really listens (the upstream's TCP listener
 * counts its connections; the neighbour runs a listener the case checks).
 */
import { connect } from 'node:net';
import { run } from '../../helpers.js';
import { escaped, stopped, type EscapeCase } from '../suite.js';
import type { World } from '../world.js';

/** How long the port scan waits for a port that does not answer (the original scan's 1 s, with room for a loaded TCG guest). */
const PORT_SCAN_TIMEOUT_S = 2;

/** Print "reached" only if a TCP connection to ip:port opens within `secs` (3 s, scaled with w.secs). */
export const tcp = (ip: string, port: number, secs: number) => `timeout ${secs} bash -c 'echo > /dev/tcp/${ip}/${port}' 2>/dev/null && echo reached || echo blocked`;

/** Connect from this process: the positive control that a listener is up. */
export function reachableFromHere(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port, timeout: 3000 }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
    s.on('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}

async function tcpFromAgent(w: World, targets: readonly string[], port: number, what: string): Promise<{ escaped: boolean; detail: string }> {
  const hitsBefore = w.up.tcpHits();
  const reached: string[] = [];
  for (const ip of targets) {
    if ((await w.sh(tcp(ip, port, w.secs(3)))).stdout.trim() === 'reached') reached.push(ip);
  }
  if (reached.length > 0) return escaped(`${what} ${reached.join(', ')}:${port} answered the agent`);
  if (w.up.tcpHits() !== hitsBefore) return escaped(`the host listener counted a connection from the agent`);
  return stopped(`${targets.length} address(es) of ${what} unreachable on :${port}`);
}

/**
 * A listener in the neighbour's agent on 9090 (perl is in every Debian image).
 * Waits for the port, not for a time: perl takes seconds to listen in a
 * micro-VM guest under software emulation.
 */
async function neighbourListener(w: World): Promise<void> {
  const listening = `for i in $(seq 120); do [ "$(${tcp('127.0.0.1', 9090, w.secs(3))})" = reached ] && break; sleep 0.5; done; ${tcp('127.0.0.1', 9090, w.secs(3))}`;
  const start = await run(['exec', w.other, '--', 'bash', '-c', `nohup perl -MIO::Socket::INET -e '$s=IO::Socket::INET->new(LocalPort=>9090,Listen=>5,ReuseAddr=>1) or die; while($c=$s->accept){print $c "n\\n"; close $c}' >/dev/null 2>&1 & ${listening}`], { env: w.h.env });
  if (start.stdout.trim() !== 'reached') throw new Error(`control: the neighbour's listener did not start (exit ${start.code}: ${start.stdout.trim()} ${start.stderr.trim()})`);
}

/** What a TCP connect from this process meets: a listener, a refusal (the address is there, nothing listens), or nothing. */
function probeFromHere(host: string, port: number): Promise<'open' | 'refused' | 'silent'> {
  return new Promise((resolve) => {
    const s = connect({ host, port, timeout: 3000 }, () => {
      s.destroy();
      resolve('open');
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED' ? 'refused' : 'silent'));
    s.on('timeout', () => {
      s.destroy();
      resolve('silent');
    });
  });
}

export const networkCases: EscapeCase[] = [
  {
    id: 'network/host-bridge-addresses',
    category: 'network',
    attack: "connect to a service listening on the host's Docker bridge addresses",
    expect: 'stopped',
    async run(w) {
      const addrs = await w.backend.hostAddresses();
      if (!(await reachableFromHere(addrs[0] ?? '127.0.0.1', w.up.tcpPort))) throw new Error('control: the host listener does not answer');
      return tcpFromAgent(w, addrs, w.up.tcpPort, 'host');
    },
  },
  {
    id: 'network/host-primary-address',
    category: 'network',
    attack: "connect to the host's own LAN address (the way out to the internet)",
    expect: 'stopped',
    async run(w) {
      const { execFileSync } = await import('node:child_process');
      // `ip route get` computes the source address without sending anything.
      const src = /\bsrc\s+([\d.]+)/.exec(execFileSync('ip', ['-4', 'route', 'get', '192.0.2.1'], { encoding: 'utf8' }))?.[1];
      if (!src) throw new Error('no primary IPv4 address on this host');
      if (!(await reachableFromHere(src, w.up.tcpPort))) throw new Error(`control: the host listener does not answer on ${src}`);
      return tcpFromAgent(w, [src], w.up.tcpPort, 'host LAN address');
    },
  },
  {
    id: 'network/upstream-direct',
    category: 'network',
    attack: 'skip the proxy: HTTPS straight to the upstream server on the host (--noproxy)',
    expect: 'stopped',
    async run(w) {
      const ip = (await w.backend.hostAddresses())[0] ?? '';
      const before = w.up.received.length;
      const r = await w.sh(`curl -sk --noproxy '*' --max-time ${w.secs(4)} -o /dev/null -w '%{http_code}' https://${ip}:${w.up.port}/direct; echo`);
      if (w.up.received.length !== before || r.stdout.trim().startsWith('2')) return escaped(`the upstream answered ${r.stdout.trim()}`);
      return stopped(`no connection (curl: ${r.stdout.trim() || 'nothing'})`);
    },
  },
  {
    id: 'network/cloud-metadata',
    category: 'network',
    attack: 'reach the cloud metadata service at 169.254.169.254 (credentials of the host)',
    expect: 'stopped',
    async run(w) {
      const r = await w.sh(`${tcp('169.254.169.254', 80, w.secs(3))}; ip -4 route show`);
      if (r.stdout.includes('reached')) return escaped('169.254.169.254:80 answered');
      return stopped('no route to the metadata address');
    },
  },
  {
    id: 'network/external-dns',
    category: 'network',
    attack: 'resolve an internet name (a DNS tunnel would start here)',
    expect: 'stopped',
    async run(w) {
      const { lookup } = await import('node:dns/promises');
      await lookup('deb.debian.org'); // control: the host resolves it
      const r = await w.sh(`timeout ${w.secs(5)} getent hosts deb.debian.org && echo resolved || echo unresolved`);
      return r.stdout.includes('resolved') && !r.stdout.includes('unresolved') ? escaped(`resolved: ${r.stdout.trim()}`) : stopped('the name does not resolve inside the bottle');
    },
  },
  {
    id: 'network/neighbour-agent',
    category: 'network',
    attack: "connect to another bottle's agent",
    expect: 'stopped',
    async run(w) {
      await neighbourListener(w);
      return tcpFromAgent(w, await w.backend.agentAddresses(w.other), 9090, "the neighbour's agent");
    },
  },
  {
    id: 'network/neighbour-bundle',
    category: 'network',
    attack: "use another bottle's proxy (its routes, its tokens)",
    expect: 'stopped',
    async run(w) {
      const b = await w.backend.bundleAddresses(w.other);
      return tcpFromAgent(w, [b.inside, b.outside].filter(Boolean), 3128, "the neighbour's bundle");
    },
  },
  {
    id: 'network/own-bundle-egress-side',
    category: 'network',
    attack: "reach the bundle's egress-side address (a path around the internal network)",
    expect: 'stopped',
    async run(w) {
      const b = await w.backend.bundleAddresses(w.id);
      if (!b.outside) throw new Error('the adapter names no egress-side address');
      return tcpFromAgent(w, [b.outside], 3128, "the bundle's egress side");
    },
  },
  {
    id: 'network/bundle-services-from-outside',
    category: 'network',
    attack: "reach the bundle's services on its egress-side address, as the host's other containers or a process on the host can (its proxy with the bottle's tokens, the MCP server, the git-gate)",
    expect: 'stopped',
    async run(w) {
      const b = await w.backend.bundleAddresses(w.id);
      if (!b.outside) throw new Error('the adapter names no egress-side address');
      const seen = await Promise.all([3128, 7070, 8765, 9420].map(async (port) => [port, await probeFromHere(b.outside, port)] as const));
      const open = seen.filter(([, r]) => r === 'open').map(([p]) => p);
      if (open.length > 0) return escaped(`${b.outside} accepts connections on ${open.join(', ')} from outside the bottle`);
      if (seen.some(([, r]) => r === 'silent')) throw new Error(`control: ${b.outside} does not answer from here at all (${seen.map(([p, r]) => `${p} ${r}`).join(', ')})`);
      return stopped(`${b.outside} refuses 3128, 7070, 8765, 9420: the services listen on the agent's side only`);
    },
  },
  {
    id: 'network/bundle-port-scan',
    category: 'network',
    attack: 'scan every TCP port of the bundle for a service not meant for the agent',
    expect: 'stopped',
    async run(w) {
      // Non-blocking connects, up to WINDOW in flight, each given TIMEOUT s, so
      // a network that drops probes instead of refusing them costs at most
      // 65,535 x TIMEOUT / WINDOW (about 2 min) rather than hours. Both
      // backends refuse a closed port at once (the micro-VM's restricted
      // user-mode network too): the whole scan took about 2.5 min in a TCG
      // guest here, 12 s on Docker. The timeout only grew (1 s to 2 s) when
      // the window replaced 48 threads, so no answer is missed.
      const script = `python3 - <<'PY'
import errno, resource, selectors, socket, time
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
try:
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard)); soft = hard
except (ValueError, OSError):
    pass
WINDOW = max(16, min(1000, soft - 64))
TIMEOUT = ${PORT_SCAN_TIMEOUT_S}
addr = socket.gethostbyname('bundle')
sel = selectors.DefaultSelector()
ports = iter(range(1, 65536))
found, refused, silent = [], 0, 0
pending = {}
done = False
while not done or pending:
    while not done and len(pending) < WINDOW:
        p = next(ports, None)
        if p is None:
            done = True
            break
        s = socket.socket(); s.setblocking(False)
        e = s.connect_ex((addr, p))
        if e == 0:
            found.append(p); s.close()
        elif e == errno.EINPROGRESS:
            sel.register(s, selectors.EVENT_WRITE, p); pending[s] = time.monotonic() + TIMEOUT
        else:
            refused += 1; s.close()
    for key, _ in sel.select(0.05):
        s = key.fileobj
        if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
            found.append(key.data)
        else:
            refused += 1
        sel.unregister(s); del pending[s]; s.close()
    now = time.monotonic()
    for s in [s for s, t in pending.items() if t <= now]:
        silent += 1; sel.unregister(s); del pending[s]; s.close()
print(' '.join(str(p) for p in sorted(found)))
print(f'{refused} refused, {silent} unanswered after {TIMEOUT} s, window {WINDOW}')
PY`;
      const r = await w.sh(script);
      const [ports = '', counts = ''] = r.stdout.trim().split('\n');
      const open = ports.trim().split(/\s+/).filter(Boolean).map(Number);
      const expected = [3128, 7070, 8765, 9420];
      // Control: every port that really listens was found, so a scan that lost answers (a slow guest) fails instead of passing.
      const missed = expected.filter((p) => !open.includes(p));
      if (missed.length > 0) throw new Error(`control: the scan missed the bundle's own ports ${missed.join(', ')} (${r.stdout.trim()} ${r.stderr.trim()})`);
      const extra = open.filter((p) => !expected.includes(p));
      return extra.length > 0 ? escaped(`unexpected open ports: ${extra.join(', ')}`) : stopped(`open: ${open.join(', ')} (proxy, heartbeat, supervise, git-gate); ${counts}`);
    },
  },
];
