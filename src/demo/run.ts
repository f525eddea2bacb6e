/**
 * The demo: a real bottle with the shell agent, and what it can and cannot
 * reach, checked live from inside. Later issues add their steps (allowlisted
 * HTTPS 200, denied host 403, DLP refusal, git-gate push rejection).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { createServer as createHttpsServer } from 'node:https';
import { cleanup, destroy, exec, list } from '../api/manage.js';
import { start } from '../api/start.js';
import { getBackend } from '../backends/index.js';
import type { GitUpstream } from '../bottle/backend.js';
import { BottleError } from '../errors.js';
import { createCa, LeafMinter } from '../sidecars/egress/certs.js';
import type { BackendName } from '../bottle/spec.js';
import { homeDirs } from '../bottle/state.js';
import type { Progress } from '../progress.js';
import { readSettings, type Settings } from '../settings.js';

export interface DemoStep {
  readonly name: string;
  readonly expect: 'reachable' | 'blocked';
  readonly ok: boolean;
  readonly detail: string;
}

const AGENT = `---
bottle: demo
description: scripted demo agent
---
You are the bot-bottle demo agent.
`;

const bottle = (upstreamIp: string, port: number, caFile: string, git: GitUpstream) => `---
agent_provider:
  template: shell
runtime:
  cpus: 1
  memory: 512m
  pids: 256
env:
  DEMO_GREETING: hello from the bottle
egress:
  hosts:
    demo.test: ${upstreamIp}
  ca_certs: [${caFile}]
  routes:
    - host: demo.test:${port}
      matches:
        - paths: [{type: prefix, value: /}]
          methods: [GET, POST]
      dlp: {on_match: block}
git-gate:
  user: {name: Demo Agent, email: demo-agent@bot-bottle.invalid}
  repos:
    demo:
      url: ${git.url}
      identity: ${git.identityFile}
      host_key: "${git.hostKey}"
---
The demo bottle: one allowlisted HTTPS host, served by the demo itself on this
machine, and one git upstream (an SSH server the demo runs) behind the git-gate.
`;

/**
 * Runs the demo in a home of its own, removed with everything in it when the
 * demo ends, fails, or `signal` aborts (Ctrl-C): then the returned promise
 * rejects with the signal's reason once all is removed.
 */
export async function runDemo(
  base: Settings,
  progress: Progress,
  report: (step: DemoStep) => void,
  backendName: BackendName = 'docker',
  signal?: AbortSignal,
): Promise<{ identity: string; steps: DemoStep[] }> {
  const home = await mkdtemp(join(tmpdir(), 'bot-bottle-demo-'));
  const settings: Settings = readSettings({ ...base.hostEnv, BOT_BOTTLE_HOME: home }, base.cwd, base.tty);
  await mkdir(join(home, 'agents'), { recursive: true });
  await mkdir(join(home, 'bottles'), { recursive: true });
  await writeFile(join(home, 'agents', 'demo.md'), AGENT);
  // Host caches (probe verdicts, the micro-VM kernel and disks) are the user's: a demo run reuses them.
  await mkdir(homeDirs(base.home).cache, { recursive: true });
  await symlink(homeDirs(base.home).cache, homeDirs(home).cache);
  // Whatever fails from here on, everything the demo made goes with the temporary home.
  let upstream: DemoUpstream | undefined;
  let git: GitUpstream | undefined;
  let hostServer: Server | undefined;
  let identity = '';
  let removed: Promise<void> | undefined;
  const teardown = (): Promise<void> =>
    (removed ??= (async () => {
      hostServer?.close();
      upstream?.close();
      // The upstream first: it is attached to the bottle's egress network, which cannot go while it is.
      await git?.stop();
      // Every bottle of the demo's home: the one it started, or what an interrupted start left of it.
      for (const b of await list(settings).catch(() => [])) {
        await (b.status === 'orphan' ? cleanup(settings, [b]) : destroy(settings, b.identity)).catch(() => undefined);
      }
      await rm(home, { recursive: true, force: true });
    })());
  const demo = (async () => {
    try {
      upstream = await startUpstream(home);
      const bridge = hostAddresses()[0];
      if (!bridge) throw new BottleError('launch', 'no Docker bridge address on this host for the demo upstream', { fix: 'bot-bottle doctor' });
      progress.step('starting the demo git upstream (an SSH server in a container of its own)');
      const backend = getBackend(settings, backendName);
      if (!backend.demoGitUpstream) throw new BottleError('usage', `the ${backend.name} backend cannot run the demo's git upstream`, { fix: 'bot-bottle demo --backend docker' });
      git = await backend.demoGitUpstream('git.demo', progress);
      await writeFile(join(home, 'bottles', 'demo.md'), bottle(bridge, upstream.port, upstream.caFile, git));
      hostServer = await listenOnAllInterfaces();
      progress.step('starting the demo bottle (the first run builds images: a few minutes)');
      const t0 = Date.now();
      const started = await start(
        settings,
        { agent: 'demo', bottles: [], backend: backendName, copyCwd: undefined, label: 'demo', color: 'cyan', identity: undefined, headless: true, prompt: undefined },
        { progress, detach: true },
      );
      identity = started.identity;
      await git.attach(identity);
      progress.step(`bottle ${identity} ready in ${((Date.now() - t0) / 1000).toFixed(1)} s; checking from inside the agent`);
      const port = (hostServer.address() as { port: number }).port;
      const steps: DemoStep[] = [];
      const check = async (name: string, expect: DemoStep['expect'], script: string) => {
        const { code, output } = await run(settings, identity, script);
        const reached = code === 0;
        const step: DemoStep = { name, expect, ok: reached === (expect === 'reachable'), detail: output.trim().split('\n').pop() ?? '' };
        steps.push(step);
        report(step);
      };
      await check('the sidecar bundle (http://bundle:7070/healthz)', 'reachable', 'curl -sS --max-time 5 http://bundle:7070/healthz');
      await check('its own literal env (DEMO_GREETING)', 'reachable', 'printenv DEMO_GREETING');
      const url = `https://demo.test:${upstream.port}`;
      await check(`1. an allowlisted HTTPS host through the bumped TLS path (${url}/hello → 200)`, 'reachable',
        `out=$(curl -sS -w ' %{http_code}' ${url}/hello) && echo "$out" && [ "\${out##* }" = 200 ] && curl -sSv ${url}/hello 2>&1 | grep -o 'issuer: .*bot-bottle egress CA[^,]*'`);
      await check('2. a host that is not allowlisted (https://deb.debian.org → 403)', 'blocked',
        `code=$(curl -s -o /dev/null -w '%{http_code}' https://deb.debian.org/); echo "proxy answered $code"; [ "$code" != 403 ]`);
      await check(`3. a POST carrying a credential-shaped string to the allowlisted host (→ 403)`, 'blocked',
        `code=$(curl -s -o /tmp/body -w '%{http_code}' -X POST --data-binary "aws_key=AKIA$(tr -dc 'A-Z2-7' </dev/urandom | head -c 16)" ${url}/upload); echo "$code $(grep -o 'dlp-blocked[^(]*' /tmp/body)"; [ "$code" != 403 ]`);
      await check(`   …and the upstream never saw it (${upstream.received().length} request(s) arrived, none to /upload)`, 'blocked', upstream.received().includes('/upload') ? 'echo arrived' : 'echo "not received"; exit 1');
      await check(`4. a clean commit pushed through the git-gate reaches the upstream (${git.url})`, 'reachable',
        `set -e; cd /workspace; git clone -q ${git.url} repo 2>/dev/null; cd repo; git checkout -q -b main; echo '# demo' > README.md; git add README.md; git commit -qm 'clean commit'; git push -q origin main 2>&1 | tail -2; echo "pushed $(git rev-parse --short HEAD)"`);
      const cleanHead = await git.head('main');
      await check(`   …upstream main is now ${cleanHead.slice(0, 7) || '(nothing)'}`, 'reachable', cleanHead ? `echo upstream has ${cleanHead.slice(0, 7)}` : 'echo "upstream is empty"; exit 1');
      await check('4. a commit with an AWS-style key is refused by the git-gate', 'blocked',
        `cd /workspace/repo; printf 'aws_access_key_id = AKIA%s\\naws_secret_access_key = %s\\n' "$(tr -dc 'A-Z2-7' </dev/urandom | head -c 16)" "$(tr -dc 'A-Za-z0-9/+' </dev/urandom | head -c 40)" > creds.ini; git add creds.ini; git commit -qm 'add credentials'; out=$(git push origin main 2>&1); code=$?; echo "$out" | grep -m1 -o 'remote: .*aws[^ ]*' ; exit $code`);
      const afterHead = await git.head('main');
      await check('   …and the upstream is unchanged', 'reachable', afterHead === cleanHead ? `echo still ${afterHead.slice(0, 7)}` : `echo "upstream moved to ${afterHead.slice(0, 7)}"; exit 1`);
      for (const ip of hostAddresses()) {
        await check(`the host at ${ip}:${port} (a server the demo runs)`, 'blocked', `timeout 4 bash -c 'echo > /dev/tcp/${ip}/${port}' 2>&1 && echo connected`);
      }
      await check('an external name (deb.debian.org)', 'blocked', 'timeout 4 getent hosts deb.debian.org || { echo "no answer"; exit 1; }');
      await check('the cloud metadata address (169.254.169.254:80)', 'blocked', `timeout 4 bash -c 'echo > /dev/tcp/169.254.169.254/80' 2>&1 && echo connected`);
      await check('the Docker socket', 'blocked', 'test -S /var/run/docker.sock && echo present || { echo absent; exit 1; }');
      return { identity, steps };
    } finally {
      await teardown();
    }
  })();
  if (signal === undefined) return demo;
  // Interrupted: remove everything now; whatever the cut-short demo throws afterwards is moot.
  demo.catch(() => undefined);
  const interrupted = new Promise<never>((_resolve, reject) => {
    const onAbort = () => void teardown().finally(() => reject(signal.reason instanceof Error ? signal.reason : new Error('demo interrupted')));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([demo, interrupted]);
}

async function run(settings: Settings, identity: string, script: string): Promise<{ code: number; output: string }> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const code = await exec(settings, identity, ['bash', '-c', script], { stdin: undefined, stdout: out, stderr: out, tty: false });
  return { code, output: Buffer.concat(chunks).toString('utf8') };
}

interface DemoUpstream {
  readonly port: number;
  readonly caFile: string;
  received(): string[];
  close(): void;
}

/** The allowlisted HTTPS host of the demo, with its own CA: the proxy verifies it like any upstream. */
async function startUpstream(home: string): Promise<DemoUpstream> {
  const ca = await createCa('demo-upstream');
  const caFile = join(home, 'demo-upstream-ca.pem');
  await writeFile(caFile, ca.certPem);
  const secureContext = await new LeafMinter(ca).contextFor('demo.test');
  const paths: string[] = [];
  const server = createHttpsServer({ SNICallback: (_name, cb) => cb(null, secureContext) }, (req, res) => {
    paths.push(req.url ?? '');
    res.setHeader('content-type', 'text/plain');
    res.end(`hello from demo.test, you sent ${req.method} ${req.url}\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
  return { port: (server.address() as { port: number }).port, caFile, received: () => [...paths], close: () => server.close() };
}

function listenOnAllInterfaces(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer((sock) => {
      sock.on('error', () => undefined);
      sock.end('you reached the host\n');
    });
    s.once('error', reject);
    s.listen(0, '0.0.0.0', () => resolve(s));
  });
}

/**
 * The host's addresses on Docker bridges: what an internal network must not
 * reach. `ip` sees bridges that are down too (docker0 with no container on
 * it), which os.networkInterfaces() leaves out.
 */
export function hostAddresses(): string[] {
  const out = new Set<string>();
  try {
    for (const line of execFileSync('ip', ['-4', '-o', 'addr', 'show'], { encoding: 'utf8' }).split('\n')) {
      const m = /^\d+:\s+(\S+)\s+inet\s+([\d.]+)\//.exec(line);
      if (m?.[1] && m[2] && isDockerBridge(m[1])) out.add(m[2]);
    }
  } catch {
    for (const [name, addrs] of Object.entries(networkInterfaces())) {
      if (isDockerBridge(name)) for (const a of addrs ?? []) if (a.family === 'IPv4') out.add(a.address);
    }
  }
  return [...out].sort();
}

function isDockerBridge(name: string): boolean {
  return name === 'docker0' || name.startsWith('br-');
}
