/**
 * A bottle on the micro-VM backend through the CLI, as a user runs it: start
 * (the message names the accelerator), exec (exit codes, stdio, the guest's
 * own kernel, the env and its secret), stop --preserve and resume with the
 * workspace kept, a resumed session whose CLI is SIGKILLed, and cleanup
 * leaving no QEMU, container, network or state behind. Three guest boots in
 * all (software emulation is slow here).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { agentSh, CLI, labelled, makeHome, run, waitUntil, type TestHome } from './helpers.js';

const SECRET = 'vm-forwarded-Secret-5e4d3c2b1a';

/** Every process whose command line mentions `text` (QEMU names its guest, its pid file and its sockets there). */
function processesMentioning(text: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(join(dir, d.name)) : d.isFile() ? [join(dir, d.name)] : []));
}

describe('a bottle on the microvm backend', () => {
  let h: TestHome;
  let id = '';
  let startErr = '';

  before(async () => {
    h = makeHome({ TEST_VM_SECRET: SECRET });
    h.writeBottle('vm', `---\nagent_provider:\n  template: shell\nenv:\n  PLAIN_VALUE: visible-literal\n  FORWARDED: "\${TEST_VM_SECRET}"\nruntime: {cpus: 1, memory: 512m, pids: 200}\n---\n`);
    h.writeAgent('vm', '---\nbottle: vm\n---\n');
    const r = await run(['start', 'vm', '--backend', 'microvm', '--detach', '--json'], { env: h.env, cwd: h.cwd });
    if (r.code !== 0) throw new Error(`start --backend microvm failed (${r.code}): ${r.stderr}`);
    id = (JSON.parse(r.stdout) as { identity: string }).identity;
    startErr = r.stderr;
  });

  after(async () => h.cleanup());

  /** Every list status by identity. */
  async function statusOf(identity: string): Promise<string | undefined> {
    return (JSON.parse((await run(['list', '--json'], { env: h.env })).stdout) as { identity: string; status: string }[]).find((b) => b.identity === identity)?.status;
  }

  /** An attached session (`args`) that prints `marker`, then its CLI is SIGKILLed; resolves to what it printed. */
  async function killedSession(args: string[], marker: string): Promise<string> {
    const child = spawn(process.execPath, [CLI, ...args], { env: h.env });
    child.stdin.end();
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise((r) => child.once('exit', r));
    await waitUntil(`the session to print ${marker}`, () => Promise.resolve(out.includes(marker) || child.exitCode !== null), 600_000);
    assert.ok(child.exitCode === null, `the session ended early: ${out}`);
    child.kill('SIGKILL');
    await exited;
    return out;
  }

  /** No QEMU, container, network, state, and exec fails. */
  async function nothingLeftOf(identity: string): Promise<void> {
    assert.deepEqual(processesMentioning(`bot-bottle-${identity}`), [], 'no QEMU left');
    assert.deepEqual(await labelled('ps', identity), []);
    assert.deepEqual(await labelled('network', identity), []);
    assert.equal(existsSync(join(h.home, 'state', identity)), false);
    assert.notEqual((await agentSh(h, identity, 'true')).code, 0, 'exec into a removed bottle fails');
  }

  it('starts a guest with its own kernel; the start message names the accelerator', async () => {
    assert.match(startErr, /a micro-VM with (KVM|software emulation \(TCG)/);
    const listed = JSON.parse((await run(['list', '--json'], { env: h.env })).stdout) as { identity: string; backend: string; status: string; services: Record<string, string> }[];
    const row = listed.find((b) => b.identity === id);
    assert.equal(row?.backend, 'microvm');
    assert.equal(row?.status, 'detached');
    assert.equal(row?.services.agent, 'running');
    assert.equal(row?.services.bundle, 'running');
    assert.equal((await labelled('ps', id)).length, 1, 'the bundle is the only container');
    const r = await agentSh(h, id, 'uname -r');
    assert.equal(r.code, 0, r.stderr);
    assert.notEqual(r.stdout.trim(), release(), 'the guest kernel is not the host kernel');
    assert.match(r.stdout.trim(), /-cloud-amd64$/);
  });

  it('exec passes stdin, stdout, stderr and the exit code; the env holds the literal and the secret', async () => {
    const r = await agentSh(h, id, 'cat; echo err >&2; id -un; pwd; exit 7', 'from stdin\n');
    assert.equal(r.code, 7);
    assert.equal(r.stdout, 'from stdin\nagent\n/workspace\n');
    assert.equal(r.stderr, 'err\n');
    const env = await agentSh(h, id, 'printenv FORWARDED; printenv PLAIN_VALUE; printenv BOT_BOTTLE_IDENTITY');
    assert.equal(env.stdout, `${SECRET}\nvisible-literal\n${id}\n`);
  });

  it('the secret is nowhere on the host but in memory: not in QEMU\'s command line, not in state files', () => {
    const qemu = processesMentioning(`bot-bottle-${id}`);
    assert.ok(qemu.length > 0, 'QEMU runs with the guest name on its command line');
    for (const pid of qemu) {
      assert.ok(!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(SECRET));
      // QEMU outlives the CLI that started it: it must not inherit the host variables bottles forward.
      assert.ok(!readFileSync(`/proc/${pid}/environ`, 'utf8').includes(SECRET), 'QEMU environment');
    }
    // The overlay (every block the guest's system wrote) included; the workspace disk is 32 GiB sparse and the agent wrote nothing there.
    const files = walk(join(h.home, 'state', id)).filter((f) => !f.endsWith('workspace.ext4'));
    assert.ok(files.some((f) => f.endsWith('root.qcow2')));
    for (const f of files) assert.ok(!readFileSync(f).includes(SECRET), `${f} holds no secret`);
  });

  it('stop --preserve powers the guest off and keeps the workspace; resume boots a new guest with it', async () => {
    const work = await agentSh(h, id, 'cd /workspace && echo kept-work > note && git init -q && git add note && git -c user.name=A -c user.email=a@bot-bottle.invalid commit -qm "kept in the guest" && sync');
    assert.equal(work.code, 0, work.stderr);
    const stopped = await run(['stop', id, '--preserve'], { env: h.env });
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.deepEqual(processesMentioning(`bot-bottle-${id}`), [], 'no QEMU left');
    assert.deepEqual(await labelled('ps', id), []);
    const listed = JSON.parse((await run(['list', '--json'], { env: h.env })).stdout) as { identity: string; status: string }[];
    assert.equal(listed.find((b) => b.identity === id)?.status, 'preserved');
    // export reads the kept workspace disk in a throwaway sandbox: no guest boots for it, and the disk is not written.
    const disk = join(h.home, 'state', id, 'agent', 'vm', 'workspace.ext4');
    const diskBefore = statSync(disk).mtimeMs;
    const into = mkdtempSync(join(tmpdir(), 'bb-mvm-export-'));
    try {
      const exported = await run(['export', id, into, '--branch', 'kept', '--json'], { env: h.env });
      assert.equal(exported.code, 0, exported.stderr);
      assert.equal((JSON.parse(exported.stdout) as { commits: number }).commits, 1);
      assert.equal(execFileSync('git', ['-C', into, 'log', '-1', '--format=%s', 'kept'], { encoding: 'utf8' }).trim(), 'kept in the guest');
    } finally {
      rmSync(into, { recursive: true, force: true });
    }
    assert.deepEqual(processesMentioning(`bot-bottle-${id}`), [], 'no guest booted to read it');
    assert.equal(statSync(disk).mtimeMs, diskBefore, 'the kept disk was not written');

    // Resumed as an attached session whose CLI then dies: a resumed bottle stays preserved (its work is never cleanup's to take).
    const resumed = await killedSession(['resume', id, '--prompt', 'cat /workspace/note; sleep 600'], 'kept-work');
    assert.ok(processesMentioning(`bot-bottle-${id}`).length > 0, 'the killed session left its guest running');
    assert.equal(await statusOf(id), 'preserved', resumed);
    assert.equal((await run(['cleanup', '--yes'], { env: h.env })).code, 0);
    assert.ok(processesMentioning(`bot-bottle-${id}`).length > 0, 'cleanup leaves a preserved bottle running');
    const stoppedAgain = await run(['stop', id], { env: h.env });
    assert.equal(stoppedAgain.code, 0, stoppedAgain.stderr);
    await nothingLeftOf(id);
  });

  it('a session whose CLI is SIGKILLed leaves an orphan; cleanup removes its QEMU and everything else', async () => {
    const out = await killedSession(['start', 'vm', '--backend', 'microvm', '--prompt', 'echo session-up; sleep 600'], 'session-up');
    const listed = JSON.parse((await run(['list', '--json'], { env: h.env })).stdout) as { identity: string; status: string; backend: string }[];
    const row = listed.find((b) => b.status === 'orphan' && b.backend === 'microvm');
    assert.ok(row, `an orphan is listed: ${JSON.stringify(listed)}; the session printed: ${out}`);
    assert.ok(processesMentioning(`bot-bottle-${row.identity}`).length > 0, 'its guest still runs');
    const cleaned = await run(['cleanup', '--yes', '--json'], { env: h.env });
    assert.equal(cleaned.code, 0, cleaned.stderr);
    assert.ok((JSON.parse(cleaned.stdout) as { removed: string[] }).removed.includes(row.identity));
    await nothingLeftOf(row.identity);
  });
});
