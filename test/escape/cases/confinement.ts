/**
 * Container confinement: the agent cannot reach the engine, gain privileges,
 * touch the network stack, or see the host; its resource limits hold.
 */
import { escaped, stopped, type EscapeCase } from '../suite.js';
import { tcp } from './network.js';

/** Run a Python snippet in the agent that prints "ESCAPED <what>" on success. */
const py = (code: string) => `python3 - <<'PY'\n${code}\nPY`;

export const confinementCases: EscapeCase[] = [
  {
    id: 'confinement/engine-socket',
    category: 'confinement',
    attack: "reach the container engine: its socket, or its API on the host's TCP ports 2375/2376",
    expect: 'stopped',
    async run(w) {
      const addrs = await w.backend.hostAddresses();
      const r = await w.sh(`ls -l /var/run/docker.sock /run/docker.sock /run/containerd/containerd.sock 2>/dev/null; ${addrs.map((ip) => `${tcp(ip, 2375, w.secs(3))}; ${tcp(ip, 2376, w.secs(3))}`).join('; ')}`);
      return /docker\.sock|containerd\.sock|reached/.test(r.stdout) ? escaped(r.stdout.trim().split('\n')[0] ?? '') : stopped('no engine socket, no engine port');
    },
  },
  {
    id: 'confinement/capabilities',
    category: 'confinement',
    attack: 'use a Linux capability (effective or bounding set)',
    expect: 'stopped',
    async run(w) {
      const r = await w.sh('grep -E "^(CapEff|CapPrm|CapBnd|CapAmb)" /proc/self/status');
      const sets = r.stdout.trim().split('\n');
      if (sets.length < 4) throw new Error(`control: no capability sets read (${r.stdout})`);
      return sets.every((l) => /\s0{16}$/.test(l)) ? stopped('every capability set is empty') : escaped(sets.join(' '));
    },
  },
  {
    id: 'confinement/setuid-root',
    category: 'confinement',
    attack: 'become root through a setuid binary (su, mount, passwd…) or sudo',
    expect: 'stopped',
    async run(w) {
      const r = await w.sh(`grep NoNewPrivs /proc/self/status; for b in $(find / -xdev -perm -4000 -type f 2>/dev/null); do echo "suid $b"; done; (sudo -n id -u || su -c 'id -u' root </dev/null || true) 2>&1 | grep -x 0 || echo no-root`);
      if (!r.stdout.includes('NoNewPrivs:\t1')) return escaped('no_new_privs is not set');
      return r.stdout.includes('no-root') ? stopped(`no_new_privs set; ${r.stdout.split('\n').filter((l) => l.startsWith('suid')).length} setuid binaries cannot elevate`) : escaped('a command ran as uid 0');
    },
  },
  {
    id: 'confinement/raw-sockets',
    category: 'confinement',
    attack: "open raw and packet sockets (ARP-spoof the bundle's address, forge traffic)",
    expect: 'stopped',
    async run(w) {
      const r = await w.sh(
        py(`import socket
for fam, kind, proto, name in [(socket.AF_PACKET, socket.SOCK_RAW, 0x0003, 'packet'), (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW, 'raw-ip'), (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP, 'raw-icmp')]:
    try:
        socket.socket(fam, kind, proto); print('ESCAPED', name)
    except PermissionError:
        print('denied', name)`),
      );
      if (!r.stdout.includes('denied')) throw new Error(`control: the probe did not run (${r.stderr})`);
      return r.stdout.includes('ESCAPED') ? escaped(r.stdout.trim()) : stopped('packet and raw sockets denied');
    },
  },
  {
    id: 'confinement/network-config',
    category: 'confinement',
    attack: 'add an address or a route, or turn on forwarding, to get onto another network',
    expect: 'stopped',
    async run(w) {
      const r = await w.sh('ip addr add 10.99.0.2/24 dev eth0 2>&1; ip route add 10.98.0.0/16 dev eth0 2>&1; (echo 1 > /proc/sys/net/ipv4/ip_forward) 2>&1; ip -4 addr show dev eth0 | grep -c 10.99.0.2 || true');
      return r.stdout.trim().endsWith('0') ? stopped('address, route and sysctl changes refused') : escaped(r.stdout.trim());
    },
  },
  {
    id: 'confinement/mount',
    category: 'confinement',
    attack: 'mount a file system (proc, tmpfs, the host disk) or unshare into a new user namespace',
    expect: 'stopped',
    async run(w) {
      const r = await w.sh('mkdir -p /tmp/m; mount -t tmpfs none /tmp/m 2>&1 && echo MOUNTED; unshare -Urm true 2>&1 && echo UNSHARED; ls /dev/sd* /dev/vd* /dev/nvme* 2>/dev/null');
      return /MOUNTED|UNSHARED|\/dev\//.test(r.stdout) ? escaped(r.stdout.trim().split('\n').slice(-1)[0] ?? '') : stopped('mount and user namespaces refused; no block devices');
    },
  },
  {
    id: 'confinement/host-state-visible',
    category: 'confinement',
    attack: "find the host's bot-bottle home (state, secrets, other bottles) among the agent's mounts",
    expect: 'stopped',
    async run(w) {
      const r = await w.sh('cat /proc/self/mountinfo');
      if (!r.stdout.includes('/workspace')) throw new Error('control: the workspace mount is not listed');
      return r.stdout.includes(w.h.home) || r.stdout.includes('.bot-bottle') ? escaped('a host state folder is mounted') : stopped('only the workspace volume and the engine\'s own files are mounted');
    },
  },
  {
    id: 'confinement/proxy-ca-key',
    category: 'confinement',
    attack: "find the proxy CA's private key (to mint certificates the agent's tools trust)",
    expect: 'stopped',
    async run(w) {
      // The key lives only in the bundle's tmpfs: take a line of it there, look for it everywhere in the agent.
      const line = (await w.backend.bundleExec(w.id, 'sed -n 2p /tmp/egress-ca/ca-key.pem')).trim();
      if (line.length < 40) throw new Error('control: the CA key was not found in the bundle');
      const r = await w.sh(`grep -rlsF -e '${line}' / --exclude-dir=proc --exclude-dir=sys 2>/dev/null | head -3`);
      return r.stdout.trim() ? escaped(`the CA key is in the agent: ${r.stdout.trim()}`) : stopped('the CA key is nowhere in the agent');
    },
  },
  {
    id: 'confinement/agent-limits',
    category: 'confinement',
    attack: "exhaust the host: more processes, memory or CPU than the bottle's runtime limits",
    expect: 'stopped',
    async run(w) {
      const l = await w.backend.agentLimits(w.id);
      const ok = l.pids === 256 && l.memoryBytes === 512 * 1024 * 1024 && l.nanoCpus === 1e9;
      return ok ? stopped('pids 256, memory 512 MiB, 1 CPU, as the bottle says') : escaped(`limits ${JSON.stringify(l)}`);
    },
  },
  {
    id: 'confinement/bundle-limits',
    category: 'confinement',
    attack: 'exhaust the host through the sidecar bundle (uploads held for DLP, a giant push, thousands of connections): it had no limits of its own',
    expect: 'stopped',
    async run(w) {
      const l = await w.backend.bundleLimits(w.id);
      const ok = l.pids > 0 && l.pids <= 512 && l.memoryBytes > 0 && l.memoryBytes <= 2 * 1024 ** 3 && l.nanoCpus > 0 && l.nanoCpus <= 2e9;
      return ok ? stopped(`pids ${l.pids}, memory ${l.memoryBytes / 1024 ** 2} MiB, ${l.nanoCpus / 1e9} CPU(s)`) : escaped(`bundle limits ${JSON.stringify(l)}`);
    },
  },
];
