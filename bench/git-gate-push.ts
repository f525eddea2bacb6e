/**
 * A clean one-commit push through the git-gate against a direct push to the
 * same SSH upstream, from the same agent image (medians; the push itself is
 * timed inside the container, without `docker exec` overhead). Also a no-op
 * fetch both ways. Prints numbers; asserts nothing. Needs `npm run build`.
 *
 *   node --import tsx bench/git-gate-push.ts [runs=5]
 *
 * Through the gate a push costs: the ref advertisement's refresh from
 * upstream (one SSH fetch), the pre-receive hook (a Node process, rev-list,
 * the scan), and the forward (a second SSH connection), plus HTTP to the gate.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connectEngine } from '../src/backends/docker/engine.js';
import { agentShellRecipe, ensureImage, type ImageRecipe } from '../src/backends/docker/images.js';
import { bundleImageRecipe } from '../src/backends/docker/plan.js';
import type { Agent, Bottle } from '../src/manifest/types.js';
import { silentProgress } from '../src/progress.js';
import { prepareGitGate } from '../src/sidecars/git-gate/prepare.js';
import { writeStateFiles } from '../src/bottle/state.js';

const runs = Number(process.argv[2] ?? 5);
const ROOT = join(import.meta.dirname, '..');
const execFileP = promisify(execFile);
const T = `${process.pid}-${randomBytes(3).toString('hex')}`;
const names = { int: `bb-ggb-int-${T}`, egr: `bb-ggb-egr-${T}`, up: `bb-ggb-up-${T}`, gate: `bb-ggb-gate-${T}`, agent: `bb-ggb-agent-${T}`, direct: `bb-ggb-direct-${T}` };
const LABEL = ['--label', 'bb-test=1'];
const URL_ = 'ssh://git@upstream/srv/repo.git';
const SSH_OPTS = '-o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=5';

const docker = async (args: string[]) => (await execFileP('docker', args, { maxBuffer: 1 << 24 })).stdout.trim();
function sh(container: string, script: string, user = 'root', input = ''): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn('docker', ['exec', '-i', '-u', user, container, 'bash', '-c', script]);
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, out, err }));
    p.stdin.end(input);
  });
}
async function must(container: string, script: string, user = 'root', input = ''): Promise<string> {
  const r = await sh(container, script, user, input);
  if (r.code !== 0) throw new Error(`${container}: ${script}: ${r.err || r.out}`);
  return r.out.trim();
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

const work = mkdtempSync(join(tmpdir(), 'bb-ggb-'));
const images: string[] = [];
try {
  const key = join(work, 'id');
  await execFileP('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  const engine = await connectEngine();
  const gateRecipe: ImageRecipe = bundleImageRecipe('bb-test/git-gate-bundle', { 'bb-test': '1' });
  const upRecipe: ImageRecipe = { repository: 'bb-test/ssh-upstream', dockerfile: 'Dockerfile', context: [{ at: '.', from: join(ROOT, 'images', 'ssh-upstream') }], labels: { 'bb-test': '1' } };
  const [gateImage, upImage, agentImage] = await Promise.all([ensureImage(engine, gateRecipe, silentProgress), ensureImage(engine, upRecipe, silentProgress), ensureImage(engine, agentShellRecipe(), silentProgress)]);
  images.push(gateImage, upImage);

  await docker(['network', 'create', ...LABEL, '--internal', names.int]);
  await docker(['network', 'create', ...LABEL, names.egr]);
  await docker(['run', '-d', ...LABEL, '--name', names.up, '--network', names.egr, '--network-alias', 'upstream', '-e', `AUTHORIZED_KEY=${readFileSync(`${key}.pub`, 'utf8').trim()}`, upImage]);
  let hostKey = '';
  for (let i = 0; i < 100 && !hostKey; i++) {
    const r = await sh(names.up, 'cat /etc/ssh/ssh_host_ed25519_key.pub && (echo > /dev/tcp/127.0.0.1/22) 2>/dev/null');
    if (r.code === 0) hostKey = r.out.trim().split(/\s+/).slice(0, 2).join(' ');
    else await new Promise((r) => setTimeout(r, 200));
  }
  await must(names.up, `cd /tmp && git clone -q /srv/repo.git s 2>/dev/null; cd s && git -c user.name=s -c user.email=s@x commit -q --allow-empty -m seed && git push -q origin HEAD:main`, 'git');

  const hostDir = join(work, 'gate');
  const queue = join(work, 'queue');
  mkdirSync(hostDir);
  mkdirSync(queue);
  const bottle: Bottle = {
    name: 'bench', files: [join(work, 'b.md')], env: {},
    agent_provider: { template: 'shell', dockerfile: undefined, auth_token: undefined, forward_host_credentials: false },
    git_gate: { user: { name: 'Bench', email: 'bench@example.invalid' }, repos: { proj: { url: URL_, identity: key, host_key: hostKey, token_ref: undefined } } },
    egress: { routes: [], hosts: {}, ca_certs: [] }, supervise: false, runtime: { cpus: undefined, memory: undefined, pids: undefined }, doc: '',
  };
  const agent: Agent = { name: 'bench', file: join(work, 'a.md'), bottles: ['bench'], skills: [], git_gate_user: undefined, prompt: '', description: undefined };
  const plan = await prepareGitGate({ identity: `bench-${T}`, bottle, agent, hostEnv: {}, knownSecrets: [], agentDockerfile: undefined });
  await writeStateFiles(hostDir, plan);
  for (const d of [hostDir, queue]) {
    chownSync(d, 10001, 10001);
    for (const f of readdirSync(d)) chownSync(join(d, f), 10001, 10001);
  }
  const svc = plan.services[0];
  await docker([
    'create', ...LABEL, '--name', names.gate, '--network', names.int, '--network-alias', 'bundle', '--read-only', '--tmpfs', '/tmp:rw,nosuid,nodev,size=64m',
    '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges', '--init', '--user', '10001:10001',
    '-v', `${hostDir}:/run/bot-bottle/git-gate`, '-v', `${queue}:/run/bot-bottle/supervise/queue`,
    ...Object.entries(svc.env ?? {}).flatMap(([k, v]) => ['-e', `${k}=${v}`]), '--entrypoint', 'node', gateImage, ...svc.command.slice(1),
  ]);
  await docker(['network', 'connect', names.egr, names.gate]);
  await docker(['start', names.gate]);
  for (const [n, c] of Object.entries(plan.bundleSecrets)) await must(names.gate, `umask 077; mkdir -p /tmp/secrets; cat > /tmp/secrets/${n}`, 'bundle', c);

  await docker(['run', '-d', ...LABEL, '--name', names.agent, '--network', names.int, agentImage, 'sleep', 'infinity']);
  await docker(['run', '-d', ...LABEL, '--name', names.direct, '--network', names.egr, agentImage, 'sleep', 'infinity']);
  for (const f of plan.agentFiles) await must(names.agent, `cat > ${f.path}`, 'agent', f.content);
  await must(names.direct, `mkdir -p -m 700 ~/.ssh && cat > ~/.ssh/id && chmod 600 ~/.ssh/id && echo 'upstream ${hostKey}' > ~/.ssh/known_hosts && git config --global user.name d && git config --global user.email d@x`, 'agent', readFileSync(key, 'utf8'));
  for (let i = 0; i < 100; i++) if ((await sh(names.agent, 'curl -fsS --max-time 1 http://bundle:9420/healthz')).code === 0) break;

  const gitSsh = `GIT_SSH_COMMAND='ssh -i ~/.ssh/id ${SSH_OPTS}'`;
  await must(names.agent, `cd /workspace && git clone -q ${URL_} w`, 'agent');
  await must(names.direct, `cd /workspace && ${gitSsh} git clone -q ${URL_} w && cd w && git checkout -q -b direct`, 'agent');
  const timedIn = async (c: string, cmd: string) => Number(await must(c, `cd /workspace/w && s=$(date +%s%N) && ${cmd} >/dev/null 2>&1 && e=$(date +%s%N) && echo $(((e-s)/1000))`, 'agent')) / 1000;

  const gate: number[] = [];
  const direct: number[] = [];
  const gateFetch: number[] = [];
  const directFetch: number[] = [];
  for (let i = -1; i < runs; i++) {
    await must(names.agent, `cd /workspace/w && echo ${i} >> f && git add f && git commit -qm c${i}`, 'agent');
    await must(names.direct, `cd /workspace/w && echo ${i} >> f && git add f && git commit -qm d${i}`, 'agent');
    const g = await timedIn(names.agent, 'git push -q origin HEAD:main');
    const d = await timedIn(names.direct, `${gitSsh} git push -q origin HEAD:direct`);
    const gf = await timedIn(names.agent, 'git fetch -q origin');
    const df = await timedIn(names.direct, `${gitSsh} git fetch -q origin`);
    if (i < 0) continue; // warm-up
    gate.push(g);
    direct.push(d);
    gateFetch.push(gf);
    directFetch.push(df);
  }
  const f = (ms: number) => `${ms.toFixed(0)} ms`;
  console.log(`runs: ${runs} (medians; one-commit push, timed inside the client container)`);
  console.log(`push through the git-gate : ${f(median(gate))}   [${gate.map(f).join(', ')}]`);
  console.log(`push direct over SSH      : ${f(median(direct))}   [${direct.map(f).join(', ')}]`);
  console.log(`ratio                     : ${(median(gate) / median(direct)).toFixed(2)}x`);
  console.log(`no-op fetch via gate      : ${f(median(gateFetch))}   [${gateFetch.map(f).join(', ')}]`);
  console.log(`no-op fetch direct        : ${f(median(directFetch))}   [${directFetch.map(f).join(', ')}]`);
} finally {
  for (const c of [names.agent, names.direct, names.gate, names.up]) await docker(['rm', '-f', c]).catch(() => undefined);
  for (const n of [names.int, names.egr]) await docker(['network', 'rm', n]).catch(() => undefined);
  for (const i of images) await docker(['rmi', '-f', i]).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
}
