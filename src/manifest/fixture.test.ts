/** Real folders on disk for the manifest tests: a bot-bottle home, a user home and a cwd. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readSettings, type Settings } from '../settings.js';

export interface Fixture {
  readonly root: string;
  readonly home: string;
  readonly userHome: string;
  readonly cwd: string;
  readonly settings: Settings;
  /** Writes `text` at `rel` under `root`, creating folders; returns the absolute path. */
  write(rel: string, text: string): string;
  bottle(name: string, frontMatter: string, body?: string): string;
  agent(name: string, frontMatter: string, body?: string): string;
  repoAgent(name: string, frontMatter: string, body?: string): string;
}

const roots: string[] = [];
process.once('exit', () => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

export function fixture(extraEnv: Record<string, string> = {}): Fixture {
  const root = mkdtempSync(join(tmpdir(), 'bb-manifest-'));
  roots.push(root);
  const home = join(root, 'bb-home');
  const userHome = join(root, 'user');
  const cwd = join(root, 'repo');
  for (const d of [home, userHome, cwd]) mkdirSync(d, { recursive: true });
  const settings = readSettings({ BOT_BOTTLE_HOME: home, HOME: userHome, ...extraEnv }, cwd, false);
  const write = (rel: string, text: string): string => {
    const file = join(root, rel);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    return file;
  };
  const md = (fm: string, body = ''): string => `---\n${fm.replace(/^\n/, '')}---\n${body}`;
  return {
    root,
    home,
    userHome,
    cwd,
    settings,
    write,
    bottle: (name, fm, body) => write(`bb-home/bottles/${name}.md`, md(fm, body)),
    agent: (name, fm, body) => write(`bb-home/agents/${name}.md`, md(fm, body)),
    repoAgent: (name, fm, body) => write(`repo/.bot-bottle/agents/${name}.md`, md(fm, body)),
  };
}

/** Runs `fn` and returns the error it throws (failing when it does not). */
export async function caught(fn: () => unknown): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof Error) return e;
    throw new Error(`threw a non-Error: ${String(e)}`);
  }
  throw new Error('expected an error, none was thrown');
}

// The runner also runs this file; its one test checks the fixture itself, and
// only then: each test file that imports the fixture must not re-run it.
const runDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (runDirectly) {
  void test('fixture: settings point at fresh temporary folders', () => {
    const f = fixture({ EXTRA: 'x' });
    assert.equal(f.settings.home, f.home);
    assert.equal(f.settings.userHome, f.userHome);
    assert.equal(f.settings.cwd, f.cwd);
    assert.equal(f.settings.hostEnv.EXTRA, 'x');
    assert.ok(f.bottle('x', 'supervise: true\n').startsWith(f.home));
  });
}
