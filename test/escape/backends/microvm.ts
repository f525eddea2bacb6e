/**
 * The escape suite's micro-VM adapter. The bundle is the same container as on
 * Docker (so the bundle's side comes from the Docker adapter); the agent is a
 * QEMU guest: what the host shows of it is QEMU's command line, environment
 * and the guest record, its limits are what the guest kernel enforces on the
 * agent's cgroup, and its address is the guest's own (a per-VM network).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { bottleNames } from '../../../src/backends/docker/names.js';
import { guestExec } from '../../../src/backends/microvm/channel.js';
import { docker } from '../../helpers.js';
import type { EscapeBackend, Limits } from '../backend.js';
import { dockerBackend } from './docker.js';

/** The guest's address in its own user-mode network (every guest has its own). */
const GUEST_ADDRESS = '10.0.2.15';

/** The guest's QEMU: found by the guest name on its command line (read-only: the test signals nothing). */
function qemuOf(identity: string): { pid: number; argv: string[] } {
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (argv.some((a) => a.startsWith(`bot-bottle-${identity},`))) return { pid: Number(p), argv };
  }
  throw new Error(`no QEMU runs for ${identity}`);
}

/** The guest's run folder (exec sockets), from QEMU's -pidfile. */
function runDirOf(identity: string): string {
  const { argv } = qemuOf(identity);
  const pidfile = argv[argv.indexOf('-pidfile') + 1];
  if (!pidfile) throw new Error(`QEMU of ${identity} has no -pidfile`);
  return dirname(pidfile);
}

/** A command in the guest over the exec channel itself (as the agent user): what the guest kernel enforces. */
async function inGuest(identity: string, script: string): Promise<string> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  const code = await guestExec(runDirOf(identity), { argv: ['sh', '-c', script], env: {}, user: 'agent', workdir: '/' }, { stdin: undefined, stdout: out, stderr: out, tty: false });
  if (code !== 0) throw new Error(`${script} in ${identity}: exit ${code}: ${text}`);
  return text;
}

export const microvmBackend: EscapeBackend = {
  ...dockerBackend,
  name: 'microvm',
  // Software emulation (TCG) here: an exec's command runs several times slower than in a container.
  timeScale: 4,
  startArgs: ['--backend', 'microvm'],
  describeAgent(id) {
    const { pid, argv } = qemuOf(id);
    const record = join(dirname(runDirOf(id)), 'guest.json');
    return Promise.resolve([argv.join(' '), readFileSync(`/proc/${pid}/environ`, 'utf8'), readFileSync(record, 'utf8')].join('\n'));
  },
  async agentLimits(id): Promise<Limits> {
    const [pids, memory, cpu] = (await inGuest(id, 'cd /sys/fs/cgroup/agent && cat pids.max memory.max cpu.max')).trim().split('\n');
    const [quota, period] = (cpu ?? '').split(' ');
    const n = (v: string | undefined) => (v === undefined || v === 'max' ? 0 : Number(v));
    return { pids: n(pids), memoryBytes: n(memory), nanoCpus: quota === 'max' ? 0 : Math.round((n(quota) / n(period)) * 1e9) };
  },
  agentAddresses: () => Promise.resolve([GUEST_ADDRESS]),
  // No agent container: the bundle's image (Debian, with bash) stands outside for the probes.
  outsideImage: (id) => docker(['inspect', '-f', '{{.Config.Image}}', bottleNames(id).bundle]),
};
