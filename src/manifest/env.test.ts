import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BottleError } from '../errors.js';
import { caught, fixture } from './fixture.test.js';
import { loadBottle, parseEnvSource, resolveEnv } from './index.js';
import type { Bottle } from './types.js';

const SECRET = 'hunter2-very-secret-value';
const noAsk = (): Promise<string> => Promise.reject(new Error('must not ask'));

void test('parseEnvSource reads literals, forwards and prompts', () => {
  assert.deepEqual(parseEnvSource('plain'), { kind: 'literal', value: 'plain' });
  assert.deepEqual(parseEnvSource(''), { kind: 'literal', value: '' });
  assert.deepEqual(parseEnvSource('${GH_TOKEN}'), { kind: 'host', variable: 'GH_TOKEN' });
  assert.deepEqual(parseEnvSource('?'), { kind: 'prompt', text: '' });
  assert.deepEqual(parseEnvSource('? Your OTP '), { kind: 'prompt', text: 'Your OTP' });
  for (const bad of ['${}', '${1X}', '${A-B}', 'x${A}', '${A}${B}']) {
    const e = (() => {
      try {
        parseEnvSource(bad);
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    assert.ok(e instanceof BottleError, bad);
  }
});

void test('resolveEnv: literals stay literal, forwards and answers are secrets', async () => {
  const f = fixture();
  f.bottle('env', 'env:\n  MODE: dev\n  TOKEN: "${HOST_TOKEN}"\n  OTP: "?One-time code"\n  PIN: "?"\n');
  const bottle = await loadBottle(f.settings, 'env');
  const asked: [string, string][] = [];
  const env = await resolveEnv(bottle.env, {
    hostEnv: { HOST_TOKEN: SECRET },
    headless: false,
    ask: (name, text) => {
      asked.push([name, text]);
      return Promise.resolve(`typed-${name}`);
    },
  });
  assert.deepEqual(env.literals, { MODE: 'dev' });
  assert.deepEqual(env.secrets, { TOKEN: SECRET, OTP: 'typed-OTP', PIN: 'typed-PIN' });
  assert.deepEqual(asked, [
    ['OTP', 'One-time code'],
    ['PIN', 'Value for PIN'],
  ]);
});

void test('a missing host variable names the variable and the key, never a value', async () => {
  const env: Bottle['env'] = {
    OK: { kind: 'host', variable: 'PRESENT' },
    API: { kind: 'host', variable: 'ABSENT_TOKEN' },
  };
  const e = await caught(() => resolveEnv(env, { hostEnv: { PRESENT: SECRET }, headless: true, ask: noAsk }));
  assert.ok(e instanceof BottleError);
  assert.equal(e.kind, 'usage');
  assert.match(e.message, /env\.API forwards host variable ABSENT_TOKEN, which is not set/);
  assert.ok(!e.userMessage.includes(SECRET));
});

void test('headless mode cannot ask, and says how to forward instead', async () => {
  const env: Bottle['env'] = {
    TOKEN: { kind: 'host', variable: 'T' },
    OTP: { kind: 'prompt', text: 'code' },
  };
  const e = await caught(() => resolveEnv(env, { hostEnv: { T: SECRET }, headless: true, ask: noAsk }));
  assert.ok(e instanceof BottleError);
  assert.equal(e.kind, 'prompt-needed');
  assert.equal(
    e.userMessage,
    'env.OTP needs a value typed at launch; headless mode cannot ask (fix: set it as "${OTP}" forwarded from the host)',
  );
  assert.ok(!e.userMessage.includes(SECRET) && !String(e.stack).includes(SECRET));
});

void test('no error from loading or resolving ever carries a secret value', async () => {
  const f = fixture({ GH_TOKEN: SECRET });
  // A bottle that forwards the secret, then breaks in every way that reaches a message.
  f.bottle('leaky', `env:\n  A: "\${GH_TOKEN}"\n  B: "\${MISSING}"\n  C: "?"\n`);
  const bottle = await loadBottle(f.settings, 'leaky');
  const errors = [
    await caught(() => resolveEnv(bottle.env, { hostEnv: f.settings.hostEnv, headless: false, ask: noAsk })),
    await caught(() => resolveEnv({ C: { kind: 'prompt', text: '' } }, { hostEnv: f.settings.hostEnv, headless: true, ask: noAsk })),
  ];
  f.bottle('typo', `env:\n  A: "\${GH_TOKEN}"\nsupervize: true\n`);
  errors.push(await caught(() => loadBottle(f.settings, 'typo')));
  f.bottle('inline', `env:\n  A: "${SECRET} \${GH_TOKEN}"\n`);
  errors.push(await caught(() => loadBottle(f.settings, 'inline')));
  f.bottle('asref', `agent_provider: {auth_token: "${SECRET}"}\n`);
  errors.push(await caught(() => loadBottle(f.settings, 'asref')));
  for (const e of errors) {
    assert.ok(e instanceof BottleError, e.message);
    assert.ok(!e.userMessage.includes(SECRET), e.userMessage);
  }
});
