import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManifestError } from '../errors.js';
import { caught, fixture } from './fixture.test.js';
import { loadBottle } from './index.js';
import { parseHostPort, parseMemory } from './rules.js';

/** Loads a one-off bottle and returns its error message. */
async function problem(frontMatter: string): Promise<string> {
  const f = fixture();
  f.bottle('b', frontMatter);
  const e = await caught(() => loadBottle(f.settings, 'b'));
  assert.ok(e instanceof ManifestError, e.message);
  return e.userMessage;
}

void test('runtime memory accepts sizes and byte counts', async () => {
  assert.equal(parseMemory('512m'), 512 * 1024 ** 2);
  assert.equal(parseMemory('2g'), 2 * 1024 ** 3);
  assert.equal(parseMemory('2G'), 2 * 1024 ** 3);
  assert.equal(parseMemory('1.5GiB'), 1.5 * 1024 ** 3);
  assert.equal(parseMemory('6144k'), 6 * 1024 ** 2);
  assert.equal(parseMemory('8388608'), 8388608);
  assert.equal(parseMemory(8388608), 8388608);
  for (const bad of ['lots', '2x', '-1g', '0', '', 0, -5, 1.5]) assert.equal(typeof parseMemory(bad), 'string', String(bad));
  // The engine's floor is 6 MiB; past a safe integer no machine has it: both say so.
  assert.match(String(parseMemory(1)), /at least 6m/);
  assert.match(String(parseMemory('64k')), /at least 6m/);
  assert.match(String(parseMemory('999999t')), /larger than any machine/);

  const f = fixture();
  f.bottle('mem', 'runtime: {memory: 268435456, cpus: 0.5, pids: 100}\n');
  assert.deepEqual((await loadBottle(f.settings, 'mem')).runtime, { cpus: 0.5, memory: 268435456, pids: 100 });
  assert.match(await problem('runtime:\n  memory: 2x\n'), /:3: runtime\.memory: must be a size like `512m`/);
  assert.match(await problem('runtime:\n  cpus: 0\n'), /:3: runtime\.cpus: must be at least 0\.01/);
  // Docker refuses more CPUs than the host has (at launch, naming no file): refused here instead.
  assert.match(await problem('runtime:\n  cpus: 100000\n'), /:3: runtime\.cpus: this host has [0-9]+ CPUs?: at most [0-9]+/);
  assert.match(await problem('runtime:\n  memory: 1\n'), /:3: runtime\.memory: must be at least 6m/);
  assert.match(await problem('runtime:\n  memory: 999999t\n'), /:3: runtime\.memory: is larger than any machine has/);
  assert.match(await problem('runtime:\n  pids: 1.5\n'), /:3: runtime\.pids: expected a whole number, got a fraction/);
});

void test('a regex that does not compile is an error at its line', async () => {
  const msg = await problem(
    'egress:\n  routes:\n    - host: a.example\n      matches:\n        - paths:\n            - {type: regex, value: "/api/(v1"}\n',
  );
  assert.match(msg, /:7: egress\.routes\[0\]\.matches\[0\]\.paths\[0\]\.value: regex does not compile: missing closing \)$/);
  const header = await problem(
    'egress:\n  routes:\n    - host: a.example\n      matches: [{headers: [{name: X-A, type: regex, value: "[z-a]"}]}]\n',
  );
  assert.match(header, /headers\[0\]\.value: regex does not compile/);
  assert.match(await problem('egress:\n  routes:\n    - host: a.example\n      matches: [{paths: [{value: api}]}]\n'), /a path starts with `\/`/);
});

void test('an enum typo gets a hint', async () => {
  const msg = await problem('egress:\n  routes:\n    - host: a.example\n      dlp: {on_match: blok}\n');
  assert.match(msg, /:5: egress\.routes\[0\]\.dlp\.on_match: expected one of supervise, redact, block; did you mean `block`\?/);
});

void test('egress hosts: a scheme, path, IP or wildcard is refused with a reason', async () => {
  assert.match(
    await problem('egress:\n  routes:\n    - host: https://api.github.com\n'),
    /:4: egress\.routes\[0\]\.host: must be a host name, not a URL: drop the scheme/,
  );
  assert.equal(typeof parseHostPort('api.github.com/repos'), 'string');
  assert.match(parseHostPort('api.github.com/repos') as string, /without a path/);
  assert.match(parseHostPort('*.github.com') as string, /wildcards/);
  assert.match(parseHostPort('10.0.0.1') as string, /IP addresses/);
  assert.match(parseHostPort('10.0.0.1:8080') as string, /IP addresses/);
  assert.match(parseHostPort('[::1]:443') as string, /IP addresses/);
  assert.match(parseHostPort('a.example:99999') as string, /port/);
  assert.match(parseHostPort('user@a.example') as string, /credentials/);
  assert.deepEqual(parseHostPort('API.GitHub.com'), { host: 'api.github.com', port: 443 });
  assert.deepEqual(parseHostPort('localhost:8080'), { host: 'localhost', port: 8080 });
  assert.match(
    await problem('egress:\n  routes:\n    - host: a.example\n    - host: A.example:443\n'),
    /:5: egress\.routes\[1\]\.host: a second route for a\.example:443/,
  );
  assert.match(await problem('egress:\n  hosts: {db.internal: somewhere}\n'), /egress\.hosts\["db\.internal"\]: must be an IP address/);
});

void test('a missing required field is named', async () => {
  assert.match(await problem('egress:\n  routes:\n    - matches: []\n'), /:4: egress\.routes\[0\]\.host: is required: a string/);
});

void test('security rules: token refs are names, never tokens; urls carry no secrets', async () => {
  const token = 'ghp_' + 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8';
  const msg = await problem(`egress:\n  routes:\n    - host: api.github.com\n      auth: {token_ref: ${token}}\n`);
  assert.match(msg, /auth\.token_ref: looks like a credential/);
  assert.ok(!msg.includes(token), 'the token must not be echoed');

  const provider = await problem(`agent_provider: {auth_token: "sk-${'x'.repeat(30)}"}\n`);
  assert.match(provider, /agent_provider\.auth_token: looks like a credential/);
  assert.ok(!provider.includes('xxxxxxxxxx'));

  const literal = await problem(`env:\n  GITHUB_TOKEN: ${token}\n`);
  assert.match(literal, /env\.GITHUB_TOKEN: looks like a credential written into the manifest/);
  assert.ok(!literal.includes(token));

  const url = await problem('git-gate:\n  repos:\n    app: {url: "https://me:hunter2@github.com/me/app.git"}\n');
  assert.match(url, /git-gate\.repos\.app\.url: must not carry a password or token/);
  assert.ok(!url.includes('hunter2'));

  assert.match(
    await problem('git-gate:\n  repos:\n    app: {url: "git@github.com:me/app.git", token_ref: GH}\n'),
    /app\.token_ref: an ssh upstream uses `identity`/,
  );
  assert.match(await problem('git-gate:\n  repos:\n    "..": {url: "git@github.com:me/app.git"}\n'), /:4: git-gate\.repos\["\.\."\]: name must not contain `\.\.`/);
});

void test('env names and values are checked', async () => {
  assert.match(await problem('env:\n  bad-name: x\n'), /:3: env\.bad-name: name must be a variable name/);
  assert.match(await problem('env:\n  X: "${lower-case}"\n'), /env\.X: the forwarded host variable must be a variable name/);
  assert.match(await problem('env:\n  X: "Bearer ${TOKEN}"\n'), /env\.X: only a whole value/);
  assert.match(await problem('env:\n  X: true\n'), /env\.X: expected a string, got boolean \(fix: quote it: "true"\)/);
});

void test('the __proto__ key is refused before validation', async () => {
  assert.match(await problem('env:\n  __proto__: x\n'), /:3: the key `__proto__` is not allowed/);
});

void test('dlp: rule packs must keep credentials; inbound and entropy take their actions', async () => {
  assert.match(await problem('egress:\n  routes:\n    - host: a.example\n      dlp: {rules: [pii]}\n'), /dlp\.rules: credentials cannot be left out/);
  const hold = await problem('egress:\n  routes:\n    - host: a.example\n      dlp: {inbound: {on_match: hold}}\n');
  assert.match(hold, /dlp\.inbound/);
  assert.ok(!hold.includes('\n'), hold);
  const f = fixture();
  f.bottle('inb', 'egress:\n  routes:\n    - host: a.example\n      dlp: {inbound: {on_match: block}}\n    - host: b.example\n      dlp: {inbound: {on_match: supervise}}\n');
  const routes = (await loadBottle(f.settings, 'inb')).egress.routes;
  assert.deepEqual(routes.map((r) => [r.dlp?.inbound, r.dlp?.inbound_on_match]), [[true, 'block'], [true, 'supervise']]);
  assert.match(await problem('egress:\n  routes:\n    - host: a.example\n      dlp: {entropy: always}\n'), /dlp\.entropy/);
});
