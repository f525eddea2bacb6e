/**
 * The command line's manners: exit codes for every command, colour per
 * stream, shell completion loaded in the real shells.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { CLI, ROOT, run, type TestHome, workerHome } from './helpers.js';

const execFileP = promisify(execFile);
const ESC = '\x1b[';

/** The CLI under `script`: stdout and stderr are terminals unless the shell line redirects one. */
function onTerminal(shellLine: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', shellLine, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.end();
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', () => resolve(out));
  });
}

describe('command-line manners', () => {
  let h: TestHome;
  let bin: string;
  before(() => {
    h = workerHome();
    bin = join(h.cwd, 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'bot-bottle'), `#!/bin/sh\nexec '${process.execPath}' '${CLI}' "$@"\n`);
    chmodSync(join(bin, 'bot-bottle'), 0o755);
    mkdirSync(join(h.home, 'state', 'worker-abcdef'), { recursive: true });
  });
  after(async () => h.cleanup());

  it('every command: a bad flag is exit 2, an unknown identity exit 4; --version is the package version', async () => {
    const help = await run(['--help'], { env: h.env });
    const commands = [...help.stdout.matchAll(/^ {2}([a-z-]+)(?:\|[a-z|]+)? /gm)].map((m) => m[1] ?? '').filter((c) => c !== 'help');
    assert.ok(commands.length >= 20, help.stdout);
    for (const cmd of commands) {
      const r = await run([cmd, '--no-such-flag'], { env: h.env });
      assert.equal(r.code, 2, `${cmd}: ${r.stderr}`);
    }
    for (const args of [['exec', 'nosuch-aaaaaa', '--', 'true'], ['stop', 'nosuch-aaaaaa'], ['rm', 'nosuch-aaaaaa'], ['resume', 'nosuch-aaaaaa'], ['commit', 'nosuch-aaaaaa'], ['logs', 'nosuch-aaaaaa'], ['approve', 'egress-00000000'], ['start', 'nosuch-agent', '--dry-run']]) {
      const r = await run(args, { env: h.env });
      assert.equal(r.code, 4, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('error:')).length, 1, r.stderr);
    }
    const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal((await run(['--version'], { env: h.env })).stdout.trim(), version.version);
  });

  it('scan: 1 when it finds a secret, 0 when clean; validate: 3 for a bad file', async () => {
    const repo = join(h.cwd, 'repo');
    const git = (...a: string[]) => execFileP('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@t', ...a]);
    mkdirSync(repo, { recursive: true });
    await git('init', '-q', '-b', 'main');
    writeFileSync(join(repo, 'a.txt'), 'hello\n');
    await git('add', '.');
    await git('commit', '-qm', 'clean');
    assert.equal((await run(['scan', '--repo', repo, '--all'], { env: h.env })).code, 0);
    writeFileSync(join(repo, 'b.ini'), `aws_access_key_id = AKIA${'QX7RT2WZ'.repeat(2)}\n`);
    await git('add', '.');
    await git('commit', '-qm', 'oops');
    assert.equal((await run(['scan', '--repo', repo, '--all', '--json'], { env: h.env })).code, 1);
    writeFileSync(join(h.cwd, 'bad.md'), '---\nruntime: {cpus: 100000}\n---\n');
    assert.equal((await run(['validate', '--kind', 'bottle', join(h.cwd, 'bad.md')], { env: h.env })).code, 3);
  });

  it('colour is decided per stream; NO_COLOR only when non-empty; FORCE_COLOR honoured', async () => {
    const env = { ...h.env, NO_COLOR: undefined, FORCE_COLOR: undefined };
    const good = join(h.home, 'bottles', 'plain.md');
    const cli = `'${process.execPath}' '${CLI}'`;
    // Piped: no colour, unless forced.
    assert.ok(!(await run(['validate', good], { env })).stdout.includes(ESC));
    assert.ok((await run(['validate', good], { env: { ...env, FORCE_COLOR: '1' } })).stdout.includes(ESC));
    assert.ok(!(await run(['validate', good], { env: { ...env, FORCE_COLOR: '0' } })).stdout.includes(ESC));
    assert.ok(!(await run(['validate', good], { env: { ...env, FORCE_COLOR: '1', NO_COLOR: '1' } })).stdout.includes(ESC));
    // On a terminal: colour, unless NO_COLOR is set to something; an empty NO_COLOR is unset.
    assert.ok((await onTerminal(`${cli} validate ${good}`, env)).includes(ESC));
    assert.ok((await onTerminal(`${cli} validate ${good}`, { ...env, NO_COLOR: '' })).includes(ESC));
    assert.ok(!(await onTerminal(`${cli} validate ${good}`, { ...env, NO_COLOR: '1' })).includes(ESC));
    // Errors follow stderr: red on a terminal even when stdout is a file, plain when stderr is a file.
    const err = await onTerminal(`${cli} stop nosuch-aaaaaa > /dev/null`, env);
    assert.ok(err.includes(`${ESC}31merror:`), JSON.stringify(err));
    const errFile = join(h.cwd, 'err.txt');
    await onTerminal(`${cli} stop nosuch-aaaaaa 2> ${errFile}`, env);
    assert.equal(readFileSync(errFile, 'utf8').split('\n')[0], 'error: no bottle "nosuch-aaaaaa"');
  });

  it('completion: bash, zsh and fish load it and complete commands, options and identities', async () => {
    const env = { ...h.env, PATH: `${bin}:${h.env.PATH ?? ''}` };
    const bash = async (words: string[]): Promise<string[]> => {
      const line = `eval "$(bot-bottle completion bash)"; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _bot_bottle; printf '%s\\n' "\${COMPREPLY[@]}"`;
      return (await execFileP('bash', ['-c', line], { env })).stdout.split('\n').filter(Boolean).sort();
    };
    assert.deepEqual(await bash(['bot-bottle', 'st']), ['start', 'stop']);
    assert.deepEqual(await bash(['bot-bottle', 'logs', 'wor']), ['worker-abcdef']);
    assert.deepEqual(await bash(['bot-bottle', 'start', 'w']), ['worker']);
    assert.ok((await bash(['bot-bottle', 'stop', '--'])).includes('--preserve'));
    assert.deepEqual(await bash(['bot-bottle', 'start', '--bottle', 'pl']), ['plain']);
    assert.deepEqual(await bash(['bot-bottle', 'completion', '']), ['bash', 'fish', 'zsh']);

    const fish = (await execFileP('fish', ['-c', 'bot-bottle completion fish | source; complete -C "bot-bottle st"; complete -C "bot-bottle rm wor"'], { env })).stdout;
    assert.match(fish, /^start\t/m);
    assert.match(fish, /^stop\t/m);
    assert.match(fish, /^worker-abcdef$/m);

    const zsh = await execFileP('zsh', ['-c', 'autoload -U compinit && compinit -u && eval "$(bot-bottle completion zsh)" && print -r -- ${_comps[bot-bottle]}'], { env });
    assert.equal(zsh.stdout.trim(), '_bot_bottle');
  });
});
