import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BundleConfig, ServiceSpec } from './config.js';
import type { BundleHealth, ServiceState } from './health.js';
import { backoffDelay, Supervisor, type SupervisorOptions } from './supervisor.js';

const here = (f: string): string => fileURLToPath(new URL(f, import.meta.url));
const HEARTBEAT = here('./heartbeat.ts');
const SERVE = here('./serve.ts');
const node = process.execPath;

function heartbeat(name: string, port: number): ServiceSpec {
  return {
    name,
    command: [node, '--import', 'tsx', HEARTBEAT, '--port', String(port), '--host', '127.0.0.1'],
    restart: 'always',
    readyProbe: { tcpPort: port },
  };
}

function script(name: string, code: string, restart: ServiceSpec['restart'] = 'always'): ServiceSpec {
  return { name, command: [node, '-e', code], restart };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitFor(what: string, pred: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function tmp(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'bb-init-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function readHealth(file: string): BundleHealth {
  return JSON.parse(readFileSync(file, 'utf8')) as BundleHealth;
}

/** A started supervisor that is always stopped when the test ends. */
function run(t: TestContext, services: ServiceSpec[], opts: SupervisorOptions = {}) {
  const dir = tmp(t);
  const config: BundleConfig = { identity: 'test-abc123', services, healthFile: join(dir, 'health.json') };
  const lines: string[] = [];
  const sup = new Supervisor(config, { log: (l) => lines.push(l), ...opts });
  // Stopped, then its folder removed again: it writes its health file while stopping, after tmp()'s removal ran.
  t.after(() => sup.stop().then(() => rmSync(dir, { recursive: true, force: true })));
  sup.start();
  const svc = (name: string) => {
    const s = sup.health().services[name];
    assert.ok(s, `no service ${name}`);
    return s;
  };
  return { sup, config, dir, lines, svc };
}

void test('backoff doubles from 100 ms and caps at 5 s', () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 10].map((n) => backoffDelay(n)),
    [100, 200, 400, 800, 1600, 3200, 5000, 5000],
  );
});

void test('starts a service, reports ready only once the probe passes, and serves /healthz and /status', async (t) => {
  const port = await freePort();
  const seen: ServiceState[] = [];
  const { sup, config, svc } = run(t, [heartbeat('heartbeat', port)], {
    onChange: (h) => seen.push(h.services.heartbeat?.state ?? 'stopped'),
  });
  await waitFor('ready', () => sup.health().ready);
  assert.deepEqual([...new Set(seen)], ['starting', 'running', 'ready']);
  assert.equal(svc('heartbeat').restarts, 0);

  const file = readHealth(config.healthFile);
  assert.equal(file.ready, true);
  assert.equal(file.identity, 'test-abc123');
  assert.equal(file.pid, process.pid);
  assert.equal(file.services.heartbeat?.pid, svc('heartbeat').pid);

  const hz = await fetch(`http://127.0.0.1:${port}/healthz`);
  assert.deepEqual(await hz.json(), { ok: true, service: 'bundle' });
  const st = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as BundleHealth;
  assert.equal(st.identity, 'test-abc123');
  assert.equal(st.ready, true);
  assert.equal((await fetch(`http://127.0.0.1:${port}/nope`)).status, 404);
});

void test('a service without a probe is ready only after it has stayed up for settleMs', async (t) => {
  const seen: ServiceState[] = [];
  const { sup, svc } = run(t, [script('quiet', 'setInterval(() => {}, 1000)')], {
    settleMs: 300,
    onChange: (h) => seen.push(h.services.quiet?.state ?? 'stopped'),
  });
  await waitFor('running', () => svc('quiet').state === 'running');
  const t0 = Date.now();
  await waitFor('ready', () => sup.health().ready);
  assert.ok(Date.now() - t0 >= 250);
  assert.deepEqual(seen, ['starting', 'running', 'ready']);
});

void test('a killed service is restarted, counted, and becomes ready again', async (t) => {
  const port = await freePort();
  const { sup, svc } = run(t, [heartbeat('heartbeat', port)]);
  await waitFor('ready', () => sup.health().ready);
  const first = svc('heartbeat').pid;
  assert.ok(first !== null);
  process.kill(first, 'SIGKILL');
  await waitFor('restart', () => svc('heartbeat').restarts === 1 && svc('heartbeat').ready);
  const s = svc('heartbeat');
  assert.notEqual(s.pid, first);
  assert.equal(s.lastExit?.signal, 'SIGKILL');
  assert.equal(s.lastExit?.code, null);
  assert.ok(sup.health().ready);
});

void test('a service the kernel killed for memory is reported with the bundle limit', async (t) => {
  const cg = tmp(t);
  writeFileSync(join(cg, 'memory.events'), 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\n');
  writeFileSync(join(cg, 'memory.max'), String(1536 * 1024 * 1024));
  const { svc, lines } = run(t, [script('egress', 'setInterval(() => {}, 1000)')], { cgroup: { root: cg } });
  await waitFor('running', () => svc('egress').pid !== null);
  const pid = svc('egress').pid;
  assert.ok(pid !== null);
  // What the kernel does when the cgroup runs out of memory: count it, then SIGKILL.
  writeFileSync(join(cg, 'memory.events'), 'low 0\nhigh 0\nmax 9\noom 2\noom_kill 1\n');
  process.kill(pid, 'SIGKILL');
  await waitFor('the exit', () => svc('egress').lastExit !== null);
  assert.match(svc('egress').lastExit?.reason ?? '', /memory limit \(1536 MiB\)/);
  assert.ok(lines.some((l) => /\[init\] egress exited \(signal SIGKILL: killed by the kernel: the sidecar bundle hit its memory limit/.test(l)), lines.join('\n'));
});

void test('a service that exits at once backs off instead of spinning', async (t) => {
  const states = new Set<ServiceState>();
  const { svc, lines } = run(t, [script('crashy', 'process.exit(3)')], {
    onChange: (h) => states.add(h.services.crashy?.state ?? 'stopped'),
  });
  await waitFor('3 restarts', () => svc('crashy').restarts >= 3);
  // Each restart waits its turn of the schedule (100, 200, 400 ms): no hot loop, whatever the machine's speed.
  const delays = lines.filter((l) => l.includes('crashy exited') && l.includes('restarting in')).map((l) => Number(/in (\d+) ms/.exec(l)?.[1]));
  assert.deepEqual(delays.slice(0, 3), [100, 200, 400]);
  assert.equal(svc('crashy').lastExit?.code, 3);
  assert.ok(states.has('backoff'));
});

void test('a run longer than resetAfterMs resets the backoff', async (t) => {
  const { svc, lines } = run(t, [script('slowcrash', 'setTimeout(() => process.exit(1), 250)')], {
    backoff: { initialMs: 40, resetAfterMs: 150 },
  });
  await waitFor('3 restarts', () => svc('slowcrash').restarts >= 3);
  const delays = lines.filter((l) => l.includes('restarting in')).map((l) => /in (\d+) ms/.exec(l)?.[1]);
  assert.ok(delays.length >= 3);
  assert.ok(delays.every((d) => d === '40'), `delays: ${delays.join(',')}`);
});

void test('restart "never": exit 0 is stopped, a failure is failed, neither restarts', async (t) => {
  const { svc, lines } = run(t, [script('ok', 'process.exit(0)', 'never'), script('bad', 'process.exit(1)', 'never')]);
  await waitFor('both done', () => svc('ok').state === 'stopped' && svc('bad').state === 'failed');
  // A restart is scheduled (and logged) the moment a process exits: none was.
  assert.equal(svc('ok').restarts + svc('bad').restarts, 0);
  assert.deepEqual(lines.filter((l) => l.includes('restarting in')), []);
  assert.equal(svc('bad').lastExit?.code, 1);
});

void test('a missing executable backs off like a crash', async (t) => {
  const { svc, lines } = run(t, [{ name: 'ghost', command: ['/nonexistent/bin/ghost'], restart: 'always' }]);
  await waitFor('2 restarts', () => svc('ghost').restarts >= 2);
  assert.equal(svc('ghost').ready, false);
  assert.ok(lines.some((l) => l.startsWith('[init] ghost: spawn /nonexistent/bin/ghost ENOENT')));
});

void test('service output is relayed line by line with a [name] prefix', async (t) => {
  const code = 'console.log("one\\ntwo"); console.error("three"); setInterval(() => {}, 1000)';
  const { lines } = run(t, [script('talker', code)]);
  await waitFor('output', () => lines.includes('[talker] three') && lines.includes('[talker] two'));
  assert.ok(lines.includes('[talker] one'));
});

void test('shutdown stops every child, its helpers, and one that ignores SIGTERM', async (t) => {
  const port = await freePort();
  const stubborn = 'process.on("SIGTERM", () => {}); console.log("armed"); setInterval(() => {}, 1000)';
  const parent = `const c = require("child_process").spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" }); console.log("helper " + c.pid); setInterval(() => {}, 1000)`;
  const { sup, config, lines, svc } = run(
    t,
    [heartbeat('heartbeat', port), script('stubborn', stubborn), script('parent', parent)],
    { stopGraceMs: 500 },
  );
  await waitFor('all up', () => sup.health().ready && lines.includes('[stubborn] armed') && lines.some((l) => l.startsWith('[parent] helper ')));
  const pids = ['heartbeat', 'stubborn', 'parent'].map((n) => svc(n).pid);
  const helper = Number(lines.find((l) => l.startsWith('[parent] helper '))?.split(' ')[2]);
  pids.push(helper);
  assert.ok(pids.every((p) => p !== null && alive(p)));

  const t0 = Date.now();
  await sup.stop();
  assert.ok(Date.now() - t0 >= 450, 'waited out the grace period for the stubborn one');
  await waitFor('pids gone', () => pids.every((p) => p !== null && !alive(p)), 3000);
  assert.equal(svc('stubborn').lastExit?.signal, 'SIGKILL');
  assert.equal(svc('heartbeat').lastExit?.code, 0, 'heartbeat exits cleanly on SIGTERM');

  const h = readHealth(config.healthFile);
  assert.equal(h.ready, false);
  for (const s of Object.values(h.services)) {
    assert.equal(s.state, 'stopped');
    assert.equal(s.pid, null);
  }
});

void test('the health file is whole, current JSON after every change', async (t) => {
  const port = await freePort();
  let checks = 0;
  const problems: string[] = [];
  const dir = tmp(t);
  const healthFile = join(dir, 'h', 'health.json'); // parent is created on demand
  const config: BundleConfig = {
    identity: 'test-json',
    healthFile,
    services: [heartbeat('heartbeat', port), script('crashy', 'process.exit(1)')],
  };
  const sup = new Supervisor(config, {
    log: () => undefined,
    onChange: (h) => {
      checks += 1;
      try {
        const disk = readHealth(healthFile);
        for (const [name, s] of Object.entries(h.services)) {
          if (disk.services[name]?.state !== s.state) problems.push(`${name}: ${disk.services[name]?.state} != ${s.state}`);
        }
        if (disk.ready !== h.ready) problems.push('ready differs');
      } catch (err) {
        problems.push(String(err));
      }
    },
  });
  // Stopped, then its folder removed again: it writes its health file while stopping, after tmp()'s removal ran.
  t.after(() => sup.stop().then(() => rmSync(dir, { recursive: true, force: true })));
  sup.start();
  await waitFor('heartbeat ready', () => sup.health().services.heartbeat?.ready === true);
  assert.equal(sup.health().ready, false, 'one service crash-looping means the bundle is not ready');
  await sup.stop();
  assert.ok(checks >= 8, `changes seen: ${checks}`);
  assert.deepEqual(problems, []);
  assert.deepEqual(readdirSync(join(dir, 'h')), ['health.json'], 'no temp files left behind');
});

// serve.ts as the real entry point, the way the bundle runs it.
function serve(env: NodeJS.ProcessEnv) {
  const child = spawn(node, ['--import', 'tsx', SERVE], { env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  return { child, done };
}

void test('serve exits 2 with one stderr line on a bad config', async (t) => {
  const dir = tmp(t);
  const write = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const configs = [
    join(dir, 'missing.json'),
    write('notjson.json', '{\n  "identity": "x",\n  oops\n}'),
    write('invalid.json', JSON.stringify({ identity: 'x', healthFile: join(dir, 'h'), services: [{ name: 'a', command: ['x'], restart: 'sometimes' }] })),
  ];
  const results = await Promise.all(configs.map((c) => serve({ BOT_BOTTLE_BUNDLE_CONFIG: c }).done));
  for (const [i, r] of results.entries()) {
    assert.equal(r.code, 2, `config ${configs[i]}`);
    const errLines = r.stderr.split('\n').filter((l) => l !== '');
    assert.equal(errLines.length, 1, r.stderr);
    assert.match(errLines[0] ?? '', /^bot-bottle init: bad bundle config: /);
  }
  assert.match(results[0]?.stderr ?? '', /ENOENT/);
  assert.match(results[2]?.stderr ?? '', /services\[0\]\.restart/);
});

void test('serve runs the services and exits 0 on SIGTERM with a final health file', async (t) => {
  const dir = tmp(t);
  const port = await freePort();
  const healthFile = join(dir, 'health.json');
  const cfg: BundleConfig = { identity: 'test-serve', healthFile, services: [heartbeat('heartbeat', port)] };
  const cfgPath = join(dir, 'bundle.json');
  writeFileSync(cfgPath, JSON.stringify(cfg));
  const { child, done } = serve({ BOT_BOTTLE_BUNDLE_CONFIG: cfgPath });
  t.after(() => child.kill('SIGKILL'));
  await waitFor('health ready', () => {
    try {
      return readHealth(healthFile).ready;
    } catch {
      return false;
    }
  });
  const hb = readHealth(healthFile).services.heartbeat?.pid ?? null;
  assert.ok(hb !== null && alive(hb));
  const st = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as BundleHealth;
  assert.equal(st.identity, 'test-serve');

  child.kill('SIGTERM');
  const r = await done;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\[heartbeat\] listening on 127\.0\.0\.1:/);
  const h = readHealth(healthFile);
  assert.equal(h.services.heartbeat?.state, 'stopped');
  assert.equal(h.ready, false);
  assert.ok(!alive(hb));
});
