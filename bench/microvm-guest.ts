/**
 * Micro-VM guest figures on this host: QEMU start to "guestd answers on the
 * exec channel" (the bottle's agent-side readiness), first exec round trip,
 * and the memory an idle guest costs the host (QEMU's proportional set size
 * after the guest settles), side by side with the anchor: a bare
 * `docker run` of the same agent image to its first exec. Uses the
 * accelerator the probe chose (software emulation here). Prints numbers;
 * asserts nothing.
 *
 *   node --import tsx bench/microvm-guest.ts [runs=3]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { ensureBaseImage } from '../src/backends/docker/base-image.js';
import { connectEngine } from '../src/backends/docker/engine.js';
import { DockerGuestImages } from '../src/backends/docker/guest-images.js';
import { agentShellRecipe, ensureImage } from '../src/backends/docker/images.js';
import { chooseAccel } from '../src/backends/microvm/accel.js';
import { guestExec } from '../src/backends/microvm/channel.js';
import { bootGuest, ensureGuestd, ensureRootDisk, guestFiles, prepareDisks } from '../src/backends/microvm/guest.js';
import { runningPid, stopQemu } from '../src/backends/microvm/qemu.js';
import { silentProgress } from '../src/progress.js';
import { readSettings } from '../src/settings.js';

const runs = Number(process.argv[2] ?? 3);
const home = mkdtempSync(join(tmpdir(), 'bb-bench-mvm-'));
const settings = readSettings({ ...process.env, BOT_BOTTLE_HOME: home });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

function pssKiB(pid: number): number {
  const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
  return Number(m?.[1] ?? NaN);
}

try {
  const engine = await connectEngine();
  await ensureBaseImage(engine, settings, silentProgress);
  const image = await ensureImage(engine, agentShellRecipe(), silentProgress);
  const images = new DockerGuestImages(settings);
  const [root, guestd, accel] = await Promise.all([ensureRootDisk(home, images, image, silentProgress), ensureGuestd(home, images, silentProgress), chooseAccel(home, silentProgress)]);
  console.log(`accelerator: ${accel.accel} (${accel.reason})`);
  console.log(`load average at start: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  const ready: number[] = [];
  const firstExec: number[] = [];
  const pss: number[] = [];
  for (let i = 0; i < runs; i++) {
    const name = `bot-bottle-bench-${process.pid}-${i}`;
    const files = guestFiles(join(home, `vm${i}`));
    await prepareDisks(files, root.path, { keep: false, owner: '1000:1000' });
    const t0 = Date.now();
    const r = await bootGuest({ home, name, hostname: 'bench', accel: accel.accel, memoryMiB: 512, cpus: 1, guestd, files, owner: '1000:1000', limits: { pids: 1024, memoryBytes: undefined, nanoCpus: undefined }, forwards: [], progress: silentProgress });
    ready.push(r.readyMs);
    const sink = new PassThrough().resume();
    const t1 = Date.now();
    await guestExec(files.runDir, { argv: ['true'], env: {}, user: 'agent', workdir: '/workspace' }, { stdin: undefined, stdout: sink, stderr: sink, tty: false });
    firstExec.push(Date.now() - t1);
    void t0;
    await new Promise((res) => setTimeout(res, 5000));
    const pid = await runningPid(files.runDir, name);
    if (pid) pss.push(pssKiB(pid));
    await stopQemu(files.runDir, name);
  }
  const dockerRuns: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = Date.now();
    const id = execFileSync('docker', ['run', '-d', '--rm', '--network', 'none', image, 'sleep', 'infinity'], { encoding: 'utf8' }).trim();
    execFileSync('docker', ['exec', id, 'true']);
    dockerRuns.push(Date.now() - t0);
    execFileSync('docker', ['rm', '-f', id]);
  }
  console.log(`micro-VM (${accel.accel}) QEMU start -> exec channel ready: median ${median(ready)} ms  (runs: ${ready.join(', ')})`);
  console.log(`micro-VM first exec round trip (true): median ${median(firstExec)} ms  (runs: ${firstExec.join(', ')})`);
  console.log(`micro-VM idle memory (QEMU PSS, 512 MiB guest): median ${Math.round(median(pss) / 1024)} MiB  (runs: ${pss.map((k) => Math.round(k / 1024)).join(', ')} MiB)`);
  console.log(`anchor: docker run + first exec of the same image: median ${median(dockerRuns)} ms  (runs: ${dockerRuns.join(', ')})`);
  rmSync(home, { recursive: true, force: true });
} catch (e) {
  console.error(`bench failed; kept ${home} for its console logs`);
  throw e;
}
