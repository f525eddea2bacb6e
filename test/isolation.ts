/**
 * From inside the agent, nothing but its own bundle answers: not the host,
 * not another network's container, not another bottle, not external DNS.
 * Each blocked target has a positive control proving it really listens.
 * One suite for every backend: what differs (how the engine or hypervisor
 * shows the agent) comes from the backend's adapter in test/escape/backends/.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { lookup } from 'node:dns/promises';
import { after, before, describe, it } from 'node:test';
import { hostAddresses } from '../src/demo/run.js';
import type { EscapeBackend } from './escape/backend.js';
import { agentSh, docker, makeHome, run, startDetached, type TestHome } from './helpers.js';

const SECRET = 'forwarded-Secret-9f8e7d6c5b4a';
/** Bottle b takes its networks from a pool we name, as a user whose LAN collides with the engine's pools would. */
const POOL = '10.213.0.0/16';

/** Exit 0 only if a TCP connection to ip:port succeeds within 3 s. */
const tcp = (ip: string, port: number) => `timeout 3 bash -c 'echo > /dev/tcp/${ip}/${port}' 2>/dev/null`;

export function isolationSuite(backend: EscapeBackend): void {
  describe(`isolation (${backend.name})`, () => {
    let h: TestHome;
    let a: string;
    let b: string;
    let hostServer: Server;
    let hostPort: number;
    const otherNet = `bb-test-other-${process.pid}`;
    const otherCtr = `bb-test-listener-${process.pid}`;
    let otherIp = '';

    before(async () => {
      h = makeHome({ TEST_FORWARDED_SECRET: SECRET });
      h.writeBottle(
        'limited',
        `---
agent_provider:
  template: shell
env:
  PLAIN_VALUE: visible-literal
  FORWARDED: "\${TEST_FORWARDED_SECRET}"
runtime:
  cpus: 0.5
  memory: 256m
  pids: 100
---
`,
      );
      h.writeAgent('iso', '---\nbottle: limited\n---\n');
      [a, b] = await Promise.all([startDetached(h, 'iso', backend.startArgs), startDetached({ ...h, env: { ...h.env, BOT_BOTTLE_NETWORK_POOL: POOL } }, 'iso', backend.startArgs)]);
      hostServer = createServer((s) => {
        s.on('error', () => undefined);
        s.end('host\n');
      });
      await new Promise<void>((r) => hostServer.listen(0, '0.0.0.0', r));
      hostPort = (hostServer.address() as { port: number }).port;
      const bundleImage = await docker(['inspect', '-f', '{{.Config.Image}}', `bot-bottle-${a}-bundle`]);
      await docker(['network', 'create', '--label', 'bb-test=1', otherNet]);
      await docker(['run', '-d', '--rm', '--name', otherCtr, '--label', 'bb-test=1', '--network', otherNet, '--entrypoint', 'node', bundleImage, '-e', "require('net').createServer(s=>s.end('hi')).listen(8080)"]);
      otherIp = await docker(['inspect', '-f', `{{(index .NetworkSettings.Networks "${otherNet}").IPAddress}}`, otherCtr]);
    });

    after(async () => {
      hostServer.close();
      await docker(['rm', '-f', otherCtr]).catch(() => undefined);
      await docker(['network', 'rm', otherNet]).catch(() => undefined);
      await h.cleanup();
    });

    it('reaches its own bundle (the positive control)', async () => {
      const r = await agentSh(h, a, 'curl -sS --max-time 5 http://bundle:7070/healthz');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /"ok":true/);
    });

    it('takes its networks from BOT_BOTTLE_NETWORK_POOL when one is named: a /28 each, and it still reaches its bundle', async () => {
      for (const kind of ['internal', 'egress']) {
        const subnet = await docker(['network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Subnet}}{{end}}', `bot-bottle-${b}-${kind}`]);
        assert.match(subnet, /^10\.213\.\d+\.\d+\/28$/, `${kind} network of b`);
      }
      const r = await agentSh(h, b, 'curl -sS --max-time 5 http://bundle:7070/healthz');
      assert.equal(r.code, 0, r.stderr);
    });

    it('cannot reach a server on the host bridge addresses', async () => {
      const addrs = hostAddresses();
      assert.ok(addrs.length > 0, 'the host has Docker bridge addresses');
      // Control: a container on the default bridge does reach the host server.
      const image = await backend.outsideImage(a);
      const gw = (await docker(['network', 'inspect', 'bridge', '-f', '{{index .Options "com.docker.network.bridge.name"}}'])) === 'docker0' ? addrs.find((ip) => ip.startsWith('172.17.')) : undefined;
      assert.ok(gw, `docker0's address among ${addrs.join(', ')}`);
      const control = await docker(['run', '--rm', '--network', 'bridge', '--entrypoint', 'bash', image, '-c', `${tcp(gw, hostPort)} && echo reached`]);
      assert.equal(control, 'reached');
      for (const ip of addrs) {
        const r = await agentSh(h, a, `${tcp(ip, hostPort)} && echo reached || echo blocked`);
        assert.equal(r.stdout.trim(), 'blocked', `host ${ip}:${hostPort} must be unreachable`);
      }
    });

    it('cannot reach a container on another network', async () => {
      assert.match(otherIp, /^\d+\.\d+\.\d+\.\d+$/);
      const control = await docker(['exec', otherCtr, 'node', '-e', `require('net').connect(8080,'${otherIp}',()=>{console.log('reached');process.exit(0)})`]);
      assert.equal(control, 'reached');
      const r = await agentSh(h, a, `${tcp(otherIp, 8080)} && echo reached || echo blocked`);
      assert.equal(r.stdout.trim(), 'blocked');
    });

    it("cannot reach another bottle's agent or bundle", async () => {
      const ipsOf = async (ctr: string) => (await docker(['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}', ctr])).split(' ').filter(Boolean);
      const bBundle = await ipsOf(`bot-bottle-${b}-bundle`);
      const bAgent = await backend.agentAddresses(b);
      // A listener in b's agent (perl is in every Debian image), and b reaching its own bundle, are the controls.
      // Perl takes seconds to listen under software emulation with half a CPU: wait for the port, not for a time.
      await agentSh(h, b, `nohup perl -MIO::Socket::INET -e '$s=IO::Socket::INET->new(LocalPort=>9090,Listen=>5,ReuseAddr=>1) or die; while($c=$s->accept){print $c "b\\n"; close $c}' >/dev/null 2>&1 & for i in $(seq 120); do ${tcp('127.0.0.1', 9090)} && break; sleep 0.5; done`);
      assert.equal((await agentSh(h, b, `${tcp('127.0.0.1', 9090)} && echo ok`)).stdout.trim(), 'ok', 'listener in b runs');
      assert.equal((await agentSh(h, b, `${tcp('bundle', 7070)} && echo ok`)).stdout.trim(), 'ok', 'b reaches its own bundle');
      for (const ip of bBundle) assert.equal((await agentSh(h, a, `${tcp(ip, 7070)} && echo reached || echo blocked`)).stdout.trim(), 'blocked', `b's bundle ${ip}`);
      for (const ip of bAgent) assert.equal((await agentSh(h, a, `${tcp(ip, 9090)} && echo reached || echo blocked`)).stdout.trim(), 'blocked', `b's agent ${ip}`);
    });

    it('cannot resolve an external name the host resolves', async () => {
      const name = 'registry.npmjs.org';
      await lookup(name); // control: the host resolves it
      const r = await agentSh(h, a, `timeout 5 getent hosts ${name} && echo resolved || echo unresolved`);
      assert.equal(r.stdout.trim().split('\n').pop(), 'unresolved');
    });

    it('has no Docker socket, no capabilities, no-new-privileges, and the runtime limits', async () => {
      const r = await agentSh(h, a, 'ls /var/run/docker.sock 2>/dev/null; grep -E "^(CapEff|CapBnd|NoNewPrivs)" /proc/self/status; id -u');
      assert.doesNotMatch(r.stdout, /docker\.sock/);
      assert.match(r.stdout, /CapEff:\s+0{16}/);
      assert.match(r.stdout, /CapBnd:\s+0{16}/);
      assert.match(r.stdout, /NoNewPrivs:\s+1/);
      assert.match(r.stdout, /^1000$/m);
      assert.deepEqual(await backend.agentLimits(a), { nanoCpus: 5e8, memoryBytes: 256 * 1024 * 1024, pids: 100 });
    });

    it('forwards a host secret into the agent without it appearing in inspect or state files', async () => {
      const r = await agentSh(h, a, 'printenv FORWARDED; printenv PLAIN_VALUE');
      assert.equal(r.stdout, `${SECRET}\nvisible-literal\n`);
      assert.ok(!(await backend.describeAgent(a)).includes(SECRET), "the engine's view of the agent holds no secret");
      assert.ok(!(await backend.describeBundle(a)).includes(SECRET), "the engine's view of the bundle holds no secret");
      const stateFiles = walk(join(h.home, 'state', a)).filter((f) => !WORKSPACE_DISK.test(f));
      assert.ok(stateFiles.length > 0);
      for (const f of stateFiles) {
        assert.ok(!readFileSync(f).includes(SECRET), `${f} holds no secret`);
        if (f.endsWith('metadata.json') || f.endsWith('bundle.json')) assert.equal(statSync(f).mode & 0o077, 0, `${f} is mode 600`);
      }
      const listed = await run(['list', '--json'], { env: h.env });
      assert.ok(!listed.stdout.includes(SECRET));
    });
  });
}

/** Regular files (sockets have no content to hold a secret). */
function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(join(dir, d.name)) : d.isFile() ? [join(dir, d.name)] : []));
}

/** A micro-VM's workspace disk is sparse and tens of GiB: it holds only what the agent wrote, and this agent wrote nothing. */
const WORKSPACE_DISK = /workspace\.ext4$/;
