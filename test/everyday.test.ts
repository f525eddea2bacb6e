/**
 * Everyday use on the real engine: stop by identity, prefix and --all; the
 * record after teardown (logs, proposals); planning with no terminal and no
 * secrets; and the JSON every scripting command prints, empty or full.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { planBottle, readSettings } from '../src/index.js';
import { BottleState } from '../src/bottle/state.js';
import { MAX_PENDING, ProposalQueue } from '../src/sidecars/supervise/queue.js';
import { homeId, LABEL_HOME } from '../src/backends/docker/engine.js';
import { agentSh, docker, labelled, run, SHELL_AGENT, startDetached, type TestHome, workerHome } from './helpers.js';

/** This home's containers (another test or bottle on the engine is not ours to count). */
const managed = async (home: string) => (await docker(['ps', '-a', '-q', '--filter', `label=${LABEL_HOME}=${homeId(home)}`])).split('\n').filter(Boolean).length;
const stateDirs = (home: string) => (existsSync(join(home, 'state')) ? readdirSync(join(home, 'state')) : []);
const jsonLines = (text: string): unknown[] => text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown);

/** Denied requests from inside the agent: each one is an audit entry of the egress proxy. */
const denied = (n: number) => `for i in $(seq 1 ${n}); do curl -s -o /dev/null --max-time 10 https://denied-$i.test/ || true; done`;

describe('everyday use', () => {
  let h: TestHome;
  before(() => {
    h = workerHome();
  });
  after(async () => h.cleanup());

  it('stop: an unknown identity exits 4; several identities and unique prefixes; ambiguity exits 2; --all keeps preserved bottles', async () => {
    const unknown = await run(['stop', 'nosuch-aaaaaa'], { env: h.env });
    assert.equal(unknown.code, 4, unknown.stderr);
    assert.match(unknown.stderr, /^error: no bottle "nosuch-aaaaaa"$/m);
    assert.doesNotMatch(unknown.stdout, /stopped/);

    const [a, b] = await Promise.all([startDetached(h, 'worker'), startDetached(h, 'worker')]);
    const byPrefix = await run(['exec', a.slice(0, -2), '--', 'sh', '-c', 'echo "$BOT_BOTTLE_IDENTITY"'], { env: h.env });
    assert.equal(byPrefix.stdout.trim(), a, byPrefix.stderr);
    const ambiguous = await run(['exec', 'worker-', '--', 'true'], { env: h.env });
    assert.equal(ambiguous.code, 2);
    assert.match(ambiguous.stderr, /"worker-" matches several bottles: /);

    const several = await run(['stop', a, 'nosuch-bbbbbb', b.slice(0, -1), '--json'], { env: h.env });
    assert.equal(several.code, 4, 'the unknown one fails the command');
    assert.deepEqual((JSON.parse(several.stdout) as { stopped: { identity: string }[] }).stopped.map((s) => s.identity), [a, b], 'the others are stopped');
    assert.deepEqual(await labelled('ps', a), []);
    assert.deepEqual(await labelled('ps', b), []);

    const [c, d] = await Promise.all([startDetached(h, 'worker'), startDetached(h, 'worker')]);
    assert.equal((await run(['stop', d, '--preserve'], { env: h.env })).code, 0);
    const all = await run(['stop', '--all', '-q'], { env: h.env });
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(all.stdout.trim().split('\n'), [c]);
    const listed = JSON.parse((await run(['ls', '--json'], { env: h.env })).stdout) as { identity: string; status: string }[];
    assert.deepEqual(listed.map((l) => [l.identity, l.status]), [[d, 'preserved']], 'a preserved bottle holds work: --all leaves it');
    assert.equal((await run(['rm', d], { env: h.env })).code, 0, 'named, it goes');
    assert.deepEqual(await labelled('volume', d), []);
    const none = await run(['stop', '--all', '--json'], { env: h.env });
    assert.deepEqual(JSON.parse(none.stdout), { stopped: [] });
  });

  it('logs after stop and after a headless session: read from the archive, JSON lines, --tail, --since, empty is no lines', async () => {
    const id = await startDetached(h, 'worker');
    const empty = await run(['logs', id, '--json'], { env: h.env });
    assert.equal(empty.code, 0, empty.stderr);
    assert.equal(empty.stdout, '', 'no entries: no lines');
    assert.equal((await agentSh(h, id, denied(30))).code, 0);
    const live = jsonLines((await run(['logs', id, '--json'], { env: h.env })).stdout) as { source: string; verdict?: string; host?: string }[];
    assert.equal(live.length, 30);
    assert.ok(live.every((e) => e.source === 'egress'));

    assert.equal((await run(['stop', id], { env: h.env })).code, 0);
    assert.equal(existsSync(join(h.home, 'state', id)), false, 'the state is gone');
    const archived = await run(['logs', id.slice(0, -1), '--json'], { env: h.env });
    assert.equal(archived.code, 0, archived.stderr);
    assert.deepEqual(jsonLines(archived.stdout), live, 'the same record, by prefix, after teardown');
    assert.match(archived.stderr, new RegExp(`${id} was removed at `));
    const text = await run(['logs', id, '--tail', '5'], { env: h.env });
    assert.equal(text.stdout.trim().split('\n').length, 5);
    assert.match(text.stdout, /denied-30\.test/);
    assert.equal((await run(['logs', id, '--since', '1h', '--json'], { env: h.env })).stdout.trim().split('\n').length, 30);
    const future = await run(['logs', id, '--since', '2999-01-01', '--json'], { env: h.env });
    assert.equal(future.code, 0);
    assert.equal(future.stdout, '');
    assert.equal((await run(['logs', id, '--follow'], { env: h.env, timeoutMs: 30_000 })).code, 0, 'following a removed bottle ends');

    const session = await run(['start', 'worker', '--headless', '--prompt', `echo "id=$BOT_BOTTLE_IDENTITY"; ${denied(2)}`], { env: h.env, cwd: h.cwd });
    assert.equal(session.code, 0, session.stderr);
    const sid = /id=(worker-[a-z0-9]+)/.exec(session.stdout)?.[1] ?? '';
    assert.equal(jsonLines((await run(['logs', sid, '--json'], { env: h.env })).stdout).length, 2, 'a headless session leaves its record');
  });

  it('proposals --json is an array, [] when empty, every proposal when many; -q prints ids; the archive keeps them', async () => {
    const none = await run(['proposals', '--json'], { env: h.env });
    assert.equal(none.code, 0);
    assert.deepEqual(JSON.parse(none.stdout), []);
    assert.equal((await run(['proposals', '-q'], { env: h.env })).stdout, '');
    const id = await startDetached(h, 'worker');
    // What the bundle's sidecars do: raise into the bottle's queue.
    const queue = new ProposalQueue(new BottleState(h.home, id).proposalsDir);
    // As many as a bottle may have pending (the queue's cap).
    for (let i = 0; i < MAX_PENDING; i++) {
      await queue.raise({ kind: 'egress-route', bottle: id, raised_by: 'agent', request: { host: `h${i}.test`, port: 443, paths: ['/'], methods: ['GET'] }, summary: `h${i}.test`, why: 'many', needs_reason: false });
    }
    const many = JSON.parse((await run(['proposals', '--json'], { env: h.env })).stdout) as { id: string; identity: string; created_at: string }[];
    assert.equal(many.length, MAX_PENDING);
    assert.ok(many.every((p) => p.identity === id && typeof p.created_at === 'string'));
    assert.equal((await run(['proposals', '-q'], { env: h.env })).stdout.trim().split('\n').length, MAX_PENDING);
    assert.equal((await run(['stop', id], { env: h.env })).code, 0);
    assert.deepEqual(JSON.parse((await run(['proposals', '--json'], { env: h.env })).stdout), [], 'a removed bottle has nothing pending');
    assert.equal(readdirSync(join(h.home, 'archive', id, 'supervise', 'queue')).length, MAX_PENDING, 'its proposals are archived');
  });

  it('--dry-run, validate and the library plan with no terminal and unset variables: the needs are reported, nothing is created', async () => {
    h.writeBottle(
      'needy',
      `---
agent_provider: {template: shell, auth_token: EVERYDAY_UNSET_PROVIDER}
env:
  TYPED: "?Type it"
  FORWARDED: "\${EVERYDAY_UNSET_VAR}"
  PLAIN: literal
egress:
  routes:
    - host: api.example.com
      auth: {token_ref: EVERYDAY_UNSET_TOKEN}
git-gate:
  repos:
    app: {url: "git@example.com:me/app.git", identity: /nonexistent/deploy_key, host_key: "example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"}
---
`,
    );
    h.writeAgent('needy-agent', SHELL_AGENT('needy'));
    const before = await managed(h.home);
    const expected = [
      { key: 'env.TYPED', source: 'typed_at_launch', from: 'Type it', available: null, required: true },
      { key: 'env.FORWARDED', source: 'host_variable', from: 'EVERYDAY_UNSET_VAR', available: false, required: true },
      { key: 'egress.routes[api.example.com].auth.token_ref', source: 'host_variable', from: 'EVERYDAY_UNSET_TOKEN', available: false, required: true },
      { key: 'git-gate.repos.app.identity', source: 'file', from: '/nonexistent/deploy_key', available: false, required: true },
      { key: 'agent_provider.auth_token', source: 'host_variable', from: 'EVERYDAY_UNSET_PROVIDER', available: false, required: false },
    ];
    const dry = await run(['start', 'needy-agent', '--dry-run', '--json'], { env: h.env, cwd: h.cwd });
    assert.equal(dry.code, 0, dry.stderr);
    const plan = JSON.parse(dry.stdout) as { dry_run: boolean; needs: unknown; plan: { secret_env: string[] } };
    assert.equal(plan.dry_run, true);
    assert.deepEqual(plan.needs, expected);
    assert.deepEqual(plan.plan.secret_env, ['FORWARDED', 'TYPED']);
    assert.doesNotMatch(dry.stdout, /needed at launch/, 'placeholders never show as values');
    const text = await run(['start', 'needy-agent', '--dry-run'], { env: h.env, cwd: h.cwd });
    assert.match(text.stdout, /env\.FORWARDED: host variable EVERYDAY_UNSET_VAR \(missing\)/);

    const checked = await run(['validate', '--json'], { env: h.env, cwd: h.cwd });
    const v = JSON.parse(checked.stdout) as { ok: boolean; files: { file: string; ok: boolean; needs: unknown }[] };
    assert.equal(checked.code, 0, checked.stdout);
    assert.equal(v.ok, true);
    assert.deepEqual(v.files.find((f) => f.file.endsWith('bottles/needy.md'))?.needs, expected);
    assert.deepEqual(v.files.find((f) => f.file.endsWith('agents/needy-agent.md'))?.needs, expected);

    const settings = readSettings({ ...h.env }, h.cwd, false);
    const lib = await planBottle(settings, { agent: 'needy-agent', bottles: [], backend: 'docker', copyCwd: undefined, label: undefined, color: undefined, identity: undefined, headless: true, prompt: undefined });
    assert.deepEqual(lib.needs, expected);

    assert.equal(await managed(h.home), before, 'no container');
    assert.deepEqual(stateDirs(h.home), [], 'no state');
    const launch = await run(['start', 'needy-agent', '--detach'], { env: h.env, cwd: h.cwd });
    assert.equal(launch.code, 2, 'a real launch still needs them');
    assert.match(launch.stderr, /env\.TYPED needs a value typed at launch/);
  });
});
