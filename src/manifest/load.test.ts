import assert from 'node:assert/strict';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BottleError, ManifestError } from '../errors.js';
import { caught, fixture } from './fixture.test.js';
import { listAgents, listBottles, loadAgent, loadBottle, loadBottlesFor, mergeBottles } from './index.js';

const DEV_BOTTLE = `
env:
  EDITOR: vim
  GITHUB_TOKEN: "\${GH_TOKEN}"
  OTP: "?One-time code"
agent_provider:
  template: claude
  dockerfile: images/Dockerfile
  auth_token: ANTHROPIC_API_KEY
git-gate:
  user: {name: Bot, email: bot@example.com}
  repos:
    app:
      url: git@github.com:me/app.git
      identity: ~/.ssh/id_ed25519
      host_key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl
egress:
  routes:
    - host: API.GitHub.com
      matches:
        - paths: [{type: prefix, value: /repos/me/}, {value: /user}]
          methods: [get, POST]
          headers: [{name: Accept, value: application/json}]
      auth: {token_ref: GH_TOKEN}
    - host: registry.npmjs.org:8443
      dlp: {on_match: supervise, inbound: true}
  hosts:
    db.internal: 10.0.0.5
  ca_certs: [certs/corp.pem]
supervise: true
runtime: {cpus: 1.5, memory: 512m, pids: 256}
`;

void test('a valid agent and bottle load into the resolved model', async () => {
  const f = fixture();
  f.write('bb-home/bottles/images/Dockerfile', 'FROM debian\n');
  f.write('bb-home/bottles/certs/corp.pem', 'pem\n');
  f.write('user/.ssh/id_ed25519', 'key\n');
  const bottleFile = f.bottle('dev', DEV_BOTTLE, '# Dev\n');
  const agentFile = f.agent(
    'coder',
    'bottle: dev\nskills: [review, review, tdd]\ndescription: Writes code\nmodel: opus\ncolor: blue\ntools: Read, Edit\n' +
      'git-gate:\n  user: {name: Me, email: me@example.com}\n',
    '\nYou write code.\n',
  );

  const { agent, warnings } = await loadAgent(f.settings, 'coder');
  assert.deepEqual(warnings, []);
  assert.deepEqual(agent, {
    name: 'coder',
    file: agentFile,
    bottles: ['dev'],
    skills: ['review', 'tdd'],
    git_gate_user: { name: 'Me', email: 'me@example.com' },
    prompt: 'You write code.',
    description: 'Writes code',
  });

  const bottle = await loadBottlesFor(f.settings, agent, []);
  assert.equal(bottle.name, 'dev');
  assert.deepEqual(bottle.files, [bottleFile]);
  assert.deepEqual(bottle.env, {
    EDITOR: { kind: 'literal', value: 'vim' },
    GITHUB_TOKEN: { kind: 'host', variable: 'GH_TOKEN' },
    OTP: { kind: 'prompt', text: 'One-time code' },
  });
  assert.deepEqual(bottle.agent_provider, {
    template: 'claude',
    dockerfile: join(f.home, 'bottles/images/Dockerfile'),
    auth_token: 'ANTHROPIC_API_KEY',
    forward_host_credentials: false,
  });
  assert.deepEqual(bottle.git_gate, {
    user: { name: 'Bot', email: 'bot@example.com' },
    repos: {
      app: {
        url: 'git@github.com:me/app.git',
        identity: join(f.userHome, '.ssh/id_ed25519'),
        host_key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl',
        token_ref: undefined,
      },
    },
  });
  assert.deepEqual(bottle.egress, {
    routes: [
      {
        host: 'api.github.com',
        port: 443,
        matches: [
          {
            paths: [
              { type: 'prefix', value: '/repos/me/' },
              { type: 'prefix', value: '/user' },
            ],
            methods: ['GET', 'POST'],
            headers: [{ name: 'Accept', type: 'exact', value: 'application/json' }],
          },
        ],
        auth: { scheme: 'Bearer', token_ref: 'GH_TOKEN', header: 'Authorization' },
        dlp: { outbound: true, inbound: false, inbound_on_match: 'warn', on_match: 'block', entropy: false, entropy_action: 'warn', rules: ['credentials'] },
      },
      {
        host: 'registry.npmjs.org',
        port: 8443,
        matches: [],
        auth: undefined,
        dlp: { outbound: true, inbound: true, inbound_on_match: 'warn', on_match: 'supervise', entropy: false, entropy_action: 'warn', rules: ['credentials'] },
      },
    ],
    hosts: { 'db.internal': '10.0.0.5' },
    ca_certs: [join(f.home, 'bottles/certs/corp.pem')],
  });
  assert.equal(bottle.supervise, true);
  assert.deepEqual(bottle.runtime, { cpus: 1.5, memory: 512 * 1024 * 1024, pids: 256 });
  assert.equal(bottle.doc, '# Dev\n');

  const { agents } = await listAgents(f.settings);
  assert.deepEqual(agents, [{ name: 'coder', file: agentFile, description: 'Writes code', bottles: ['dev'] }]);
  assert.deepEqual(await listBottles(f.settings), [{ name: 'dev', file: bottleFile }]);
});

void test('a bottle without front matter is refused, not taken for an all-defaults bottle', async () => {
  const f = fixture();
  const file = f.write('bb-home/bottles/bare.md', 'Just documentation, no front matter.\n');
  const e = await caught(() => loadBottle(f.settings, 'bare'));
  assert.ok(e instanceof ManifestError);
  assert.equal(e.file, file);
  assert.match(e.message, /:1: has no front matter/);
});

void test('an empty front matter gets the defaults', async () => {
  const f = fixture();
  f.write('bb-home/bottles/bare.md', '---\n---\nJust documentation, no front matter.\n');
  const b = await loadBottle(f.settings, 'bare');
  assert.equal(b.agent_provider.template, 'shell');
  assert.equal(b.supervise, false);
  assert.deepEqual(b.egress.routes, []);
  assert.deepEqual(b.env, {});
  assert.equal(b.doc, 'Just documentation, no front matter.\n');
});

void test('an unknown key names file, line, key path and the key it was meant to be', async () => {
  const f = fixture();
  const file = f.bottle(
    'typo',
    'egress:\n  routes:\n    - host: api.github.com\n      matchs:\n        - paths: [{value: /x}]\n',
  );
  const e = await caught(() => loadBottle(f.settings, 'typo'));
  assert.ok(e instanceof ManifestError);
  assert.equal(e.message, `${file}:5: egress.routes[0].matchs: unknown key; did you mean \`matches\`?`);
  assert.equal(e.line, 5);
  assert.equal(e.keyPath, 'egress.routes[0].matchs');
  assert.equal(e.exitCode, 3);
});

void test('an unknown top-level key with no near match lists the allowed keys', async () => {
  const f = fixture();
  f.bottle('odd', 'supervise: true\nfrobnicate: 1\n');
  const e = await caught(() => loadBottle(f.settings, 'odd'));
  assert.match(e.message, /:3: frobnicate: unknown key; allowed: extends, env, agent_provider, git-gate, egress/);
});

void test('`git_gate` is a near miss for `git-gate`', async () => {
  const f = fixture();
  f.bottle('underscore', 'git_gate: {}\n');
  const e = await caught(() => loadBottle(f.settings, 'underscore'));
  assert.match(e.message, /:2: git_gate: unknown key; did you mean `git-gate`\?$/);
});

void test('a key of the other kind of file says where it belongs', async () => {
  const f = fixture();
  f.agent('leaky', 'egress: {routes: []}\n');
  f.bottle('confused', 'skills: [x]\n');
  assert.match((await caught(() => loadAgent(f.settings, 'leaky'))).message, /:2: egress: belongs in a bottle/);
  assert.match((await caught(() => loadBottle(f.settings, 'confused'))).message, /:2: skills: belongs in an agent file/);
});

void test('git-gate repos in an agent are refused: they belong in bottles', async () => {
  const f = fixture();
  f.repoAgent('sneaky', 'git-gate:\n  repos:\n    app: {url: "git@evil.example:x.git"}\n');
  const e = await caught(() => loadAgent(f.settings, 'sneaky'));
  assert.ok(e instanceof ManifestError);
  assert.match(e.message, /sneaky\.md:3: git-gate\.repos: repos belong in a bottle/);
});

void test('bad types say what was expected and what was found, at the right line', async () => {
  const f = fixture();
  const file = f.agent('typed', 'description: fine\nskills: 3\n');
  const e = await caught(() => loadAgent(f.settings, 'typed'));
  assert.equal(e.message, `${file}:3: skills: expected a list of strings, got number`);

  f.bottle('num', 'env:\n  PORT: 8080\n');
  const n = await caught(() => loadBottle(f.settings, 'num'));
  assert.ok(n instanceof BottleError);
  assert.match(n.message, /num\.md:3: env\.PORT: expected a string, got number$/);
  assert.equal(n.fix, 'quote it: "8080"');

  f.bottle('flag', 'supervise: "yes"\n');
  assert.match((await caught(() => loadBottle(f.settings, 'flag'))).message, /:2: supervise: expected true or false, got string/);

  f.bottle('empty', 'agent_provider:\n  dockerfile:\n');
  assert.match(
    (await caught(() => loadBottle(f.settings, 'empty'))).message,
    /:3: agent_provider\.dockerfile: expected a string, got an empty value/,
  );

  f.agent('listy', 'bottle: [dev, 7]\n');
  assert.match((await caught(() => loadAgent(f.settings, 'listy'))).message, /:2: bottle\[1\]: expected a string, got number/);
});

void test('YAML syntax errors name the file and line', async () => {
  const f = fixture();
  const file = f.bottle('broken', 'env:\n  A: x\n  A: y\n');
  const e = await caught(() => loadBottle(f.settings, 'broken'));
  assert.ok(e instanceof ManifestError);
  assert.equal(e.file, file);
  assert.equal(e.line, 4);
  assert.match(e.message, /YAML: the key "A" appears twice in one mapping/);
});

void test('extends chains merge base first, child overriding', async () => {
  const f = fixture();
  const base = f.bottle(
    'base',
    `
env: {A: "1", B: "2"}
agent_provider: {template: claude, auth_token: ANTHROPIC_API_KEY}
git-gate:
  user: {name: Base, email: base@example.com}
  repos:
    one: {url: "git@github.com:me/one.git"}
egress:
  routes:
    - host: api.github.com
    - host: pypi.org
  hosts: {a.internal: 10.0.0.1}
supervise: true
runtime: {cpus: 2, memory: 1g}
`,
    'base doc\n',
  );
  const mid = f.bottle('mid', 'extends: base\nenv: {B: "mid"}\negress:\n  routes:\n    - host: example.com\n');
  const top = f.bottle(
    'top',
    `
extends: mid
env: {C: "3"}
git-gate:
  repos:
    two: {url: "https://github.com/me/two.git", token_ref: GH_TOKEN}
egress:
  routes:
    - host: api.github.com
      matches: [{methods: [GET]}]
  hosts: {b.internal: 10.0.0.2}
runtime: {memory: 2g}
`,
    'top doc\n',
  );
  const b = await loadBottle(f.settings, 'top');
  assert.equal(b.name, 'top');
  assert.deepEqual(b.files, [base, mid, top]);
  assert.equal(b.doc, 'top doc\n');
  assert.deepEqual(b.env, {
    A: { kind: 'literal', value: '1' },
    B: { kind: 'literal', value: 'mid' },
    C: { kind: 'literal', value: '3' },
  });
  // Silent children keep the base's explicit template and supervise.
  assert.equal(b.agent_provider.template, 'claude');
  assert.equal(b.agent_provider.auth_token, 'ANTHROPIC_API_KEY');
  assert.equal(b.supervise, true);
  assert.deepEqual(b.git_gate.user, { name: 'Base', email: 'base@example.com' });
  assert.deepEqual(Object.keys(b.git_gate.repos), ['one', 'two']);
  assert.deepEqual(
    b.egress.routes.map((r) => [r.host, r.matches.length]),
    [
      ['api.github.com', 1],
      ['pypi.org', 0],
      ['example.com', 0],
    ],
  );
  assert.deepEqual(b.egress.hosts, { 'a.internal': '10.0.0.1', 'b.internal': '10.0.0.2' });
  assert.deepEqual(b.runtime, { cpus: 2, memory: 2 * 1024 ** 3, pids: undefined });
});

void test('a child can switch an inherited default back off', async () => {
  const f = fixture();
  f.bottle('base', 'supervise: true\nagent_provider: {template: codex}\n');
  f.bottle('child', 'extends: base\nsupervise: false\nagent_provider: {template: shell}\n');
  const b = await loadBottle(f.settings, 'child');
  assert.equal(b.supervise, false);
  assert.equal(b.agent_provider.template, 'shell');
});

void test('an extends cycle is named in full', async () => {
  const f = fixture();
  f.bottle('a', 'extends: b\n');
  const bFile = f.bottle('b', 'supervise: true\nextends: a\n');
  const e = await caught(() => loadBottle(f.settings, 'a'));
  assert.ok(e instanceof ManifestError);
  assert.equal(e.message, `${bFile}:3: extends: extends cycle: a -> b -> a`);

  f.bottle('self', 'extends: self\n');
  assert.match((await caught(() => loadBottle(f.settings, 'self'))).message, /extends cycle: self -> self/);
});

void test('a missing bottle is not-found, naming who referred to it', async () => {
  const f = fixture();
  f.bottle('real', 'supervise: true\n');
  const child = f.bottle('child', 'extends: ghost\n');
  const e = await caught(() => loadBottle(f.settings, 'child'));
  assert.ok(e instanceof BottleError);
  assert.equal(e.kind, 'not-found');
  assert.ok(e.message.includes(`no bottle named "ghost" (named in ${child}:2)`), e.message);
  assert.match(e.message, /bottles: child, real/);
  assert.equal(e.fix, `create ${join(f.home, 'bottles', 'ghost.md')}`);

  const agentFile = f.agent('user', 'bottle: [real, nope]\n');
  const { agent } = await loadAgent(f.settings, 'user');
  const e2 = await caught(() => loadBottlesFor(f.settings, agent, []));
  assert.ok(e2 instanceof BottleError);
  assert.equal(e2.kind, 'not-found');
  assert.ok(e2.message.includes(`(named in ${agentFile})`), e2.message);
});

void test('a missing agent lists the agents that exist and says where to create it', async () => {
  const f = fixture();
  f.agent('alpha', 'description: a\n');
  f.repoAgent('beta', 'description: b\n');
  const e = await caught(() => loadAgent(f.settings, 'gamma'));
  assert.ok(e instanceof BottleError);
  assert.equal(e.kind, 'not-found');
  assert.match(e.message, /no agent named "gamma"; agents: alpha, beta/);
  assert.equal(e.fix, `create ${join(f.home, 'agents', 'gamma.md')}`);
});

void test('trust boundary: bottles in the repository are never loaded, and say so', async () => {
  const f = fixture();
  f.write('repo/.bot-bottle/bottles/evil.md', '---\negress:\n  routes:\n    - host: attacker.example\n---\n');
  f.repoAgent('helper', 'bottle: evil\n');

  const { agent, warnings } = await loadAgent(f.settings, 'helper');
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] ?? '', /ignoring .*\.bot-bottle\/bottles\/: bottles are loaded only from/);
  const e = await caught(() => loadBottlesFor(f.settings, agent, []));
  assert.ok(e instanceof BottleError);
  assert.equal(e.kind, 'not-found');
  assert.match(e.message, /evil\.md is ignored: bottles load only from your home/);
  assert.deepEqual(await listBottles(f.settings), []);
  assert.equal((await listAgents(f.settings)).warnings.length, 1);

  // A base named by a trusted bottle is looked up in the trusted folder too.
  f.bottle('trusted', 'extends: evil\n');
  assert.equal((await caught(() => loadBottle(f.settings, 'trusted')) as BottleError).kind, 'not-found');
});

void test('no warning when the working directory is the user home that holds the bottles', async () => {
  const f = fixture();
  const s = { ...f.settings, cwd: f.userHome, home: join(f.userHome, '.bot-bottle') };
  f.write('user/.bot-bottle/bottles/dev.md', '---\nsupervise: true\n---\n');
  f.write('user/.bot-bottle/agents/me.md', '---\nbottle: dev\n---\n');
  const { agent, warnings } = await loadAgent(s, 'me');
  assert.deepEqual(warnings, []);
  assert.equal((await loadBottlesFor(s, agent, [])).supervise, true);
  assert.deepEqual((await listAgents(s)).agents.map((a) => a.name), ['me']);
});

void test('an agent defined both at home and in the repository is an error naming both', async () => {
  const f = fixture();
  const homeFile = f.agent('dup', 'description: home\n');
  const repoFile = f.repoAgent('dup', 'description: repo\n');
  f.agent('solo', 'description: fine\n');
  const e = await caught(() => loadAgent(f.settings, 'dup'));
  assert.ok(e instanceof ManifestError);
  assert.ok(e.message.includes(`agent "dup" is defined twice: ${homeFile} and ${repoFile}`), e.message);

  const { agents, warnings } = await listAgents(f.settings);
  assert.deepEqual(agents.map((a) => a.name), ['solo']);
  assert.ok(warnings.some((w) => w.includes('defined twice')));
});

void test('a symlinked repository agent folder that is the home folder is not a clash', async () => {
  const f = fixture();
  f.agent('one', 'description: x\n');
  f.write('repo/.bot-bottle/placeholder', '');
  symlinkSync(join(f.home, 'agents'), join(f.cwd, '.bot-bottle', 'agents'));
  assert.equal((await loadAgent(f.settings, 'one')).agent.name, 'one');
});

void test('file names must be manifest names: others are ignored in listings and refused by name', async () => {
  const f = fixture();
  f.write('bb-home/agents/Bad_Name.md', '---\ndescription: x\n---\n');
  f.write('bb-home/bottles/Dev.md', '---\nsupervise: true\n---\n');
  f.agent('good', 'description: y\n');
  const { agents, warnings } = await listAgents(f.settings);
  assert.deepEqual(agents.map((a) => a.name), ['good']);
  assert.ok(warnings.some((w) => w.includes('Bad_Name.md')));
  assert.deepEqual(await listBottles(f.settings), []);

  for (const bad of ['Bad_Name', '../good', 'good.md', '']) {
    const e = await caught(() => loadAgent(f.settings, bad));
    assert.ok(e instanceof BottleError && e.kind === 'usage', `${bad}: ${e.message}`);
  }
  assert.equal(((await caught(() => loadBottle(f.settings, 'Dev'))) as BottleError).kind, 'usage');
});

void test('a broken agent is skipped in listings with a warning', async () => {
  const f = fixture();
  f.agent('broken', 'skills: nope\n');
  f.agent('fine', 'description: ok\n');
  const { agents, warnings } = await listAgents(f.settings);
  assert.deepEqual(agents.map((a) => a.name), ['fine']);
  assert.ok(warnings.some((w) => w.startsWith('skipping agent broken:') && w.includes('skills')));
});

void test('several bottles merge in order, same rules as extends', async () => {
  const f = fixture();
  f.bottle('base', 'agent_provider: {template: claude}\nsupervise: true\nenv: {A: a}\n', 'Base.\n');
  f.bottle('github', 'egress:\n  routes:\n    - host: api.github.com\nenv: {A: override}\n', 'GitHub.\n');
  f.agent('bare', 'description: no bottle\n');
  const { agent } = await loadAgent(f.settings, 'bare');

  const b = await loadBottlesFor(f.settings, agent, ['base', 'github', 'base']);
  assert.equal(b.name, 'base+github');
  assert.equal(b.agent_provider.template, 'claude');
  assert.equal(b.supervise, true);
  assert.deepEqual(b.env, { A: { kind: 'literal', value: 'override' } });
  assert.deepEqual(b.egress.routes.map((r) => r.host), ['api.github.com']);
  assert.equal(b.doc, 'Base.\n\nGitHub.\n');

  const direct = mergeBottles([await loadBottle(f.settings, 'base'), await loadBottle(f.settings, 'github')]);
  assert.deepEqual(direct, b);

  const e = await caught(() => loadBottlesFor(f.settings, agent, []));
  assert.ok(e instanceof BottleError);
  assert.equal(e.kind, 'usage');
  assert.equal(e.userMessage, 'agent bare names no bottle (fix: pass --bottle NAME or add `bottle:` to its front matter)');
});

void test('paths are resolved and must exist', async () => {
  const f = fixture();
  f.bottle('nodocker', 'agent_provider:\n  dockerfile: ./missing/Dockerfile\n');
  const e = await caught(() => loadBottle(f.settings, 'nodocker'));
  assert.ok(e instanceof ManifestError);
  assert.match(e.message, /nodocker\.md:3: agent_provider\.dockerfile: .*missing\/Dockerfile does not exist/);

  f.bottle('tilde', 'git-gate:\n  repos:\n    r: {url: "ssh://git@h/x.git", identity: "~bob/key"}\n');
  assert.match((await caught(() => loadBottle(f.settings, 'tilde'))).message, /only `~\/` is expanded/);
});

void test('`backend:` picks where a bottle runs; a later bottle overrides it; an unknown one names the choices', async () => {
  const f = fixture();
  f.bottle('vm', 'backend: microvm\n');
  f.bottle('plain', 'supervise: true\n');
  f.bottle('ctr', 'backend: docker\n');
  assert.equal((await loadBottle(f.settings, 'vm')).backend, 'microvm');
  assert.equal((await loadBottle(f.settings, 'plain')).backend, undefined);
  const [vm, plain, ctr] = await Promise.all(['vm', 'plain', 'ctr'].map((n) => loadBottle(f.settings, n)));
  assert.ok(vm && plain && ctr);
  assert.equal(mergeBottles([vm, plain]).backend, 'microvm');
  assert.equal(mergeBottles([vm, ctr]).backend, 'docker');
  f.bottle('bad', 'backend: qemu\n');
  const e = await caught(() => loadBottle(f.settings, 'bad'));
  assert.ok(e instanceof ManifestError);
  assert.match(e.message, /backend/);
  assert.match(e.message, /microvm/);
});
