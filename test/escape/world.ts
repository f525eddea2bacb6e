/**
 * The world the escape suite attacks from: one bottle (the "escape" bottle)
 * whose agent is the attacker, with routes to the suite's HTTPS upstream, a
 * git-gate in front of an SSH upstream, supervise on, and a known secret in
 * its env; a second bottle next to it as a neighbour to reach for; the host's
 * own listeners as targets. Everything goes through the CLI except what the
 * backend adapter says about the engine's view.
 */
import { randomBytes } from 'node:crypto';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startGitUpstream, type GitUpstream } from '../../src/backends/docker/demo-upstream.js';
import { silentProgress } from '../../src/progress.js';
import { makeHome, ROOT, run, type RunResult, type TestHome } from '../helpers.js';
import type { EscapeBackend } from './backend.js';
import { startUpstream, type Upstream } from './upstream.js';

const HERE = dirname(fileURLToPath(import.meta.url));

export interface HttpAnswer {
  /** HTTP status, 0 when nothing answered; for a refused CONNECT, the proxy's status. */
  readonly status: number;
  /** The proxy's X-Bot-Bottle-Reason, '' when absent. */
  readonly reason: string;
  readonly headers: string;
  readonly body: string;
}

export interface World {
  readonly backend: EscapeBackend;
  readonly h: TestHome;
  /** `seconds` scaled for this backend's speed (see EscapeBackend.timeScale): for timeouts inside the agent. */
  secs(seconds: number): number;
  /** The attacker's bottle. */
  readonly id: string;
  /** A neighbour bottle of the same home. */
  readonly other: string;
  readonly up: Upstream;
  readonly git: GitUpstream;
  /** Host secrets: injected by the proxy (never seen by the agent) and the bottle's own env secret. */
  readonly token: string;
  readonly echoToken: string;
  readonly known: string;
  /** `https://<host>:<port><path>` for a host the upstream serves. */
  url(host: string, path: string): string;
  /** A shell in the attacker's agent. */
  sh(script: string, input?: string): Promise<RunResult>;
  /** A shell in the neighbour's agent. */
  neighbourSh(script: string, input?: string): Promise<RunResult>;
  /** curl in the agent, through the proxy; `args` is shell text. */
  curl(args: string): Promise<HttpAnswer>;
  /** Raw bytes through the proxy into a TLS tunnel (agent/raw.py); `opts` are raw.py flags. */
  raw(host: string, bytes: string, opts?: string): Promise<RunResult>;
  /** A fresh, well-shaped fake AWS access key id: a marker no one else sends, and DLP must catch. */
  marker(): string;
  /** A fresh marker that looks like no credential (DLP lets it pass): for attacks on policy, not on DLP. */
  tag(): string;
  /** Did anything outside the bottle receive this text? */
  leaked(text: string): boolean;
  close(): Promise<void>;
}

/** Hosts the upstream serves; routed ones get a route below, the rest are reachable only if policy fails. */
export const HOSTS = ['api.test', 'echo.test', 'ro.test', 'open.test', 'evil.test', 'dns.google'] as const;

const AWS_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
export function fakeAwsKey(): string {
  return 'AKIA' + [...randomBytes(16)].map((b) => AWS_ALPHABET[b % 32]).join('');
}

function bottleFile(up: Upstream, ip: string, caFile: string, git: GitUpstream): string {
  const p = up.port;
  return `---
agent_provider:
  template: shell
  dockerfile: escape-agent/Dockerfile
supervise: true
runtime: {cpus: 1, memory: 512m, pids: 256}
env:
  KNOWN_SECRET: "\${ESC_KNOWN}"
egress:
  hosts: {${HOSTS.map((h) => `${h}: ${ip}`).join(', ')}}
  ca_certs: [${caFile}]
  routes:
    - host: api.test:${p}
      matches:
        - paths: [{type: prefix, value: /v1/}]
          methods: [GET, POST]
      auth: {scheme: Bearer, token_ref: ESC_TOKEN}
      dlp: {on_match: block}
    - host: echo.test:${p}
      auth: {scheme: Bearer, token_ref: ESC_ECHO_TOKEN}
      dlp: {on_match: block}
    - host: ro.test:${p}
      matches:
        - methods: [GET]
    - host: open.test:${p}
git-gate:
  user: {name: Escape Agent, email: escape@bot-bottle.invalid}
  repos:
    app:
      url: ${git.url}
      identity: ${git.identityFile}
      host_key: "${git.hostKey}"
---
The escape suite's attacker bottle.
`;
}

/** The neighbour: one route (open.test), supervise on (its capability builds are attacked from here). */
function neighbourFile(up: Upstream, ip: string, caFile: string): string {
  return `---
agent_provider: {template: shell}
supervise: true
egress:
  hosts: {open.test: ${ip}}
  ca_certs: [${caFile}]
  routes:
    - host: open.test:${up.port}
---
A neighbour bottle.
`;
}

/** The agent image: the shell template plus the tools an attacker brings (python3, openssl). */
function writeAgentImage(home: string): void {
  const dir = join(home, 'bottles', 'escape-agent');
  cpSync(join(ROOT, 'images', 'agent-shell'), dir, { recursive: true });
  const dockerfile = readFileSync(join(dir, 'Dockerfile'), 'utf8');
  writeFileSync(
    join(dir, 'Dockerfile'),
    `${dockerfile}
# The escape suite's attacker brings its own tools.
USER root
RUN apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 openssl \\
 && apt-get clean && rm -rf /var/lib/apt/lists/*
USER agent
`,
  );
}

async function startBottle(h: TestHome, agent: string, backend: EscapeBackend): Promise<string> {
  const r = await run(['start', agent, '--detach', '--json', ...backend.startArgs], { env: h.env, cwd: h.cwd });
  if (r.code !== 0) throw new Error(`start ${agent} failed (${r.code}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return (JSON.parse(r.stdout) as { identity: string }).identity;
}

export async function makeWorld(backend: EscapeBackend): Promise<World> {
  const token = `esc-host-token-${randomBytes(8).toString('hex')}`;
  const echoToken = `esc-echo-token-${randomBytes(8).toString('hex')}`;
  const known = `esc-known-${randomBytes(8).toString('hex')}`;
  const up = await startUpstream();
  const h = makeHome({ ESC_TOKEN: token, ESC_ECHO_TOKEN: echoToken, ESC_KNOWN: known });
  let git: GitUpstream | undefined;
  try {
    git = await startGitUpstream('git.escape', silentProgress);
    const ip = (await backend.hostAddresses())[0];
    if (ip === undefined) throw new Error('the backend names no host address for the upstream');
    const caFile = join(h.home, 'upstream-ca.pem');
    writeFileSync(caFile, up.caPem);
    writeAgentImage(h.home);
    h.writeBottle('escape', bottleFile(up, ip, caFile, git));
    h.writeBottle('neighbour', neighbourFile(up, ip, caFile));
    h.writeAgent('esc', '---\nbottle: escape\n---\nThe attacker.\n');
    h.writeAgent('neighbour', '---\nbottle: neighbour\n---\n');
    const [id, other] = await Promise.all([startBottle(h, 'esc', backend), startBottle(h, 'neighbour', backend)]);
    await backend.attachFixture(id, git);
    const g = git;
    const sh = (script: string, input?: string) => run(['exec', id, '--', 'bash', '-c', script], { env: h.env, ...(input === undefined ? {} : { input }) });
    const installed = await sh('cat > /home/agent/raw.py && chmod +x /home/agent/raw.py && python3 --version', readFileSync(join(HERE, 'agent', 'raw.py'), 'utf8'));
    if (installed.code !== 0) throw new Error(`cannot install the attacker's tools: ${installed.stderr}`);
    const url = (host: string, path: string) => `https://${host}:${up.port}${path}`;
    const w: World = {
      backend,
      h,
      id,
      other,
      up,
      git: g,
      token,
      echoToken,
      known,
      url,
      secs: (seconds) => seconds * backend.timeScale,
      sh,
      neighbourSh: (script, input) => run(['exec', other, '--', 'bash', '-c', script], { env: h.env, ...(input === undefined ? {} : { input }) }),
      async curl(args) {
        const r = await sh(`curl -sS --max-time ${15 * backend.timeScale} -o /tmp/esc-body -D /tmp/esc-head -w '%{http_code} %{http_connect}\\n' ${args} 2>/tmp/esc-err; echo ===; cat /tmp/esc-head 2>/dev/null; echo ===; cat /tmp/esc-body 2>/dev/null; echo ===; cat /tmp/esc-err 2>/dev/null; rm -f /tmp/esc-body /tmp/esc-head /tmp/esc-err`);
        const parts = r.stdout.split('===\n');
        const [codes = '', headers = ''] = parts;
        const error = (parts.length > 3 ? (parts[parts.length - 1] ?? '') : '').trim();
        const body = parts.slice(2, Math.max(3, parts.length - 1)).join('===\n');
        const [code, connect] = codes.trim().split(' ').map(Number);
        // No final answer: a refused CONNECT is the proxy's answer; an accepted CONNECT (200) then nothing is no answer at all (0), not a 200.
        const status = code !== undefined && code > 0 ? code : connect !== undefined && connect !== 200 ? connect : 0;
        const reason = /^x-bot-bottle-reason:\s*(\S+)/im.exec(headers)?.[1] ?? (status === 0 && error ? `(no answer: ${error.split('\n')[0]})` : '');
        return { status, reason, headers, body };
      },
      raw: (host, bytes, opts = '') => sh(`python3 /home/agent/raw.py ${host} ${up.port} ${opts}`, bytes),
      marker: fakeAwsKey,
      tag: () => `esc${randomBytes(6).toString('hex')}`,
      leaked: (text) => up.saw(text),
      async close() {
        await up.close();
        await g.stop();
        await h.cleanup();
      },
    };
    // Controls: the path the attacks take really works for an honest request.
    const ok = await w.curl(url('api.test', '/v1/control'));
    if (ok.status !== 200 || !up.received.some((r) => r.url === '/v1/control')) {
      throw new Error(`control request through the proxy failed: ${ok.status} ${ok.reason} ${ok.body.slice(0, 200)}`);
    }
    return w;
  } catch (e) {
    await up.close();
    await git?.stop();
    await h.cleanup();
    throw e;
  }
}
