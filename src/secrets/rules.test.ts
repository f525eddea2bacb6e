import assert from 'node:assert/strict';
import { test } from 'node:test';
import { B64, chars, fake, p, seed } from './fakes.test.js';
import { KeywordMatcher } from './keywords.js';
import { RULES, redact, scanText, type SecretFinding } from './index.js';

seed(42);

function rulesOf(text: string): string[] {
  return scanText(text).map((f) => f.rule);
}

function only(text: string, rule: string, secret: string): SecretFinding {
  const found = scanText(text);
  assert.equal(found.length, 1, `one finding in ${JSON.stringify(text.slice(0, 120))}: ${JSON.stringify(found.map((f) => f.rule))}`);
  const f = found[0];
  assert.equal(f.rule, rule);
  assert.equal(f.match, secret);
  assert.equal(text.slice(f.start, f.end), secret);
  return f;
}

void test('rules are well-formed data: unique ids, lowercase keywords, global regexes with indices', () => {
  const ids = new Set<string>();
  for (const r of RULES) {
    assert.ok(!ids.has(r.id), r.id);
    ids.add(r.id);
    // Credential rules a push runs only when a keyword occurs; the opt-in packs look for numbers and words.
    if ((r.pack ?? 'credentials') === 'credentials' && !r.egressOnly) assert.ok(r.keywords.length > 0, r.id);
    for (const k of r.keywords) assert.equal(k, k.toLowerCase(), `${r.id} keyword ${k}`);
    assert.ok(r.regex.global && r.regex.hasIndices, r.id);
  }
  assert.ok(RULES.length >= 30);
});

// One positive per rule, as a line in a file would carry it.
const POSITIVES: [rule: string, make: () => { text: string; secret: string }][] = [
  ['aws-access-key-id', () => ((s) => ({ text: `aws_access_key_id = ${s}\n`, secret: s }))(fake.awsId())],
  ['aws-access-key-id', () => ((s) => ({ text: `"${s}"`, secret: s }))(p('AS', 'IA') + chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16))],
  ['aws-secret-access-key', () => ((s) => ({ text: `aws_secret_access_key = ${s}\n`, secret: s }))(fake.awsSecret())],
  ['aws-secret-access-key', () => ((s) => ({ text: `{"SecretAccessKey": "${s}"}`, secret: s }))(fake.awsSecret())],
  ['github-pat', () => ((s) => ({ text: `token: ${s}`, secret: s }))(fake.ghp())],
  ['github-oauth', () => ((s) => ({ text: `x ${s} y`, secret: s }))(fake.gho())],
  ['github-app-token', () => ((s) => ({ text: `x ${s} y`, secret: s }))(fake.ghu())],
  ['github-app-token', () => ((s) => ({ text: `x ${s} y`, secret: s }))(fake.ghs())],
  ['github-refresh-token', () => ((s) => ({ text: `x ${s} y`, secret: s }))(fake.ghr())],
  ['github-fine-grained-pat', () => ((s) => ({ text: `GH_TOKEN=${s}\n`, secret: s }))(fake.githubPat())],
  ['gitlab-pat', () => ((s) => ({ text: `GITLAB_TOKEN=${s}\n`, secret: s }))(fake.glpat())],
  ['slack-bot-token', () => ((s) => ({ text: `slack: ${s}`, secret: s }))(fake.xoxb())],
  ['slack-user-token', () => ((s) => ({ text: `slack: ${s}`, secret: s }))(fake.xoxp())],
  ['slack-webhook-url', () => ((s) => ({ text: `url: ${s}\n`, secret: s.slice(s.indexOf('/services/') + 10) }))(fake.slackHook())],
  ['stripe-secret-key', () => ((s) => ({ text: `stripe.api_key = '${s}'`, secret: s }))(fake.stripe())],
  ['stripe-secret-key', () => ((s) => ({ text: `key ${s}`, secret: s }))(fake.stripeRestricted())],
  ['openai-api-key', () => ((s) => ({ text: `OPENAI_API_KEY=${s}`, secret: s }))(fake.openaiProject())],
  ['openai-api-key', () => ((s) => ({ text: `OPENAI_API_KEY=${s}`, secret: s }))(fake.openaiLegacy())],
  ['anthropic-api-key', () => ((s) => ({ text: `ANTHROPIC_API_KEY=${s}`, secret: s }))(fake.anthropic())],
  ['anthropic-admin-key', () => ((s) => ({ text: `key: ${s}`, secret: s }))(fake.anthropicAdmin())],
  ['gcp-api-key', () => ((s) => ({ text: `const k = "${s}";`, secret: s }))(fake.google())],
  ['npm-access-token', () => ((s) => ({ text: `//registry.npmjs.org/:_authToken=${s}\n`, secret: s }))(fake.npm())],
  ['twilio-api-key', () => ((s) => ({ text: `sid ${s}`, secret: s }))(fake.twilioKey())],
  ['sendgrid-api-key', () => ((s) => ({ text: `SENDGRID=${s}`, secret: s }))(fake.sendgrid())],
  ['gcp-oauth-access-token', () => ((s) => ({ text: `{"access_token": "${s}", "expires_in": 3599}`, secret: s }))(p('ya', '29.') + chars(B64.replace('+', '-').replace('/', '_'), 150))],
  ['jwt', () => ((s) => ({ text: `Authorization: Bearer ${s}`, secret: s }))(fake.jwt())],
  ['generic-secret', () => ((s) => ({ text: `password = "${s}"`, secret: s }))(fake.password())],
  ['generic-secret', () => ((s) => ({ text: `db:\n  password: ${s}\n`, secret: s }))(fake.password())],
  ['generic-secret', () => ((s) => ({ text: `API_KEY=${s}\n`, secret: s }))(chars('abcdefghijklmnopqrstuvwxyz0123456789', 32))],
  ['generic-secret', () => ((s) => ({ text: `const clientSecret = '${s}';`, secret: s }))(chars(B64, 40))],
  ['generic-secret', () => ((s) => ({ text: `{"auth_token": "${s}"}`, secret: s }))(chars(B64, 24))],
  ['generic-secret', () => ((s) => ({ text: `<config>\n  <dbPassword>${s}</dbPassword>\n</config>`, secret: s }))(fake.password())],
  ['aws-secret-access-key', () => ((s) => ({ text: `<awsSecretAccessKey>${s}</awsSecretAccessKey>`, secret: s }))(fake.awsSecret())],
  ['url-password', () => ((s) => ({ text: `DATABASE_URL=postgres://app:${s}@db.internal:5432/app`, secret: s }))(fake.password().replace('#', '%23'))],
];

void test('each rule finds its secret, with exact offsets', () => {
  for (const [rule, make] of POSITIVES) {
    const { text, secret } = make();
    only(text, rule, secret);
  }
  const covered = new Set(POSITIVES.map(([r]) => r));
  // (the rest have their own tests below)
  const untested = RULES.filter((r) => (r.pack ?? 'credentials') === 'credentials' && !r.egressOnly).map((r) => r.id).filter((id) => !covered.has(id) && !['private-key', 'putty-private-key', 'twilio-auth-token', 'twilio-account-sid', 'gcp-service-account-key', 'gitlab-token', 'slack-app-token', 'mailgun-api-key'].includes(id));
  assert.deepEqual(untested, []);
});

void test('the less common rules: GitLab deploy/runner tokens, Slack app tokens, Mailgun, PuTTY, GCP service accounts', () => {
  const gl = p('gl', 'rt-') + chars('abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789', 20);
  only(`RUNNER_TOKEN=${gl}`, 'gitlab-token', gl);
  const xapp = `${p('xa', 'pp')}-1-A${chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', 10)}-${chars('0123456789', 13)}-${chars('0123456789abcdef', 64)}`;
  only(`SLACK_APP_TOKEN=${xapp}`, 'slack-app-token', xapp);
  const mg = p('ke', 'y-') + chars('0123456789abcdef', 32);
  only(`MAILGUN_API_KEY=${mg}`, 'mailgun-api-key', mg);
  const lines = (n: number) => Array.from({ length: n }, () => chars(B64, 64)).join('\n');
  const ppk = `PuTTY-User-Key-File-2: ssh-rsa\nEncryption: none\nComment: deploy\nPublic-Lines: 2\n${lines(2)}\nPrivate-Lines: 3\n${lines(3)}\n`;
  assert.deepEqual(rulesOf(ppk + 'Private-MAC: ' + chars('0123456789abcdef', 40) + '\n'), ['putty-private-key']);
  const sa = JSON.stringify({ type: 'service_account', project_id: 'demo', private_key: fake.pem('PRIVATE KEY') + '\n', client_email: 'x@demo.iam.gserviceaccount.com' }, null, 2);
  assert.deepEqual(rulesOf(sa).sort(), ['gcp-service-account-key', 'private-key']);
});

void test('private keys in every PEM form are found as the whole block', () => {
  for (const label of ['RSA PRIVATE KEY', 'EC PRIVATE KEY', 'DSA PRIVATE KEY', 'OPENSSH PRIVATE KEY', 'PRIVATE KEY', 'ENCRYPTED PRIVATE KEY', 'PGP PRIVATE KEY BLOCK']) {
    const block = fake.pem(label, label.startsWith('PGP') ? 'Version: GnuPG v2\n\n' : '');
    only(`key:\n${block}\ntrailing`, 'private-key', block);
  }
  // Legacy encrypted PEM with headers, and a key pasted into JSON with \n escapes.
  const legacy = fake.pem('RSA PRIVATE KEY', 'Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,' + chars('0123456789ABCDEF', 32) + '\n\n');
  only(legacy, 'private-key', legacy);
  const json = JSON.stringify({ private_key: fake.pem('PRIVATE KEY') });
  const f = scanText(json);
  assert.deepEqual(f.map((x) => x.rule), ['private-key']);
  // A truncated block (no END line) still is a key.
  const head = fake.pem('OPENSSH PRIVATE KEY').split('-----END')[0] ?? '';
  assert.deepEqual(rulesOf(head), ['private-key']);
});

void test('private key decoys: placeholders, public keys, certificates, code that builds a key', () => {
  const begin = p('-----BEG', 'IN');
  for (const text of [
    `${begin} RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----`,
    `${begin} RSA PRIVATE KEY-----\n<your key here>\n-----END RSA PRIVATE KEY-----`,
    `${begin} PRIVATE KEY-----\n${'A'.repeat(64)}\n${'A'.repeat(64)}\n-----END PRIVATE KEY-----`,
    fake.pem('PUBLIC KEY'),
    fake.pem('CERTIFICATE'),
    `let key = '${begin} OPENSSH PRIVATE KEY-----\\n';\nfor (const line of lines) { key += wrap(line, 70) + '\\n'; }\nkey += '-----END OPENSSH PRIVATE KEY-----';\n`,
  ]) {
    assert.deepEqual(rulesOf(text), [], text.slice(0, 80));
  }
});

void test('documentation examples and placeholders are not findings', () => {
  const decoys = [
    'aws_access_key_id = AKIAIOSFODNN7EXAMPLE',
    'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    `GITHUB_TOKEN=${p('gh', 'p_')}${'x'.repeat(36)}`,
    `GITHUB_TOKEN=${p('gh', 'p_')}${'0123456789'.repeat(3)}abcdef`,
    'API_KEY=your_api_key_here',
    'OPENAI_API_KEY=sk-proj-your-key-here-please-replace-it-now',
    'token: <token>',
    'CLIENT_SECRET=<your-client-secret>',
    'password: ${DB_PASSWORD}',
    'GITHUB_TOKEN="${GITHUB_TOKEN}"',
    'api_key: {{ .Values.apiKey }}',
    'password = "changeme"',
    'password: change-me-please',
    `STRIPE_KEY=${p('sk_', 'live_')}EXAMPLE${chars('ABCDEFGHIJ', 16)}`,
    `SLACK=${p('xo', 'xb')}-fake-token-for-tests`,
    `key=${p('sk-ant-', 'api03-')}dummy-${'abcd'.repeat(10)}`,
    'API_KEY=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
    `AWS_ACCESS_KEY_ID=${p('AK', 'IA')}${'A'.repeat(16)}`,
    'SECRET_KEY=0123456789abcdefghijklmnopqrstuv',
    `${p('pk_', 'live_')}${chars('abcdefghijklmnopqrstuvwxyz0123456789', 24)}`,
    `${p('pk_', 'test_')}${chars('abcdefghijklmnopqrstuvwxyz0123456789', 24)}`,
    `STRIPE_TEST=${p('sk_', 'test_')}${chars('abcdefghijklmnopqrstuvwxyz0123456789', 24)}`,
    `https://${p('hooks.sl', 'ack.com')}/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX`,
    'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
    'password: "hunter2"',
    'DB_PASSWORD=postgres',
    'password = os.environ.get("DB_PASSWORD")',
    'const apiKey = process.env.API_KEY;',
    'token = request.headers.authorization',
    'callCredentials: CallCredentials',
    'exports.PrivateKeyJwtProvider = PrivateKeyJwtProvider;',
    'const hasExclamationToken = !!node.exclamationToken;',
    'const TOKEN_STRINGS = "[A-Za-z0-9._~+/-]+=*";',
    'password_hash: password_hash,',
    'if (password.length > minPasswordLength) return;',
    '<password>${DB_PASSWORD}</password>',
    'secret_file = /etc/app/secret.pem',
    'request_id = 3f2b9c1e-8a4d-4e6f-9b1a-2c3d4e5f6a7b',
    `sha256 ${chars('0123456789abcdef', 64)}  app.tar.gz`,
    'commit 4b825dc642cb6eb9a060e54bf8d69288fbee4904',
    'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.',
    `TWILIO_ACCOUNT_SID=${fake.twilioSid()}`,
    'DATABASE_URL=postgres://user:password@localhost:5432/app',
    `<img src="data:image/png;base64,${Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(300, 7)]).toString('base64')}">`,
  ];
  for (const d of decoys) assert.deepEqual(rulesOf(d), [], d);
});

void test('a Twilio account SID is a finding only next to an auth token', () => {
  const sid = fake.twilioSid();
  const token = chars('0123456789abcdef', 32);
  const f = scanText(`TWILIO_ACCOUNT_SID=${sid}\nTWILIO_AUTH_TOKEN=${token}\n`);
  assert.deepEqual(f.map((x) => x.rule).sort(), ['twilio-account-sid', 'twilio-auth-token']);
  assert.equal(f.find((x) => x.rule === 'twilio-auth-token')?.match, token);
});

void test('a JWT must have a JSON header; a token inside a specific rule is not reported twice', () => {
  const notJson = `eyJ${chars('abcdefghij', 20)}.eyJ${chars('abcdefghij', 20)}.${chars('abcdefghij', 20)}`;
  assert.deepEqual(rulesOf(notJson), []);
  const gh = fake.ghp();
  assert.deepEqual(rulesOf(`GITHUB_TOKEN=${gh}`), ['github-pat']);
  assert.deepEqual(rulesOf(`password = "${gh}"`), ['github-pat']);
});

void test('a JWT of one claim is a toy token on a push, and still a finding on egress', () => {
  const seg = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = seg({ alg: 'HS256', typ: 'JWT' });
  const sig = chars(B64.replace(/[+/]/g, ''), 43);
  const toy = `${head}.${seg({ foo: 'bar' })}.${sig}`;
  const real = `${head}.${seg({ sub: '1234567890', iat: 1700000000, scope: 'admin' })}.${sig}`;
  assert.deepEqual(rulesOf(`token: ${toy}`), []);
  assert.deepEqual(scanText(`token: ${toy}`, { mode: 'egress' }).map((f) => f.rule), ['jwt']);
  assert.deepEqual(rulesOf(`token: ${real}`), ['jwt']);
});

void test('the generic rule: names about a secret (hash, type, env name, id), ARNs, badge tokens and short sequences are not findings', () => {
  const value = 'Spa_APgwBrarSeQbxI-rbragXho6dqFpH5x9PqaPfUI';
  assert.deepEqual(rulesOf(`googleAccessTokenHash = "${value}"`), []);
  assert.deepEqual(rulesOf(`computed512TokenHash = "${value}"`), []);
  assert.deepEqual(rulesOf(`const credentialID = "f741662395b249c9b8acdebf1722c5ae"`), []);
  assert.deepEqual(rulesOf(`googleAccessToken = "${value}"`), ['generic-secret']);
  // Random hex values are built here, not written out: this repository's own history must scan clean.
  const hex32 = ['6a61eb0296034c89', 'b49cc51dde9b40aa'].join('');
  const hex64 = ['8f3a9c0d1e2b4f5a6c7d8e9f0a1b2c3d', '4e5f6a7b8c9d0e1f2a3b4c5d6e7f8091'].join('');
  assert.deepEqual(rulesOf(`"secret": "${hex32}",`), ['generic-secret']);
  assert.deepEqual(rulesOf('ARN: "arn:aws:secretsmanager:us-west-2:123456789012:secret:MySecret1-a1b2c3",'), []);
  assert.deepEqual(rulesOf('[![codecov](https://codecov.io/gh/o/r/graph/badge.svg?token=yenl5fzxxr)](https://codecov.io/gh/o/r)'), []);
  assert.deepEqual(rulesOf('signingSecret: "abcdefg12345",'), []);
  assert.deepEqual(rulesOf('client.TokenID = "12345abcdef"'), []);
  assert.deepEqual(rulesOf('{"Username": "<token>", "Secret": "abcd1234"}'), []);
  assert.deepEqual(rulesOf('export const TEST_SECRET = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20";'), []);
  assert.deepEqual(rulesOf(`export const SECRET = "${hex64}";`), ['generic-secret']);
});

void test('redaction shows at most 4 leading and 4 trailing characters, and nothing of a short secret', () => {
  for (let n = 1; n <= 120; n++) {
    const s = chars(B64, n);
    const r = redact(s);
    const visible = r.replace(/\*/g, '').length;
    assert.ok(visible <= 8, `${n}: ${r}`);
    if (n < 12) assert.equal(visible, 0, `${n}: ${r}`);
    if (n >= 20) assert.equal(r.slice(0, 4), s.slice(0, 4));
  }
  assert.equal(redact(p('AK', 'IA') + 'QYLPMN5HFIQR7XYZ'), 'AKIA************7XYZ');
  for (const [, make] of POSITIVES) {
    const { text } = make();
    for (const f of scanText(text)) assert.ok(f.redacted.replace(/\*/g, '').length <= 8, f.redacted);
  }
});

void test('adversarial inputs finish (linear-time regexes)', () => {
  // Not timed: a catastrophic regex would hang this test rather than fail it.
  const inputs = [
    'eyJ'.repeat(50000),
    `${p('-----BEG', 'IN')} RSA PRIVATE KEY-----\n`.repeat(5000),
    'password='.repeat(20000),
    'PuTTY-User-Key-File-2: '.repeat(10000),
    '"a" +\n'.repeat(50000),
    'a'.repeat(300000),
    '"type": "service_account"'.repeat(10000),
  ];
  for (const t of inputs) assert.ok(Array.isArray(scanText(t)));
});

void test('no packs named is the credentials pack, in either mode and in any order of calls', () => {
  const text = `GITHUB_TOKEN=${fake.ghp()}\ncard 4111 1111 1111 1111\nstripe: ${fake.stripe()}\n`;
  for (const mode of ['push', 'egress'] as const) {
    const byDefault = scanText(text, { mode });
    assert.deepEqual(scanText(text, { mode, packs: ['credentials'] }), byDefault);
    assert.deepEqual(scanText(text, { mode }), byDefault);
    assert.ok(byDefault.length >= 2 && byDefault.every((f) => f.rule !== 'card-number'), mode);
  }
  assert.ok(scanText(text, { mode: 'egress', packs: ['financial', 'credentials'] }).some((f) => f.rule === 'card-number'));
});

void test('a line-local rule matches the same on the lines holding its keywords as on the whole text', () => {
  // What Rule.lineLocal promises, checked on texts dense in names, operators, quotes, values and line breaks
  // (CRLF, a break right after a value, at the very end, a name split by one): the scanner then runs the
  // rule's regex on those lines only, found by the keyword pass.
  const local = RULES.filter((r) => r.lineLocal);
  assert.ok(local.length > 0);
  const matcher = new KeywordMatcher(RULES.flatMap((r) => r.keywords));
  const pieces = [
    'password', 'api_key', 'apiKey', 'next_token', 'pageToken', 'X-Token', 'client-secret', 'CREDENTIALS', 'pwd', 'secret', 'tok', 'en', 'pass',
    '=', ': ', ' = ', ':=', '=>', '||=', '?=', ' > ', '"', "'", '`', '(', ')', ' ', '\t', '\n', '\r\n', '\n', ',', ';',
    'Xk9#mQ2$vL7pR4t', 'hunter2hunter2', 'a8F3kQ9zL2mN7xP4', '${DB_PASS}', 'abc/def+ghi==', 'ñé', 'Zq7', '_.-',
  ];
  let state = 99;
  const rand = (n: number) => (((state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 8) % n);
  let matched = 0;
  for (let i = 0; i < 3000; i++) {
    const text = Array.from({ length: 1 + rand(60) }, () => pieces[rand(pieces.length)]).join('');
    for (const rule of local) {
      const lineOf = new Uint8Array(matcher.keywords.length);
      for (const k of rule.keywords) lineOf[matcher.keywords.indexOf(k)] = 1;
      const lines: number[] = [];
      matcher.presentAndRuns(text, new Uint8Array(65536), 1, 1, [], lineOf, lines);
      const re = new RegExp(rule.regex.source, rule.regex.flags);
      const whole = [...text.matchAll(re)].map((m) => `${m.index} ${JSON.stringify(m.indices)}`);
      const byLine = lines.flatMap((from) => {
        const nl = text.indexOf('\n', from);
        return [...text.slice(from, nl === -1 ? text.length : nl).matchAll(re)].map(
          (m) => `${from + m.index} ${JSON.stringify(m.indices?.map((s) => s && s.map((x) => x + from)))}`,
        );
      });
      assert.deepEqual(byLine, whole, `${rule.id} on ${JSON.stringify(text)}`);
      matched += whole.length;
    }
  }
  assert.ok(matched > 300, `only ${matched} matches: the texts test too little`);
});
