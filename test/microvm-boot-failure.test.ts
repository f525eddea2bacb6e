/**
 * A micro-VM boot that fails: the guest's console log (what the error tells
 * the user to read) outlives the bottle's run folder, which a failed start
 * removes. A real guest, given a root disk that is no file system.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { DockerGuestImages } from '../src/backends/docker/guest-images.js';
import { chooseAccel } from '../src/backends/microvm/accel.js';
import { bootGuest, bootLogDir, ensureGuestd, guestFiles, KEPT_BOOT_LOGS, keepBootLog, prepareDisks } from '../src/backends/microvm/guest.js';
import { runningPid } from '../src/backends/microvm/qemu.js';
import { BottleError } from '../src/errors.js';
import { silentProgress } from '../src/progress.js';
import { readSettings } from '../src/settings.js';
import { shareMicrovmCache } from './helpers.js';

void test('a failed boot keeps the console log its error names, and nothing runs', async () => {
  const home = mkdtempSync(join(tmpdir(), 'bb-mvm-fail-'));
  shareMicrovmCache(home);
  const name = `bot-bottle-test-fail-${process.pid}`;
  const files = guestFiles(join(home, 'vm'));
  try {
    const settings = readSettings({ ...process.env, BOT_BOTTLE_HOME: home });
    const [guestd, accel] = await Promise.all([ensureGuestd(home, new DockerGuestImages(settings), silentProgress), chooseAccel(home, silentProgress)]);
    const notAFileSystem = join(home, 'zeros.raw');
    writeFileSync(notAFileSystem, Buffer.alloc(16 * 1024 * 1024));
    await prepareDisks(files, notAFileSystem, { keep: false, owner: '1000:1000' });
    const err = await bootGuest({
      home, name, hostname: 'fail-test', accel: accel.accel, memoryMiB: 512, cpus: 1, guestd, files, owner: '1000:1000',
      limits: { pids: 64, memoryBytes: undefined, nanoCpus: undefined }, forwards: [], progress: silentProgress,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof BottleError, `the boot was expected to fail: ${String(err)}`);
    assert.match(err.message, /powered off during boot; guest console: bot-bottle-init: cannot mount the root file system/);
    assert.equal(await runningPid(files.runDir, name), undefined);
    // The run folder goes with the bottle; the log the error names does not.
    rmSync(files.runDir, { recursive: true, force: true });
    const kept = /read the guest's console log: (\S+)$/.exec(err.fix ?? '')?.[1];
    assert.ok(kept, `the error names no kept log: ${err.fix}`);
    assert.equal(dirname(kept), bootLogDir(home));
    assert.match(readFileSync(kept, 'utf8'), /bot-bottle-init: cannot mount the root file system/);
    assert.equal(statSync(kept).mode & 0o777, 0o600);
  } finally {
    // This guest's kept log, also when the error did not name it (the boot-log folder is the shared cache's).
    for (const f of (existsSync(bootLogDir(home)) ? readdirSync(bootLogDir(home)) : []).filter((n) => n.endsWith(`-${name}.log`))) rmSync(join(bootLogDir(home), f), { force: true });
    rmSync(home, { recursive: true, force: true });
  }
});

void test('only the newest boot logs are kept', async () => {
  const home = mkdtempSync(join(tmpdir(), 'bb-mvm-logs-'));
  try {
    const log = join(home, 'console.log');
    writeFileSync(log, 'booting\n');
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    let last: string | undefined;
    for (let i = 0; i < KEPT_BOOT_LOGS + 5; i++) last = await keepBootLog(home, `g${i}`, log, new Date(t0 + i * 1000));
    const kept = readdirSync(bootLogDir(home)).sort();
    assert.equal(kept.length, KEPT_BOOT_LOGS);
    assert.ok(kept[0]?.endsWith('-g5.log'), kept[0]);
    assert.ok(last && existsSync(last) && last.endsWith(`-g${KEPT_BOOT_LOGS + 4}.log`));
    assert.equal(await keepBootLog(home, 'none', join(home, 'missing.log')), undefined);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
