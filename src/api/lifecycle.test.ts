// api/ through start, stop, resume, commit and cleanup, against a fake backend
// that holds the contract of bottle/backend.ts (an in-memory "engine"): the
// lifecycle's own decisions (state, metadata, preserve, orphans) without an
// engine. The Docker backend itself is tested against the real engine in test/.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import { withBackends } from '../backends/index.js';
import type { AgentImage, Backend, DoctorCheck, ExecIO, Plan, PrepareInput, RunningBottle } from '../bottle/backend.js';
import type { BottleSpec } from '../bottle/spec.js';
import { BottleState } from '../bottle/state.js';
import { BottleError } from '../errors.js';
import type { ResolvedEnv } from '../manifest/types.js';
import { readSettings, type Settings } from '../settings.js';
import { cleanup, freeze, exec, findOrphans, list, resume, destroy } from './manage.js';
import { runSession, start } from './start.js';

interface FakePlan extends Plan {
  readonly input: PrepareInput;
}
interface FakeBuild {
  readonly token: string;
}
interface EngineBottle {
  services: Record<string, string>;
  createdAt: Date;
}

/** What a fake engine holds, shared by every backend instance the API asks for. */
class FakeEngine {
  readonly bottles = new Map<string, EngineBottle>();
  readonly calls: string[] = [];
  readonly prepared: PrepareInput[] = [];
  readonly launchedEnv: ResolvedEnv[] = [];
  readonly execs: string[][] = [];
  failLaunch: Error | undefined;
  builds = 0;
}

class FakeBackend implements Backend<FakePlan, FakeBuild> {
  readonly name = 'docker' as const;
  constructor(private readonly engine: FakeEngine) {}

  prepare(input: PrepareInput): Promise<FakePlan> {
    this.engine.calls.push(`prepare ${input.identity}`);
    this.engine.prepared.push(input);
    return Promise.resolve(Object.freeze({ backend: 'docker' as const, identity: input.identity, input, describe: () => ({ identity: input.identity, sidecars: input.sidecars.map((s) => s.name) }) }));
  }

  build(plan: FakePlan): Promise<FakeBuild> {
    this.engine.calls.push(`build ${plan.identity}`);
    return Promise.resolve({ token: `built-${plan.identity}-${++this.engine.builds}` });
  }

  launch(plan: FakePlan, built: FakeBuild, env: ResolvedEnv): Promise<void> {
    this.engine.calls.push(`launch ${plan.identity} ${built.token}`);
    // The contract: the sidecars' state folders hold their files before launch.
    for (const s of plan.input.sidecars) for (const f of s.plan.stateFiles) assert.ok(existsSync(join(s.hostDir, f.path)), `${s.name}/${f.path} written before launch`);
    if (this.engine.failLaunch) return Promise.reject(this.engine.failLaunch);
    this.engine.launchedEnv.push(env);
    const prev = this.engine.bottles.get(plan.identity);
    this.engine.bottles.set(plan.identity, { services: { ...prev?.services, agent: 'running', bundle: 'running', 'volume-workspace': 'present' }, createdAt: new Date() });
    return Promise.resolve();
  }

  exec(identity: string, argv: readonly string[], io: ExecIO): Promise<number> {
    this.engine.execs.push([identity, ...argv]);
    if (this.engine.bottles.get(identity)?.services.agent !== 'running') return Promise.reject(new BottleError('not-found', `no running agent container for ${identity}`));
    io.stdout.write(`ran ${argv.join(' ')}\n`);
    return Promise.resolve(0);
  }

  teardown(identity: string, opts: { keepWorkspace: boolean }): Promise<void> {
    this.engine.calls.push(`teardown ${identity}${opts.keepWorkspace ? ' keep' : ''}`);
    if (opts.keepWorkspace && this.engine.bottles.has(identity)) this.engine.bottles.set(identity, { services: { 'volume-workspace': 'present' }, createdAt: new Date() });
    else this.engine.bottles.delete(identity);
    return Promise.resolve();
  }

  list(): Promise<RunningBottle[]> {
    return Promise.resolve([...this.engine.bottles].map(([identity, b]) => ({ identity, backend: 'docker' as const, services: { ...b.services }, createdAt: b.createdAt })));
  }

  commit(identity: string, tag: string): Promise<void> {
    this.engine.calls.push(`commit ${identity} ${tag}`);
    return Promise.resolve();
  }

  doctor(): Promise<DoctorCheck[]> {
    return Promise.resolve([]);
  }
}

const root = mkdtempSync(join(tmpdir(), 'bb-api-'));
after(() => rmSync(root, { recursive: true, force: true }));
let homes = 0;

const BOTTLE = `---
agent_provider:
  template: shell
env:
  GREETING: hello
  API_KEY: "\${HOST_API_KEY}"
egress:
  routes:
    - host: api.example.com
supervise: true
---
`;

function setup(): { settings: Settings; engine: FakeEngine; home: string } {
  const home = join(root, `home${++homes}`);
  mkdirSync(join(home, 'agents'), { recursive: true });
  mkdirSync(join(home, 'bottles'), { recursive: true });
  writeFileSync(join(home, 'agents', 'worker.md'), '---\nbottle: dev\n---\nprompt\n');
  writeFileSync(join(home, 'bottles', 'dev.md'), BOTTLE);
  const engine = new FakeEngine();
  const base = readSettings({ BOT_BOTTLE_HOME: home, HOME: root, HOST_API_KEY: 'sk-host-secret-value' }, root, false);
  return { settings: withBackends(base, { docker: () => new FakeBackend(engine) }), engine, home };
}

const spec = (over: Partial<BottleSpec> = {}): BottleSpec => ({
  agent: 'worker',
  bottles: [],
  backend: 'docker',
  copyCwd: undefined,
  label: 'l',
  color: undefined,
  identity: undefined,
  headless: true,
  prompt: undefined,
  ...over,
});

const sink = (): ExecIO => ({ stdin: undefined, stdout: new PassThrough(), stderr: new PassThrough(), tty: false });

describe('api lifecycle against a fake backend', () => {
  it('a dry run prepares a plan and creates nothing: no state, no build, no launch', async () => {
    const { settings, engine, home } = setup();
    const started = await start(settings, spec(), { dryRun: true });
    assert.equal(started.backend, undefined);
    assert.deepEqual(started.plan.sidecars, ['egress', 'git-gate', 'supervise']);
    assert.deepEqual(engine.calls, [`prepare ${started.identity}`]);
    assert.equal(existsSync(join(home, 'state')), false, 'nothing written under the home');
  });

  it('start: prepare (pure), state written, build returns what launch takes; metadata and listing', async () => {
    const { settings, engine, home } = setup();
    const started = await start(settings, spec(), { detach: true });
    const id = started.identity;
    assert.match(id, /^worker-[a-z2-9]{6}$/);
    assert.deepEqual(engine.calls, [`prepare ${id}`, `build ${id}`, `launch ${id} built-${id}-1`]);
    const input = engine.prepared[0];
    assert.ok(input);
    assert.equal(input.resuming, false);
    assert.equal(input.agentImage.kind, 'recipe');
    assert.deepEqual(input.env.literals, { GREETING: 'hello' });
    assert.deepEqual(engine.launchedEnv[0]?.secrets, { API_KEY: 'sk-host-secret-value' });

    const state = new BottleState(home, id);
    const meta = await state.readMetadata();
    assert.equal(meta.agent, 'worker');
    assert.deepEqual(meta.bottles, ['dev']);
    assert.equal(meta.detached, true);
    assert.equal(statSync(state.metadataFile).mode & 0o777, 0o600);
    assert.equal(statSync(state.dir).mode & 0o777, 0o700);
    // Sidecar state, named by BottleState, written by the caller before launch.
    const egressConfig = readFileSync(state.file('egress', 'config'), 'utf8');
    assert.match(egressConfig, /api\.example\.com/);
    assert.ok(!egressConfig.includes('sk-host-secret-value'), 'no secret in the egress config on disk');
    assert.ok(existsSync(state.proposalsDir));
    const image: AgentImage = input.agentImage;
    assert.equal(readFileSync(state.file('supervise', 'currentDockerfile'), 'utf8'), image.kind === 'recipe' ? image.text : '(a snapshot)');

    const [listed] = await list(settings);
    assert.deepEqual([listed?.identity, listed?.status, listed?.label], [id, 'detached', 'l']);
    assert.equal(await exec(settings, id, ['true'], sink()), 0);
  });

  it('a failed launch leaves no state behind and rethrows the original error', async () => {
    const { settings, engine, home } = setup();
    engine.failLaunch = new BottleError('launch', 'the fake engine refused');
    await assert.rejects(start(settings, spec(), { detach: true }), /the fake engine refused/);
    assert.deepEqual(await list(settings), []);
    assert.equal(existsSync(join(home, 'state', engine.prepared[0]?.identity ?? 'x')), false);
  });

  it('stop removes engine resources and state; it is idempotent', async () => {
    const { settings, engine, home } = setup();
    const { identity } = await start(settings, spec(), { detach: true });
    await destroy(settings, identity);
    assert.equal(existsSync(new BottleState(home, identity).dir), false);
    assert.deepEqual(await list(settings), []);
    await destroy(settings, identity);
    assert.deepEqual(engine.calls.slice(-2), [`teardown ${identity}`, `teardown ${identity}`]);
  });

  it('stop --preserve keeps workspace and state; resume relaunches the same identity', async () => {
    const { settings, engine, home } = setup();
    const { identity } = await start(settings, spec(), { detach: true });
    await destroy(settings, identity, { preserve: true });
    assert.equal((await list(settings))[0]?.status, 'preserved');
    assert.equal(await new BottleState(home, identity).isPreserved(), true);
    await assert.rejects(exec(settings, identity, ['true'], sink()), (e: unknown) => e instanceof BottleError && e.kind === 'not-found');

    engine.calls.length = 0;
    const resumed = await resume(settings, identity, { detach: true, headless: true });
    assert.equal(resumed.identity, identity);
    assert.deepEqual(engine.calls, [`teardown ${identity} keep`, `prepare ${identity}`, `build ${identity}`, `launch ${identity} built-${identity}-2`]);
    assert.equal(engine.prepared.at(-1)?.resuming, true);
    assert.equal(await new BottleState(home, identity).isPreserved(), true, 'a resumed bottle stays preserved: leaving its session keeps it (issue 15)');
    assert.equal((await list(settings))[0]?.status, 'detached');
    await assert.rejects(resume(settings, identity, { detach: true }), /already running/);
  });

  it('a failed resume keeps the state it resumes from', async () => {
    const { settings, engine, home } = setup();
    const { identity } = await start(settings, spec(), { detach: true });
    await destroy(settings, identity, { preserve: true });
    engine.failLaunch = new BottleError('launch', 'no');
    await assert.rejects(resume(settings, identity, { detach: true }), /no/);
    assert.equal((await new BottleState(home, identity).readMetadata()).identity, identity);
  });

  it('commit snapshots and preserves; the next resume boots from the snapshot', async () => {
    const { settings, engine, home } = setup();
    const { identity } = await start(settings, spec(), { detach: true });
    const { image: tag, running } = await freeze(settings, identity);
    assert.equal(running, true);
    assert.match(tag, new RegExp(`^bot-bottle/bottle-${identity}:commit-\\d+$`));
    const state = new BottleState(home, identity);
    assert.equal(readFileSync(state.committedImageFile, 'utf8'), `${tag}\n`);
    assert.equal(await state.isPreserved(), true);
    await destroy(settings, identity, { preserve: true });
    await resume(settings, identity, { detach: true });
    assert.deepEqual(engine.prepared.at(-1)?.agentImage, { kind: 'snapshot', tag, provider: 'shell' });
    // A capability change approved after the commit wins: the newer of the two.
    writeFileSync(state.dockerfile, 'FROM debian:bookworm-slim\nRUN true\n');
    const later = new Date(Date.now() + 5000);
    utimesSync(state.dockerfile, later, later);
    await destroy(settings, identity, { preserve: true });
    await resume(settings, identity, { detach: true });
    const image = engine.prepared.at(-1)?.agentImage;
    assert.equal(image?.kind === 'recipe' ? image.text : image?.kind, 'FROM debian:bookworm-slim\nRUN true\n');
  });

  it('cleanup removes orphans (a dead owner, engine resources without state) and keeps preserved and stopped bottles', async () => {
    const { settings, engine, home } = setup();
    const dead = await start(settings, spec(), {});
    // The CLI that owned this attached session died.
    const deadState = new BottleState(home, dead.identity);
    await deadState.writeMetadata({ ...(await deadState.readMetadata()), owner_pid: 2 ** 22 + 1 });
    const kept = await start(settings, spec(), { detach: true });
    await destroy(settings, kept.identity, { preserve: true });
    const crashed = await start(settings, spec(), { detach: true });
    // The engine restarted: containers stopped without us, the workspace holds work.
    engine.bottles.set(crashed.identity, { services: { agent: 'exited', bundle: 'exited', 'volume-workspace': 'present' }, createdAt: new Date() });
    engine.bottles.set('stray-aaaaaa', { services: { agent: 'running' }, createdAt: new Date() });

    const statuses = Object.fromEntries((await list(settings)).map((b) => [b.identity, b.status]));
    assert.deepEqual(statuses, { [dead.identity]: 'orphan', [kept.identity]: 'preserved', [crashed.identity]: 'stopped', 'stray-aaaaaa': 'orphan' });
    assert.deepEqual((await findOrphans(settings)).map((o) => o.identity).sort(), [dead.identity, 'stray-aaaaaa'].sort());
    const report = await cleanup(settings);
    assert.deepEqual([...report.removed].sort(), [dead.identity, 'stray-aaaaaa'].sort());
    assert.equal(existsSync(deadState.dir), false);
    assert.deepEqual((await list(settings)).map((b) => b.identity).sort(), [crashed.identity, kept.identity].sort());
  });

  it('an attached session runs the prompt, then removes the bottle; a preserved one is kept', async () => {
    const { settings, engine, home } = setup();
    const started = await start(settings, spec({ prompt: 'echo hi' }), {});
    const out = new PassThrough();
    let printed = '';
    out.on('data', (d: Buffer) => (printed += d.toString()));
    const code = await runSession(settings, started, 'echo hi', { stdin: undefined, stdout: out, stderr: new PassThrough(), tty: false });
    assert.equal(code, 0);
    assert.deepEqual(engine.execs.map((e) => e.slice(1)), [['sh', '-c', 'umask 077; cat > /run/bot-bottle/prompt'], ['bash', '/run/bot-bottle/prompt']]);
    assert.match(printed, /ran bash \/run\/bot-bottle\/prompt/);
    assert.equal(existsSync(new BottleState(home, started.identity).dir), false);
    assert.deepEqual(await list(settings), []);

    const second = await start(settings, spec(), {});
    await new BottleState(home, second.identity).markPreserved('test');
    await runSession(settings, second, 'true', { stdin: undefined, stdout: new PassThrough(), stderr: new PassThrough(), tty: false });
    assert.equal((await list(settings))[0]?.status, 'preserved');
  });
});
