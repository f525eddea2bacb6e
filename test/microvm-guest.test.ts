/**
 * One real micro-VM guest, shared by this file (software emulation is slow):
 * the agent image's disk, our init and guestd, the exec channel, the
 * restricted network and process tracking. The bottle-level tests (sidecar
 * bundle, CLI) are in microvm-bottle.test.ts.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Server as NetServer } from 'node:net';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { ensureBaseImage } from '../src/backends/docker/base-image.js';
import { connectEngine } from '../src/backends/docker/engine.js';
import { DockerGuestImages } from '../src/backends/docker/guest-images.js';
import { agentShellRecipe, ensureImage } from '../src/backends/docker/images.js';
import { chooseAccel } from '../src/backends/microvm/accel.js';
import { frame, guestExec, laneSocket, openPayload } from '../src/backends/microvm/channel.js';
import { bootGuest, ensureGuestd, ensureRootDisk, guestFiles, prepareDisks } from '../src/backends/microvm/guest.js';
import { isOurQemu, runningPid, stopQemu } from '../src/backends/microvm/qemu.js';
import { readSettings } from '../src/settings.js';
import { silentProgress } from '../src/progress.js';
import { relaySocket, startRelays } from '../src/sidecars/vm-relay/relay.js';
import { shareMicrovmCache } from './helpers.js';

const NAME = `bot-bottle-test-guest-${process.pid}`;
let home: string;
let runDir: string;
let hostServer: Server;
let relays: NetServer[] = [];
let port: number;
let relayDir: string;
let kernelRelease: string;

async function sh(script: string, opts: { stdin?: string; user?: string; tty?: { rows: number; cols: number } } = {}): Promise<{ code: number; out: string; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let o = '';
  let e = '';
  out.on('data', (c: Buffer) => (o += c.toString()));
  err.on('data', (c: Buffer) => (e += c.toString()));
  const stdout = opts.tty ? Object.assign(out, { rows: opts.tty.rows, columns: opts.tty.cols }) : out;
  const code = await guestExec(
    runDir,
    { argv: ['sh', '-c', script], env: { PATH: '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin' }, user: opts.user ?? 'agent', workdir: '/workspace' },
    { stdin: opts.stdin === undefined ? undefined : Readable.from([Buffer.from(opts.stdin)]), stdout, stderr: err, tty: opts.tty !== undefined },
  );
  return { code, out: o, err: e };
}

before(async () => {
  home = mkdtempSync(join(tmpdir(), 'bb-mvm-'));
  shareMicrovmCache(home);
  const settings = readSettings({ ...process.env, BOT_BOTTLE_HOME: home });
  const engine = await connectEngine();
  await ensureBaseImage(engine, settings, silentProgress);
  const image = await ensureImage(engine, agentShellRecipe(), silentProgress);
  const images = new DockerGuestImages(settings);
  const [root, guestd, accel] = await Promise.all([ensureRootDisk(home, images, image, silentProgress), ensureGuestd(home, images, silentProgress), chooseAccel(home, silentProgress)]);
  // A stand-in for a bundle service on the host's loopback, reached only through the relay.
  hostServer = createServer((req, res) => res.end(`hello from the bundle side: ${req.url}`));
  await new Promise<void>((r) => hostServer.listen(0, '127.0.0.1', r));
  port = (hostServer.address() as AddressInfo).port;
  relayDir = mkdtempSync(join(tmpdir(), 'bb-mvm-relay-'));
  relays = await startRelays(relayDir, [port]);
  const files = guestFiles(join(home, 'vm'));
  runDir = files.runDir;
  await prepareDisks(files, root.path, { keep: false, owner: '1000:1000' });
  ({ kernelRelease } = await bootGuest({
    home, name: NAME, hostname: 'guest-test', accel: accel.accel, memoryMiB: 512, cpus: 1, guestd, files, owner: '1000:1000', limits: { pids: 1024, memoryBytes: undefined, nanoCpus: undefined },
    forwards: [{ port, command: ['socat', '-', `UNIX-CONNECT:${relaySocket(relayDir, port)}`] }], progress: silentProgress,
  }));
});

after(async () => {
  await stopQemu(runDir, NAME).catch(() => undefined);
  for (const r of relays) r.close();
  hostServer?.close();
  rmSync(home, { recursive: true, force: true });
  if (relayDir) rmSync(relayDir, { recursive: true, force: true });
});

void test('the guest runs its own kernel, not the host one', async () => {
  assert.notEqual(kernelRelease, release());
  const r = await sh('uname -r');
  assert.equal(r.out.trim(), kernelRelease);
});

void test('exec passes stdout, stderr, stdin and the exit code, as the image user', async () => {
  const r = await sh('id -un; echo oops >&2; cat; exit 7', { stdin: 'from the host\n' });
  assert.equal(r.code, 7);
  assert.equal(r.out, 'agent\nfrom the host\n');
  assert.equal(r.err, 'oops\n');
  assert.equal((await sh('exec false')).code, 1);
  assert.equal((await sh('kill -TERM $$')).code, 128 + 15);
  assert.equal((await sh('id -u', { user: 'root' })).out.trim(), '0');
});

void test('exec with a TTY: a terminal of the requested size', async () => {
  const r = await sh('tty; stty size', { tty: { rows: 33, cols: 101 } });
  assert.equal(r.code, 0);
  assert.match(r.out, /\/dev\/pts\/\d+/);
  assert.match(r.out, /33 101/);
});

void test('concurrent execs take separate lanes', async () => {
  const [a, b] = await Promise.all([sh('sleep 1; echo a'), sh('echo b')]);
  assert.equal(a.out, 'a\n');
  assert.equal(b.out, 'b\n');
});

void test('the only network path is the forwarded port; no host, no DNS, no internet', async () => {
  const ok = await sh(`curl -sS --max-time 20 http://bundle:${port}/x`);
  assert.equal(ok.code, 0, ok.err);
  assert.equal(ok.out, 'hello from the bundle side: /x');
  // The host through QEMU's gateway address, on the same port: refused by restrict=on.
  const host = await sh(`curl -sS --max-time 5 http://10.0.2.2:${port}/`);
  assert.notEqual(host.code, 0);
  const dns = await sh('getent hosts deb.debian.org || nslookup deb.debian.org 10.0.2.3');
  assert.notEqual(dns.code, 0, dns.out);
  const out = await sh('curl -sS --max-time 5 http://1.1.1.1/');
  assert.notEqual(out.code, 0);
  const routes = await sh('ip route');
  assert.doesNotMatch(routes.out, /default/);
});

void test('a client that vanishes mid-command does not wedge its lane (a killed CLI)', async () => {
  // Lane 0 by hand, as a CLI that is then killed holds it: its lock, a long command opened; then the
  // connection drops (under load the guest may see the hang-up only after the next client opens the lane).
  const lock = join(runDir, 'exec0.lock');
  writeFileSync(lock, String(process.pid), { flag: 'wx', mode: 0o600 });
  const s = connect(laneSocket(runDir, 0));
  await new Promise<void>((r, j) => s.once('connect', r).once('error', j));
  s.write(frame('O', openPayload({ argv: ['sleep', '607'], env: { PATH: '/usr/bin:/bin' }, user: 'agent', workdir: '/' }, undefined)));
  s.write(frame('C'));
  await waitFor(async () => (await sh('ps -eo args')).out.includes('sleep 607'));
  s.destroy();
  rmSync(lock);
  // The next exec takes lane 0 (the first free one) and runs; the orphaned command is gone.
  const again = await sh('echo again');
  assert.deepEqual([again.code, again.out], [0, 'again\n'], again.err);
  await waitFor(async () => !(await sh('ps -eo args')).out.includes('sleep 607'));
});

async function waitFor(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 120; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.fail('timed out waiting');
}

void test('QEMU is tracked by pid file and command line; stop leaves nothing running', async () => {
  const pid = await runningPid(runDir, NAME);
  assert.ok(pid, 'QEMU runs');
  assert.equal(await isOurQemu(pid, runDir, 'bot-bottle-someone-else'), false, 'another name never matches');
  await stopQemu(runDir, NAME);
  assert.equal(existsSync(`/proc/${pid}`) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(NAME), false);
  assert.equal(await runningPid(runDir, NAME), undefined);
  await stopQemu(runDir, NAME); // idempotent
});
