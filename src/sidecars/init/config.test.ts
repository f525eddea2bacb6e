import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BundleConfigError, parseBundleConfig } from './config.js';

const good = {
  identity: 'claude-x1y2',
  healthFile: '/run/bot-bottle/health.json',
  services: [
    {
      name: 'heartbeat',
      command: ['node', 'dist/sidecars/init/heartbeat.js', '--port', '7070'],
      env: { A: 'b' },
      restart: 'always',
      readyProbe: { tcpPort: 7070 },
    },
    { name: 'oneshot', command: ['true'], restart: 'never' },
  ],
};

void test('parses a valid config', () => {
  const c = parseBundleConfig(structuredClone(good));
  assert.deepEqual(c, good);
});

void test('rejects bad configs with a one-line message naming the field', () => {
  const svc = good.services[0];
  const cases: Array<[unknown, RegExp]> = [
    [null, /^config: must be a JSON object$/],
    [{ ...good, identity: '' }, /^identity:/],
    [{ ...good, extra: 1 }, /unknown key "extra"/],
    [{ ...good, services: [] }, /^services: must be a non-empty array/],
    [{ ...good, services: [{ ...svc, name: 'Bad Name' }] }, /services\[0\]\.name/],
    [{ ...good, services: [{ ...svc, command: [] }] }, /services\[0\]\.command/],
    [{ ...good, services: [{ ...svc, command: ['x', 3] }] }, /services\[0\]\.command\[1\]/],
    [{ ...good, services: [{ ...svc, restart: 'sometimes' }] }, /services\[0\]\.restart/],
    [{ ...good, services: [{ ...svc, env: { A: 1 } }] }, /services\[0\]\.env\.A/],
    [{ ...good, services: [{ ...svc, readyProbe: { tcpPort: 0 } }] }, /tcpPort/],
    [{ ...good, services: [{ ...svc, readyProbe: { port: 1 } }] }, /unknown key "port"/],
    [{ ...good, services: [{ ...svc, restrat: 'always' }] }, /unknown key "restrat"/],
    [{ ...good, services: [svc, svc] }, /duplicate name "heartbeat"/],
    [{ ...good, healthFile: 5 }, /^healthFile:/],
  ];
  for (const [raw, re] of cases) {
    assert.throws(
      () => parseBundleConfig(raw),
      (err: unknown) => err instanceof BundleConfigError && re.test(err.message) && !err.message.includes('\n'),
      `expected ${String(re)} for ${JSON.stringify(raw)}`,
    );
  }
});
