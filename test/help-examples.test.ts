/**
 * Every example that a command's `--help` shows runs, as a user would type
 * it, in a shell, against a home of its own and the real engine. The
 * examples are read from the CLI itself; each must appear in the plan below,
 * which says in what order they run and what "runs" means for it, so an
 * example added tomorrow fails here until someone has made it run.
 *
 * Placeholders are the only thing changed: an identity such as `dev-k3x9q2`
 * (or the prefix `dev-k3`) becomes this test's bottle (or as long a prefix of
 * it), a proposal id becomes a real proposal. Examples that need what a test
 * must not have (a provider's credentials, a git-gate upstream) are run with
 * `--dry-run` or to the lookup that needs their data, and say why.
 */
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { docker, labelled, makeHome, ROOT, run, type RunResult, type TestHome } from './helpers.js';

const execFileP = promisify(execFile);

/** The example lines of every command's --help (under "Example:" / "Examples:"), by command. */
async function helpExamples(env: NodeJS.ProcessEnv): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const visit = async (cmd: string[]): Promise<void> => {
    const r = await run([...cmd, '--help'], { env });
    assert.equal(r.code, 0, `${cmd.join(' ')} --help: ${r.stderr}`);
    for (const block of r.stdout.matchAll(/^Examples?:\n((?: {2}.*\n?)+)/gm)) {
      for (const line of (block[1] ?? '').split('\n')) if (line.trim()) found.set(line.trim(), cmd.join(' ') || '(top)');
    }
    const listed = r.stdout.split(/^Commands:$/m)[1] ?? '';
    for (const m of listed.matchAll(/^ {2}([a-z][a-z-]*)/gm)) if (m[1] !== 'help') await visit([...cmd, m[1] ?? '']);
  };
  await visit([]);
  return found;
}

/** A free loopback port (for the examples whose fixed port could be taken on a shared machine). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function get(url: string): Promise<number> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, headers: { host: u.host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('every --help example runs', () => {
  let h: TestHome;
  let userHome: string;
  let repo: string;
  let env: NodeJS.ProcessEnv;
  let examples: Map<string, string>;
  const ran = new Set<string>();
  let id = '';

  before(async () => {
    h = makeHome();
    // The examples name `~/.bot-bottle/…`: that is this test's home (so its cleanup finds every bottle left).
    userHome = join(h.home, '..');
    const home = h.home;
    symlinkSync(home, join(userHome, '.bot-bottle'));
    // `dev` as the examples use it: an agent with a shell bottle of its own name, which may ask a human (supervise).
    writeFileSync(join(home, 'bottles', 'dev.md'), '---\nagent_provider:\n  template: shell\nsupervise: true\n---\nThe dev bottle of the --help examples.\n');
    writeFileSync(join(home, 'agents', 'dev.md'), '---\nbottle: dev\n---\nYou are a careful engineer.\n');
    // `claude-dev` as the README writes it.
    writeFileSync(join(home, 'bottles', 'claude-dev.md'), '---\nagent_provider:\n  template: claude\n  auth_token: ANTHROPIC_API_KEY\nsupervise: true\n---\n');
    writeFileSync(join(home, 'agents', 'claude-dev.md'), '---\nbottle: claude-dev\n---\nYou fix failing tests.\n');
    // `bot-bottle` on PATH, as after `npm install -g`: a link to the package's executable, with this Node on PATH.
    const bin = join(userHome, 'bin');
    mkdirSync(bin);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    symlinkSync(join(ROOT, pkg.bin['bot-bottle'] ?? ''), join(bin, 'bot-bottle'));
    // fish makes its completions folder on first start; the example writes into it.
    mkdirSync(join(userHome, '.config', 'fish', 'completions'), { recursive: true });
    env = { ...h.env, HOME: userHome, PATH: `${bin}:${dirname(process.execPath)}:${h.env.PATH ?? ''}`, DISPLAY: undefined, WAYLAND_DISPLAY: undefined };
    // The folder the examples run in: a repository with an origin/main behind HEAD (`scan --range origin/main..HEAD`).
    repo = join(h.cwd, 'project');
    mkdirSync(repo);
    const git = (...a: string[]) => execFileP('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@t', ...a]);
    await git('init', '-q', '-b', 'main');
    writeFileSync(join(repo, 'README.md'), '# project\n');
    await git('add', '.');
    await git('commit', '-qm', 'first');
    await git('update-ref', 'refs/remotes/origin/main', 'HEAD');
    writeFileSync(join(repo, 'notes.txt'), 'a clean change\n');
    await git('add', '.');
    await git('commit', '-qm', 'second');
    examples = await helpExamples(env);
  });

  after(async () => {
    if (id) await run(['stop', id], { env }).catch(() => undefined);
    await h.cleanup();
  });

  /** Every identity this test made, the removed ones too (`logs` takes prefixes of archived bottles). */
  const made: string[] = [];
  /** A prefix of the bottle as long as the placeholder's, longer when another identity shares it. */
  const prefix = (n: number): string => {
    while (n < id.length && made.some((m) => m !== id && m.startsWith(id.slice(0, n)))) n++;
    return id.slice(0, n);
  };
  /** The example with its placeholders made real: identities (and prefixes of them), proposal ids. */
  const real = (line: string, proposal = ''): string =>
    line
      .replace(/\b(?:dev|coder)-[a-z0-9]{2,6}\b/g, (p) => (p.length >= id.length ? id : prefix(p.length)))
      .replace(/\begress-[0-9a-f]{8}\b/g, proposal || '$&');

  function shell(line: string, opts: { input?: string } = {}): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const child = spawn('bash', ['-c', line], { env, cwd: repo, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
      child.stdin.end(opts.input ?? '');
    });
  }

  /** Run one example from the help (it must be there), as written but for its placeholders; exit 0 unless told. */
  async function example(line: string, opts: { code?: number; proposal?: string; as?: string } = {}): Promise<RunResult> {
    assert.ok(examples.has(line), `an example in --help: ${line}`);
    ran.add(line);
    const r = await shell(opts.as ?? real(line, opts.proposal));
    assert.equal(r.code, opts.code ?? 0, `${line}\n${r.stderr}${r.stdout}`);
    return r;
  }

  /** A serving example: runs until it answers, `meanwhile` runs against it, then it is interrupted. */
  async function serving(line: string, ready: (out: string) => Promise<boolean>, opts: { as?: string; meanwhile?: () => Promise<void> } = {}): Promise<void> {
    assert.ok(examples.has(line), `an example in --help: ${line}`);
    ran.add(line);
    const child: ChildProcessWithoutNullStreams = spawn('bash', ['-c', `exec ${opts.as ?? line}`], { env, cwd: repo });
    child.stdin.end();
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
    try {
      const deadline = Date.now() + 120_000;
      while (!(await ready(out).catch(() => false))) {
        assert.ok(child.exitCode === null, `${line} exited (${child.exitCode}): ${out}`);
        assert.ok(Date.now() < deadline, `${line} never got ready: ${out}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      await opts.meanwhile?.();
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  }

  it('checking and planning: validate, --dry-run', async () => {
    await example('bot-bottle validate');
    const v = await example('bot-bottle validate ~/.bot-bottle/bottles/dev.md --json');
    assert.ok(JSON.parse(v.stdout), v.stdout);
    await example('bot-bottle start dev --dry-run');
    // A Claude session needs the provider's credentials and client: planned, not run.
    for (const line of ['bot-bottle start claude-dev --headless --prompt "fix the failing test" --output-format json', 'bot-bottle start claude-dev --cwd . --label "bug 123" --color cyan']) {
      await example(line, { as: `${line} --dry-run` });
    }
    // A guest boot is the micro-VM tests' work (tens of seconds under emulation): planned here.
    const vm = 'bot-bottle start dev --backend microvm --detach';
    const planned = await example(`${vm}   # the agent in a micro-VM with its own kernel`, { as: `${vm} --dry-run` });
    assert.match(planned.stdout, /microvm/, planned.stdout);
  });

  it('a bottle\'s life: start, exec, list, ask, logs, commit, preserve, resume, remove', async () => {
    const headless = await example('bot-bottle start dev --headless --prompt "ls -la /workspace"');
    made.push(...(headless.stderr.match(/\bdev-[a-z0-9]{6}\b/g) ?? []));
    id = (JSON.parse((await example('bot-bottle start dev --detach --json')).stdout) as { identity: string }).identity;
    made.push(id);
    assert.match(id, /^dev-[a-z0-9]{6}$/);
    await example('bot-bottle exec dev-k3x9q2 -- ls -la /workspace');
    assert.equal((await example('echo hello | bot-bottle exec dev-k3x9q2 -- cat')).stdout, 'hello\n');
    assert.match((await example('bot-bottle ls')).stdout, new RegExp(id));
    assert.ok((JSON.parse((await example('bot-bottle list --json')).stdout) as { identity: string }[]).some((b) => b.identity === id));
    assert.equal((await example('bot-bottle ps -q')).stdout.trim(), id);

    // The agent asks; the example approves what it asked.
    const asking = run(['exec', id, '--', 'bottle-ask', 'request-egress', '--host', 'api.example.test', '--port', '443', '--path', '/repos', '--method', 'GET', '--why', 'read the repository list'], { env });
    let proposal = '';
    for (let i = 0; i < 240 && !proposal; i++) {
      proposal = (await run(['proposals', '-q'], { env })).stdout.trim().split('\n')[0] ?? '';
      if (!proposal) await new Promise((r) => setTimeout(r, 500));
    }
    assert.match(proposal, /^egress-[0-9a-f]{8}$/);
    await example('bot-bottle approve egress-1a2b3c4d --note "read-only is fine"', { proposal });
    assert.equal((await asking).code, 0, 'the agent\'s call returned approved');

    assert.ok((await example('bot-bottle logs dev-k3x9q2 --tail 20')).stdout.includes(proposal));
    const lines = (await example('bot-bottle logs dev-k3 --since 1h --json')).stdout.split('\n').filter(Boolean);
    assert.ok(lines.map((l) => JSON.parse(l) as Record<string, unknown>).some((e) => e.id === proposal), 'the decision is in the log');

    const touched = await run(['exec', id, '--', 'touch', '/workspace/kept.txt'], { env });
    assert.equal(touched.code, 0, touched.stderr);
    await example('bot-bottle commit dev-k3x9q2');
    await example('bot-bottle stop dev-k3x9q2 --preserve');
    await example('bot-bottle resume dev-k3x9q2 --detach');
    const preserved = await run(['stop', id, '--preserve'], { env });
    assert.equal(preserved.code, 0, preserved.stderr);
    assert.equal((await example('bot-bottle resume dev-k3 --headless --prompt "ls /workspace"')).stdout, 'kept.txt\n', 'the workspace came back');
    await example('bot-bottle rm dev-k3');
    for (const kind of ['ps', 'network', 'volume'] as const) assert.deepEqual(await labelled(kind, id), [], `rm removed every ${kind}`);
    assert.equal(await docker(['images', '-q', `bot-bottle/bottle-${id}`]), '', 'and the committed image');
    id = '';

    const again = await run(['start', 'dev', '--detach', '--json'], { env, cwd: repo });
    assert.equal(again.code, 0, again.stderr);
    id = (JSON.parse(again.stdout) as { identity: string }).identity;
    await example('bot-bottle stop --all');
    assert.deepEqual(await labelled('ps', id), []);
    id = '';
    await example('bot-bottle cleanup');
    assert.deepEqual(JSON.parse((await example('bot-bottle cleanup --yes --json')).stdout), { removed: [] });
  });

  it('the examples that reach for data a test cannot have get as far as looking it up', async () => {
    // export needs a bottle whose git-gate holds the agent's commits; a DLP hold needs a real secret in a request.
    for (const line of ['bot-bottle export coder-x1y2z3 .', 'bot-bottle export coder-x1y2z3 ../review --branch agent-fix', 'bot-bottle approve dlp-20250101120000-0a1b2c3d --note "test fixture, not a real key"']) {
      const r = await example(line, { code: 4, as: line });
      assert.match(r.stderr, /^error: no (bottle state for coder-x1y2z3|proposal "dlp-)/m, line);
    }
  });

  it('scan, completion', async () => {
    assert.equal((await example('bot-bottle scan --repo . --range origin/main..HEAD --json')).stdout, '');
    await example('eval "$(bot-bottle completion bash)"');
    await example('bot-bottle completion fish > ~/.config/fish/completions/bot-bottle.fish');
    const file = join(userHome, '.config', 'fish', 'completions', 'bot-bottle.fish');
    await execFileP('fish', ['-n', file]);
    assert.match(readFileSync(file, 'utf8'), /complete -c bot-bottle/);
  });

  it('the servers: dashboard, egress serve (and the curl through it)', async () => {
    await serving('bot-bottle dashboard --listen 127.0.0.1:0 --no-open --json', async (out) => {
      const line = out.split('\n')[0] ?? '';
      return out.includes('\n') && (await get((JSON.parse(line) as { url: string }).url)) === 303;
    });
    await serving('bot-bottle dashboard', async (out) => {
      const url = /http:\/\/127\.0\.0\.1:7319\/\?token=\S+/.exec(out)?.[0];
      return url !== undefined && (await get(url)) === 303;
    });

    // A fixed port and a shared /tmp file would collide with another run on this machine: both made private.
    const port = await freePort();
    const ca = join(h.cwd, 'egress-ca.pem');
    const ours = (line: string) => line.replaceAll('127.0.0.1:18080', `127.0.0.1:${port}`).replaceAll('/tmp/egress-ca.pem', ca);
    const serve = 'bot-bottle egress serve --bottle dev --listen 127.0.0.1:18080 --ca-out /tmp/egress-ca.pem';
    const curl = 'curl --proxy http://127.0.0.1:18080 --cacert /tmp/egress-ca.pem https://api.github.com/';
    await serving(serve, (out) => Promise.resolve(/listening on/.test(out) && existsSync(ca)), {
      as: ours(serve),
      meanwhile: async () => {
        // The bottle has no route for api.github.com: the proxy answers (TLS verified with the CA it wrote) and refuses.
        const r = await example(curl, { as: ours(curl) });
        assert.match(r.stdout, /bot-bottle egress denied: GET https:\/\/api\.github\.com\//);
      },
    });
  });

  it('ran every example that --help shows', () => {
    assert.ok(examples.size >= 30, [...examples.keys()].join('\n'));
    assert.deepEqual([...examples.keys()].filter((e) => !ran.has(e)), [], 'examples no test ran: add them to this file');
  });
});
