import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hostNodeCheck, parseVersions } from './doctor-bundle.js';
import { nodeEndOfLife } from '../../providers/versions.js';

void test('the probe output parses into versions; anything else is refused', () => {
  assert.deepEqual(parseVersions('22.23.5 3.5.9\ngit version 2.39.5\nOpenSSH_9.2p1 Debian-2+deb12u10, OpenSSL 3.0.20 7 Apr 2026\n'), {
    node: '22.23.5',
    openssl: '3.5.9',
    git: '2.39.5',
    ssh: 'OpenSSH_9.2p1',
  });
  assert.throws(() => parseVersions('sh: node: not found\n'));
  assert.throws(() => parseVersions('22.23.5 3.5.9\ngit version 2.39.5\n'));
});

void test('end of life by Node major: 18 and 20 are past it today, 22 and 24 are not', () => {
  const today = new Date('2026-12-02T00:00:00Z');
  assert.equal(nodeEndOfLife('v18.19.0'), '2025-04-30');
  assert.equal(nodeEndOfLife('99.0.0'), undefined);
  const check = (v: string) => hostNodeCheck(today, v);
  assert.equal(check('20.20.2').ok, false);
  assert.match(check('20.20.2').detail, /reached end of life on 2026-04-30/);
  assert.equal(check('22.23.5').ok, true);
  assert.equal(check('24.1.0').ok, true);
  assert.equal(check('23.0.0').ok, false);
});
