/**
 * The README as a user follows it: its exit-code table is the code's, its
 * manifests load, and its library example runs against them, unchanged, on
 * the real engine.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ExitCode } from '../src/index.js';
import { labelled, makeHome, ROOT, run, type TestHome } from './helpers.js';

const execFileP = promisify(execFile);
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
/** Runs the TypeScript example as written (types stripped), as a user's ts-node or tsx would. */
const TSX = import.meta.resolve('tsx');

/** The fenced blocks of one language, in order. */
function blocks(lang: string): string[] {
  return [...README.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1] ?? '');
}

describe('the README', () => {
  let h: TestHome;
  let userHome: string;
  before(() => {
    h = makeHome();
    // The README writes ~/.bot-bottle: make that this test's home.
    userHome = join(h.home, '..');
    h.env.BOT_BOTTLE_HOME = join(userHome, '.bot-bottle');
  });
  after(async () => h.cleanup());

  it('its exit-code table is ExitCode, code for code', () => {
    const rows = [...README.matchAll(/^\| ([0-9]+) \| (.+) \|$/gm)].map((m) => Number(m[1]));
    assert.deepEqual(rows.sort((a, b) => a - b), Object.values(ExitCode).sort((a, b) => a - b));
  });

  it('its manifests validate and its library example runs against them', async () => {
    const usingIt = blocks('sh').find((b) => b.includes('cat > ~/.bot-bottle/bottles/dev.md')) ?? '';
    // The part that writes the manifests, exactly as written.
    const setup = usingIt.slice(0, usingIt.indexOf('npx bot-bottle'));
    await execFileP('bash', ['-euc', setup], { env: { ...h.env, HOME: userHome } });
    const env = { ...h.env, HOME: userHome, GITHUB_TOKEN: 'readme-test-token', DEPLOY_KEY: 'readme-test-deploy-key' };
    const v = await run(['validate', '--json'], { env, cwd: h.cwd });
    assert.equal(v.code, 0, v.stdout);
    assert.deepEqual((JSON.parse(v.stdout) as { files: { file: string }[] }).files.map((f) => f.file.replace(`${userHome}/`, '')).sort(), [
      '.bot-bottle/agents/hacker.md',
      '.bot-bottle/bottles/ci.md',
      '.bot-bottle/bottles/dev.md',
    ]);

    const example = blocks('ts').find((b) => b.includes("from 'bot-bottle'")) ?? '';
    const dir = join(userHome, 'orchestrator');
    mkdirSync(join(dir, 'node_modules'), { recursive: true });
    // As an installed dependency: the package's own entry points (dist/), by name.
    symlinkSync(ROOT, join(dir, 'node_modules', 'bot-bottle'));
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
    writeFileSync(join(dir, 'example.ts'), example);
    const r = await execFileP(process.execPath, ['--import', TSX, 'example.ts'], { cwd: dir, env }).catch((e: { stdout?: string; stderr?: string; code?: number }) => {
      assert.fail(`the example failed (${e.code}): ${e.stderr ?? ''}${e.stdout ?? ''}`);
    });
    const id = /hello from (hacker-[a-z0-9]+)/.exec(r.stdout)?.[1] ?? '';
    assert.ok(id, r.stdout);
    assert.match(r.stdout, /exit code 0\narchive\n$/);
    assert.deepEqual(await labelled('ps', id), [], 'destroyed');

    // Without the variables it stops before creating anything, naming them.
    const bare = { ...h.env, HOME: userHome };
    const failed = await execFileP(process.execPath, ['--import', TSX, 'example.ts'], { cwd: dir, env: bare }).then(
      () => assert.fail('started without its secrets'),
      (e: { stderr?: string }) => e.stderr ?? '',
    );
    assert.match(failed, /set first: GITHUB_TOKEN, DEPLOY_KEY/);
  });
});
