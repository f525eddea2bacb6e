import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BottleError } from '../../errors.js';
import type { Agent, Bottle, GitGateRepo } from '../../manifest/types.js';
import type { SidecarPlan, SidecarPrepareInput } from '../../bottle/sidecar.js';
import { writeStateFiles } from '../../bottle/state.js';
import { KNOWN_SECRETS_SECRET, parseGitGateConfig } from './config.js';
import { porcelainLine } from './hook.js';
import { AGENT_GITCONFIG_PATH, prepare, prepareGitGate } from './prepare.js';
import { knownHostsLine, parseUpstream, upstreamSpellings } from './urls.js';

const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n';
const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
const TOKEN = 'ghp_R4nd0mT0k3nV4lu3F0rT3st1ngOnly0000x';
const OWN = 'own-secret-value-123456';

describe('git-gate prepare', () => {
  let dir: string;
  let keyFile: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'bb-gg-prep-'));
    keyFile = join(dir, 'id_ed25519');
    writeFileSync(keyFile, KEY, { mode: 0o600 });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const bottle = (repos: Record<string, Partial<GitGateRepo> & { url: string }>, user = { name: 'Bottle User', email: 'bottle@example.invalid' }): Bottle => ({
    name: 'b',
    files: ['/home/u/.bot-bottle/bottles/b.md'],
    env: {},
    agent_provider: { template: 'shell', dockerfile: undefined, auth_token: undefined, forward_host_credentials: false },
    git_gate: {
      user,
      repos: Object.fromEntries(
        Object.entries(repos).map(([k, r]) => [k, { url: r.url, identity: r.identity, host_key: r.host_key, token_ref: r.token_ref }]),
      ),
    },
    egress: { routes: [], hosts: {}, ca_certs: [] },
    supervise: false,
    runtime: { cpus: undefined, memory: undefined, pids: undefined },
    doc: '',
  });
  const agent = (override?: { name: string; email: string }): Agent => ({
    name: 'a',
    file: '/x/a.md',
    bottles: ['b'],
    skills: [],
    git_gate_user: override,
    prompt: '',
    description: undefined,
  });
  const input = (b: Bottle, a = agent(), hostEnv: Record<string, string> = {}): SidecarPrepareInput => ({
    identity: 'a-abc123',
    bottle: b,
    agent: a,
    hostEnv,
    knownSecrets: [OWN],
    agentDockerfile: undefined,
  });
  /** The plan's state files, written where the bundle would see them. */
  const written = async (plan: SidecarPlan): Promise<string> => {
    const hostDir = mkdtempSync(join(dir, 'state-'));
    await writeStateFiles(hostDir, plan);
    return hostDir;
  };

  it('no repos: no service, no secrets, no config; only the git identity', async () => {
    const plan = await prepare(input(bottle({})));
    assert.deepEqual(plan.services, []);
    assert.deepEqual(plan.agentFiles.map((f) => f.path), ['/home/agent/.gitconfig']);
    assert.match(plan.agentFiles[0]?.content ?? '', /\[user\]\n\tname = "Bottle User"\n\temail = "bottle@example\.invalid"/);
    assert.deepEqual((await prepare(input({ ...bottle({}), git_gate: { user: undefined, repos: {} } }))).agentFiles, [], 'no user, no file');
    assert.deepEqual(plan.agentEnv, {});
    assert.deepEqual(plan.bundleSecrets, {});
    assert.deepEqual(plan.stateFiles, []);
  });

  it('ssh and https repos: secrets only in bundleSecrets, a config without them', async () => {
    const inp = input(
      bottle({
        app: { url: 'ssh://git@git.example.com:2222/org/app.git', identity: keyFile, host_key: HOST_KEY },
        lib: { url: 'git@github.com:org/lib.git', identity: keyFile, host_key: `github.com ${HOST_KEY}` },
        web: { url: 'https://gitlab.example.com/org/web.git', token_ref: 'WEB_TOKEN' },
      }),
      agent(),
      { WEB_TOKEN: TOKEN },
    );
    const plan = await prepare(inp);

    assert.deepEqual(plan.services, [
      {
        name: 'git-gate',
        command: ['node', '--max-semi-space-size=1', '--heap-growing-percent=50', '/opt/bot-bottle/git-gate.js'],
        env: { BOT_BOTTLE_GIT_GATE_CONFIG: '/run/bot-bottle/git-gate/config.json' },
        restart: 'always',
        readyProbe: { tcpPort: 9420 },
      },
    ]);
    assert.deepEqual(plan.bundleSecrets, {
      'git-gate.app.ssh-key': KEY,
      'git-gate.app.known-hosts': `[git.example.com]:2222 ${HOST_KEY}\n`,
      'git-gate.lib.ssh-key': KEY,
      'git-gate.lib.known-hosts': `github.com ${HOST_KEY}\n`,
      'git-gate.web.token': TOKEN,
      [KNOWN_SECRETS_SECRET]: JSON.stringify([OWN, TOKEN]),
    });

    const hostDir = await written(plan);
    const text = readFileSync(join(hostDir, 'config.json'), 'utf8');
    assert.ok(!text.includes('PRIVATE KEY') && !text.includes('b3BlbnNzaC1rZXkt'), 'no key in the config');
    assert.ok(!text.includes(TOKEN) && !text.includes(OWN), 'no token or bottle secret in the config');
    assert.equal((await import('node:fs')).statSync(join(hostDir, 'config.json')).mode & 0o777, 0o600);
    const cfg = parseGitGateConfig(JSON.parse(text));
    assert.equal(cfg.secretsDir, '/tmp/secrets');
    assert.equal(cfg.hooksDir, '/run/bot-bottle/git-gate/hooks');
    assert.equal(cfg.auditLog, '/run/bot-bottle/git-gate/audit.jsonl');
    assert.equal(cfg.proposalsDir, '/run/bot-bottle/supervise/queue');
    assert.deepEqual(cfg.repos.app, { url: 'ssh://git@git.example.com:2222/org/app.git', transport: 'ssh', sshKeySecret: 'git-gate.app.ssh-key', knownHostsSecret: 'git-gate.app.known-hosts', tokenSecret: undefined });
    assert.deepEqual(cfg.repos.web, { url: 'https://gitlab.example.com/org/web.git', transport: 'https', sshKeySecret: undefined, knownHostsSecret: undefined, tokenSecret: 'git-gate.web.token' });

    // Nothing secret in what the agent gets, nor in --dry-run's description.
    const agentSide = JSON.stringify([plan.agentEnv, plan.agentFiles, plan.describe]);
    assert.ok(!agentSide.includes(TOKEN) && !agentSide.includes('PRIVATE KEY') && !agentSide.includes(OWN));
  });

  it('the agent git config rewrites every spelling to the gate, bypasses the proxy, sets the user (agent wins)', async () => {
    const plan = await prepare(
      input(
        bottle({
          app: { url: 'ssh://git@git.example.com/org/app.git', identity: keyFile, host_key: HOST_KEY },
          web: { url: 'https://gitlab.example.com/org/web.git' },
        }),
        agent({ name: 'Agent "Override"', email: 'agent@example.invalid' }),
      ),
    );
    assert.equal(plan.agentFiles.length, 1);
    const f = plan.agentFiles[0];
    assert.equal(f.path, AGENT_GITCONFIG_PATH);
    assert.equal(f.owner, 'agent');
    assert.equal(f.mode, 0o644);
    assert.match(f.content, /\[url "http:\/\/bundle:9420\/app\.git"\]\n(\tinsteadOf = ".*"\n)+/);
    assert.match(f.content, /\[http "http:\/\/bundle:9420\/"\]\n\tproxy = ""/);

    // Real git reads it: every spelling resolves to the gate.
    const home = mkdtempSync(join(dir, 'home-'));
    writeFileSync(join(home, '.gitconfig'), f.content);
    const env = { ...process.env, HOME: home, GIT_CONFIG_NOSYSTEM: '1', XDG_CONFIG_HOME: join(home, '.config') };
    const resolve = (u: string) => execFileSync('git', ['ls-remote', '--get-url', u], { env, encoding: 'utf8' }).trim();
    for (const u of [
      'ssh://git@git.example.com/org/app.git',
      'ssh://git@git.example.com/org/app',
      'git@git.example.com:org/app.git',
      'git@git.example.com:/org/app.git',
      'git@git.example.com:org/app',
    ]) {
      assert.equal(resolve(u), 'http://bundle:9420/app.git', u);
    }
    assert.equal(resolve('https://gitlab.example.com/org/web.git'), 'http://bundle:9420/web.git');
    assert.equal(resolve('https://gitlab.example.com/org/web'), 'http://bundle:9420/web.git');
    assert.equal(resolve('git@elsewhere.example.com:org/app.git'), 'git@elsewhere.example.com:org/app.git', 'other remotes untouched');
    const git = (k: string) => execFileSync('git', ['config', '--global', k], { env, encoding: 'utf8' }).trim();
    assert.equal(git('user.name'), 'Agent "Override"');
    assert.equal(git('user.email'), 'agent@example.invalid');
    assert.equal(git('http.http://bundle:9420/.proxy'), '');
  });

  it('fails early and clearly on what would only fail later', async () => {
    const cases: [Record<string, Partial<GitGateRepo> & { url: string }>, Record<string, string>, RegExp][] = [
      [{ r: { url: 'ssh://git@h/x.git', host_key: HOST_KEY } }, {}, /needs `identity`/],
      [{ r: { url: 'ssh://git@h/x.git', identity: keyFile } }, {}, /needs a pinned `host_key`/],
      [{ r: { url: 'ssh://git@h/x.git', identity: join(dir, 'missing'), host_key: HOST_KEY } }, {}, /cannot read the identity file .*ENOENT/],
      [{ r: { url: 'https://h/x.git', token_ref: 'NOPE' } }, {}, /token_ref NOPE is not set/],
      [{ r: { url: 'ftp://h/x.git' } }, {}, /only ssh and https/],
    ];
    for (const [repos, env, re] of cases) {
      await assert.rejects(prepareGitGate(input(bottle(repos), agent(), env)), (e: unknown) => e instanceof BottleError && re.test(e.message));
    }
  });
});

describe('git-gate urls and output', () => {
  it('parses every upstream form', () => {
    assert.deepEqual(parseUpstream('git@github.com:org/x.git'), { transport: 'ssh', host: 'github.com', port: undefined, user: 'git', path: 'org/x.git', scpLike: true });
    assert.deepEqual(parseUpstream('ssh://git@h.example:2222/srv/x.git'), { transport: 'ssh', host: 'h.example', port: 2222, user: 'git', path: '/srv/x.git', scpLike: false });
    assert.deepEqual(parseUpstream('https://h.example/org/x.git'), { transport: 'https', host: 'h.example', port: undefined, user: undefined, path: '/org/x.git', scpLike: false });
    assert.throws(() => parseUpstream('https://user:pw@h.example/x.git'), /must not carry a password/);
  });

  it('pins the host key to the upstream host, or keeps a line that names its host', () => {
    const p = parseUpstream('ssh://git@h.example:2222/x.git');
    assert.equal(knownHostsLine(HOST_KEY, p), `[h.example]:2222 ${HOST_KEY}\n`);
    assert.equal(knownHostsLine(`other.example ${HOST_KEY}`, p), `other.example ${HOST_KEY}\n`);
    assert.equal(knownHostsLine(HOST_KEY, parseUpstream('git@h.example:x.git')), `h.example ${HOST_KEY}\n`);
  });

  it('lists the spellings of one repository', () => {
    assert.deepEqual(upstreamSpellings('git@h:org/x.git').sort(), ['git@h:org/x', 'git@h:org/x.git', 'ssh://git@h/org/x', 'ssh://git@h/org/x.git']);
    assert.deepEqual(upstreamSpellings('ssh://git@h:2222/x.git').sort(), ['ssh://git@h:2222/x', 'ssh://git@h:2222/x.git']);
  });

  it('renders git push --porcelain lines', () => {
    assert.equal(porcelainLine(' \tabc:refs/heads/main\t27f6ba8..743a1d8'), 'refs/heads/main: updated 27f6ba8..743a1d8');
    assert.equal(porcelainLine('!\tabc:refs/heads/x\t[rejected] (stale info)'), 'refs/heads/x: REJECTED [rejected] (stale info)');
    assert.equal(porcelainLine('*\tabc:refs/tags/v1\t[new tag]'), 'refs/tags/v1: created [new tag]');
    assert.equal(porcelainLine('To ssh://h/x.git'), undefined);
    assert.equal(porcelainLine('Done'), undefined);
  });
});
