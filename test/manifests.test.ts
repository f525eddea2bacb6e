/**
 * Malformed manifests, as a user writes them: each refused by `validate`
 * (and by `start`, before anything is created) with one line naming the
 * file, the line and key where there is one, and what to do. The first
 * group is issue 15's "accepted, then failing at launch".
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { docker, makeHome, run, SHELL_AGENT, type TestHome } from './helpers.js';

interface Case {
  readonly name: string;
  readonly kind: 'bottle' | 'agent';
  readonly content: string | Buffer;
  /** What the one-line error must say (after `file:line: `). */
  readonly says: RegExp;
  /** Launched, it used to get past validation: `start` must now stop at exit 3. */
  readonly launch?: boolean;
}

const fm = (yaml: string): string => `---\n${yaml}\n---\nbody\n`;
const shell = 'agent_provider: {template: shell}\n';
const route = (extra: string): string => fm(`${shell}egress:\n  routes:\n    - host: api.example.com\n${extra}`);
const KEY = 'AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';

const CASES: readonly Case[] = [
  // Issue 15, item 6: accepted, then failing at launch with raw engine errors.
  { name: 'cpus-too-many', kind: 'bottle', content: fm(`${shell}runtime: {cpus: 100000}`), says: /runtime\.cpus: this host has [0-9]+ CPUs?: at most [0-9]+$/, launch: true },
  { name: 'memory-one-byte', kind: 'bottle', content: fm(`${shell}runtime: {memory: 1}`), says: /runtime\.memory: must be at least 6m \(6 MiB\): the engine refuses less/, launch: true },
  { name: 'env-nul', kind: 'bottle', content: fm(`${shell}env:\n  BAD: "a\\0b"`), says: /env\.BAD: contains a NUL byte/, launch: true },
  { name: 'regex-redos-lookahead', kind: 'bottle', content: route('      matches: [{paths: [{type: regex, value: "/(?=admin)(a+)+"}]}]'), says: /paths\[0\]\.value: regex does not compile: .*no lookaround and no backreferences$/, launch: true },
  { name: 'binary', kind: 'bottle', content: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]), says: /is a binary file \(a NUL byte\), not Markdown/, launch: true },
  { name: 'no-front-matter', kind: 'bottle', content: '# My bottle\n\nAll the settings I meant to write.\n', says: /:1: has no front matter/, launch: true },
  { name: 'keys-90000', kind: 'bottle', content: fm(Array.from({ length: 90_000 }, (_, i) => `k${i}: 1`).join('\n')), says: /is 869 KiB; a manifest is at most 256 KiB/, launch: true },
  { name: 'keys-8000', kind: 'bottle', content: fm(Array.from({ length: 8000 }, (_, i) => `k${i}: 1`).join('\n')), says: /:1: front matter is 70 KiB; at most 64 KiB/, launch: true },
  { name: 'too-large', kind: 'bottle', content: fm(shell) + 'x'.repeat(300 * 1024), says: /is [0-9]+ KiB; a manifest is at most 256 KiB/, launch: true },
  { name: 'not-utf8', kind: 'bottle', content: Buffer.from(`---\nagent_provider: {template: shell}\n---\ncaf\xe9\n`, 'latin1'), says: /is not UTF-8 text/, launch: true },
  { name: 'memory-huge', kind: 'bottle', content: fm(`${shell}runtime: {memory: 999999t}`), says: /runtime\.memory: is larger than any machine has/, launch: true },
  // runtime
  { name: 'cpus-zero', kind: 'bottle', content: fm(`${shell}runtime: {cpus: 0}`), says: /runtime\.cpus: must be at least 0\.01/ },
  { name: 'cpus-text', kind: 'bottle', content: fm(`${shell}runtime: {cpus: two}`), says: /runtime\.cpus: /  },
  { name: 'memory-unit', kind: 'bottle', content: fm(`${shell}runtime: {memory: 2x}`), says: /runtime\.memory: must be a size like `512m`/ },
  { name: 'pids-zero', kind: 'bottle', content: fm(`${shell}runtime: {pids: 0}`), says: /runtime\.pids: / },
  { name: 'pids-fraction', kind: 'bottle', content: fm(`${shell}runtime: {pids: 1.5}`), says: /runtime\.pids: expected a whole number/ },
  { name: 'runtime-unknown', kind: 'bottle', content: fm(`${shell}runtime: {cpu: 2}`), says: /runtime\.cpu: .*did you mean `cpus`/ },
  // env
  { name: 'env-credential', kind: 'bottle', content: fm(`${shell}env:\n  TOKEN: ghp_abcdefghijklmnopqrstuvwxyz0123456789`), says: /env\.TOKEN: looks like a credential/ },
  { name: 'env-partial-forward', kind: 'bottle', content: fm(`${shell}env:\n  AUTH: "Bearer \${TOKEN}"`), says: /env\.AUTH: only a whole value/ },
  { name: 'env-bad-forward', kind: 'bottle', content: fm(`${shell}env:\n  A: "\${1BAD}"`), says: /env\.A: the forwarded host variable must be a variable name/ },
  { name: 'env-bad-name', kind: 'bottle', content: fm(`${shell}env:\n  1X: value`), says: /env\["1X"\]: name must be a variable name/ },
  { name: 'env-not-string', kind: 'bottle', content: fm(`${shell}env:\n  A: [1, 2]`), says: /env\.A: / },
  // egress
  { name: 'regex-backreference', kind: 'bottle', content: route('      matches: [{paths: [{type: regex, value: "/(a)\\\\1"}]}]'), says: /paths\[0\]\.value: regex does not compile: .*no backreferences$/ },
  { name: 'regex-unclosed', kind: 'bottle', content: route('      matches: [{paths: [{type: regex, value: "/api/(v1"}]}]'), says: /paths\[0\]\.value: regex does not compile: missing closing \)$/ },
  { name: 'header-regex', kind: 'bottle', content: route('      matches: [{headers: [{name: X-A, type: regex, value: "[z-a]"}]}]'), says: /headers\[0\]\.value: regex does not compile/ },
  { name: 'host-url', kind: 'bottle', content: fm(`${shell}egress:\n  routes:\n    - host: https://api.example.com`), says: /host: must be a host name, not a URL/ },
  { name: 'host-ip', kind: 'bottle', content: fm(`${shell}egress:\n  routes:\n    - host: 10.0.0.1`), says: /host: IP addresses are not routed/ },
  { name: 'host-wildcard', kind: 'bottle', content: fm(`${shell}egress:\n  routes:\n    - host: "*.example.com"`), says: /host: wildcards are not supported/ },
  { name: 'host-port', kind: 'bottle', content: fm(`${shell}egress:\n  routes:\n    - host: api.example.com:99999`), says: /host: port must be a number from 1 to 65535/ },
  { name: 'route-twice', kind: 'bottle', content: fm(`${shell}egress:\n  routes:\n    - host: a.example\n    - host: a.example`), says: /routes\.1\.host: a second route for a\.example:443|routes\[1\]\.host: a second route/ },
  { name: 'path-relative', kind: 'bottle', content: route('      matches: [{paths: [{value: api}]}]'), says: /paths\[0\]\.value: a path starts with `\/`/ },
  { name: 'method', kind: 'bottle', content: route('      matches: [{methods: ["GET!"]}]'), says: /methods\[0\]: must be an HTTP method/ },
  { name: 'token-inline', kind: 'bottle', content: route('      auth: {token_ref: ghp_abcdefghijklmnopqrstuvwxyz0123456789}'), says: /auth\.token_ref: looks like a credential/ },
  { name: 'dlp-typo', kind: 'bottle', content: route('      dlp: {on_match: blok}'), says: /dlp\.on_match: expected one of supervise, redact, block; did you mean `block`/ },
  { name: 'hosts-not-ip', kind: 'bottle', content: fm(`${shell}egress:\n  hosts: {api.internal: somewhere}`), says: /egress\.hosts\["api\.internal"\]: must be an IP address/ },
  { name: 'ca-missing', kind: 'bottle', content: fm(`${shell}egress:\n  ca_certs: [/nonexistent/ca.pem]`), says: /egress\.ca_certs\.0: \/nonexistent\/ca\.pem does not exist|ca_certs\[0\]: .*does not exist/ },
  { name: 'key-typo', kind: 'bottle', content: fm(`${shell}egres: {}`), says: /egres: .*did you mean `egress`/ },
  { name: 'nested-typo', kind: 'bottle', content: fm(`${shell}egress:\n  routs: []`), says: /egress\.routs: .*did you mean `routes`/ },
  // git-gate
  { name: 'repo-password', kind: 'bottle', content: fm(`${shell}git-gate:\n  repos:\n    app: {url: "https://user:pw@example.com/app.git"}`), says: /url: must not carry a password or token/ },
  { name: 'repo-https-identity', kind: 'bottle', content: fm(`${shell}git-gate:\n  repos:\n    app: {url: "https://example.com/app.git", identity: ~/.ssh/id}`), says: /identity: an https upstream uses `token_ref`/ },
  { name: 'repo-bad-url', kind: 'bottle', content: fm(`${shell}git-gate:\n  repos:\n    app: {url: "ftp://example.com/app"}`), says: /url: must be an ssh or https URL/ },
  { name: 'repo-host-key-lines', kind: 'bottle', content: fm(`${shell}git-gate:\n  repos:\n    app: {url: "git@example.com:a.git", host_key: "example.com ssh-ed25519 ${KEY}\\nmore"}`), says: /host_key: must be one line/ },
  // bottle structure
  { name: 'skills-in-bottle', kind: 'bottle', content: fm(`${shell}skills: [x]`), says: /skills: .*belongs in an agent file/ },
  { name: 'supervise-text', kind: 'bottle', content: fm(`${shell}supervise: sometimes`), says: /supervise: / },
  { name: 'template-unknown', kind: 'bottle', content: fm('agent_provider: {template: nosuch}'), says: /agent_provider\.template: unknown agent_provider\.template "nosuch"/ },
  { name: 'extends-missing', kind: 'bottle', content: fm(`${shell}extends: nosuch`), says: /: no bottle named "nosuch"; there are no bottles yet/ },
  // YAML
  { name: 'yaml-syntax', kind: 'bottle', content: fm(`${shell}env: [1, 2`), says: /YAML: / },
  { name: 'yaml-duplicate', kind: 'bottle', content: fm(`${shell}env:\n  A: x\n  A: y`), says: /YAML: the key "A" appears twice in one mapping/ },
  { name: 'yaml-unclosed', kind: 'bottle', content: `---\n${shell}`, says: /front matter is not closed/ },
  { name: 'yaml-list', kind: 'bottle', content: fm('- a\n- b'), says: /front matter must be a mapping/ },
  { name: 'yaml-proto', kind: 'bottle', content: fm(`${shell}env:\n  __proto__: {polluted: x}`), says: /the key `__proto__` is not allowed/ },
  { name: 'yaml-alias-bomb', kind: 'bottle', content: fm(`${shell}a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]`), says: /YAML: / },
  { name: 'Capital-Name', kind: 'bottle', content: fm(shell), says: /file name must match/ },
  // agents
  { name: 'agent-repos', kind: 'agent', content: fm('git-gate:\n  repos:\n    app: {url: "git@example.com:a.git"}'), says: /git-gate\.repos: repos belong in a bottle/ },
  { name: 'agent-env', kind: 'agent', content: fm('env: {A: b}'), says: /env: .*belongs in a bottle/ },
  { name: 'agent-missing-bottle', kind: 'agent', content: fm('bottle: nosuch'), says: /agent-missing-bottle\.md: no bottle named "nosuch"; there are no bottles yet$/ },
  { name: 'agent-bottle-name', kind: 'agent', content: fm('bottle: Dev'), says: /bottle: / },
  { name: 'agent-skill-path', kind: 'agent', content: fm('skills: ["../../etc"]'), says: /skills\.0: |skills\[0\]: / },
  { name: 'agent-email', kind: 'agent', content: fm('git-gate:\n  user: {name: A, email: nope}'), says: /git-gate\.user\.email: must be an e-mail address/ },
  { name: 'agent-binary', kind: 'agent', content: Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0]), says: /is a binary file/ },
  { name: 'agent-nul-escape', kind: 'agent', content: fm('description: "a\\u0000b"'), says: /description: contains a NUL byte/ },
];

describe('malformed manifests', () => {
  let h: TestHome;
  let dir: string;
  before(() => {
    h = makeHome();
    dir = join(h.cwd, 'drafts');
    mkdirSync(join(dir, 'bottles'), { recursive: true });
    mkdirSync(join(dir, 'agents'), { recursive: true });
    for (const c of CASES) writeFileSync(join(dir, `${c.kind}s`, `${c.name}.md`), c.content);
  });
  after(async () => h.cleanup());

  it(`validate refuses each of ${CASES.length} with one line naming the file (and key), exit 3`, async () => {
    const files = CASES.map((c) => join(dir, `${c.kind}s`, `${c.name}.md`));
    const r = await run(['validate', '--json', ...files], { env: h.env, cwd: h.cwd });
    assert.equal(r.code, 3, r.stderr);
    const out = JSON.parse(r.stdout) as { ok: boolean; files: { file: string; ok: boolean; error?: { message: string; fix?: string } }[] };
    assert.equal(out.ok, false);
    const failures: string[] = [];
    for (const [i, c] of CASES.entries()) {
      const f = out.files[i];
      const msg = f?.error?.message ?? '';
      if (f?.ok !== false || !msg.startsWith(files[i] ?? '?') || !c.says.test(msg) || msg.includes('\n')) failures.push(`${c.name}: ${f?.ok ? 'accepted' : JSON.stringify(msg)}`);
    }
    assert.deepEqual(failures, []);
    // The same, as a person reads it: FAIL lines, no stack trace.
    const text = await run(['validate', ...files], { env: h.env, cwd: h.cwd });
    assert.equal(text.code, 3);
    assert.equal(text.stdout.split('\n').filter((l) => l.startsWith('FAIL')).length, CASES.length);
    assert.doesNotMatch(text.stdout + text.stderr, /\n\s+at /);
  });

  it('start stops at each of them with exit 3 before creating anything (not at launch with an engine error)', async () => {
    const before = (await docker(['ps', '-a', '-q', '--filter', 'label=bot-bottle.managed=true'])).split('\n').filter(Boolean).length;
    for (const c of CASES.filter((x) => x.launch)) {
      h.writeBottle(`l-${c.name}`, '');
      writeFileSync(join(h.home, 'bottles', `l-${c.name}.md`), c.content);
      h.writeAgent(`l-${c.name}`, SHELL_AGENT(`l-${c.name}`));
      const r = await run(['start', `l-${c.name}`, '--detach'], { env: h.env, cwd: h.cwd });
      assert.equal(r.code, 3, `${c.name}: ${r.stderr}`);
      const line = r.stderr.split('\n').find((l) => l.startsWith('error: ')) ?? '';
      assert.ok(line.includes(join(h.home, 'bottles', `l-${c.name}.md`)), `${c.name}: ${line}`);
      assert.match(line, c.says, c.name);
    }
    const after = (await docker(['ps', '-a', '-q', '--filter', 'label=bot-bottle.managed=true'])).split('\n').filter(Boolean).length;
    assert.equal(after, before);
  });
});

export const MALFORMED_CASES = CASES;
