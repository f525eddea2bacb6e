import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { findDebianMirror } from './debian-mirror.js';

let work: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'bot-bottle-mirror-test-'));
});
after(() => rm(work, { recursive: true, force: true }));

void test('findDebianMirror reads one-line and deb822 apt sources, preferring the Debian archive', async () => {
  const apt = join(work, 'apt');
  await mkdir(join(apt, 'sources.list.d'), { recursive: true });
  assert.equal(await findDebianMirror(apt), 'http://deb.debian.org/debian');
  await writeFile(
    join(apt, 'sources.list.d', 'a-docker.list'),
    '# comment\ndeb [arch=amd64 signed-by=/x.gpg] https://download.docker.com/linux/debian bookworm stable\n',
  );
  await writeFile(
    join(apt, 'sources.list.d', 'debian.sources'),
    [
      'Types: deb',
      'URIs: http://mirror.example/debian-security',
      'Suites: bookworm-security',
      'Components: main',
      '',
      'Types: deb deb-src',
      '# a comment line',
      'URIs: http://mirror.example/debian/',
      'Suites: bookworm bookworm-updates',
      'Components: main contrib',
      '',
    ].join('\n'),
  );
  assert.equal(await findDebianMirror(apt), 'http://mirror.example/debian');
  await writeFile(join(apt, 'sources.list'), 'deb http://first.example/debian bookworm main\n');
  assert.equal(await findDebianMirror(apt), 'http://first.example/debian');
});

