import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { test } from 'node:test';
import { B64_RUN_CHARS, base64Runs, continuationJoin, EGRESS_BASE64, findBase64Runs, findHexRuns, lineSplitJoin, PUSH_BASE64, runLengths, runsFromSpans, type Run } from './decoders.js';
import { KeywordMatcher } from './keywords.js';
import { RULES } from './rules.js';
import { B64, bytes, chars, fake, seed } from './fakes.test.js';
import { binaryStrings, isBinary, knownForms, scanBytes, scanText } from './index.js';

seed(7);

void test('base64: an encoded .env on one line is decoded and scanned; offsets point into the base64', () => {
  const token = fake.ghp();
  const enc = Buffer.from(`NODE_ENV=production\nGITHUB_TOKEN=${token}\nPORT=8080\n`).toString('base64');
  const text = `apiVersion: v1\nkind: Secret\ndata:\n  app.env: ${enc}\n`;
  const f = scanText(text);
  assert.equal(f.length, 1);
  const [hit] = f;
  assert.equal(hit?.rule, 'github-pat');
  assert.equal(hit?.via, 'base64');
  assert.equal(hit?.match, text.slice(hit?.start, hit?.end));
  assert.ok(enc.includes(hit?.match ?? '-'));
  // The span decodes to the token (base64 is decoded in 4-character groups).
  assert.ok(Buffer.from(hit?.match ?? '', 'base64').toString('latin1').includes(token));
  assert.ok((hit?.match.length ?? 0) <= Math.ceil(token.length / 3) * 4 + 8);
});

void test('base64: a block wrapped at 76 columns, and URL-safe base64, are decoded', () => {
  const key = fake.anthropic();
  const enc = Buffer.from(`# deploy\nANTHROPIC_API_KEY=${key}\nREGION=eu-west-1\n`).toString('base64');
  const wrapped = (enc.match(/.{1,76}/g) ?? []).join('\n') + '\n';
  assert.deepEqual(scanText(wrapped).map((f) => [f.rule, f.via]), [['anthropic-api-key', 'base64']]);
  const url = Buffer.from(`{"token": "${fake.xoxb()}"}`).toString('base64url');
  assert.deepEqual(scanText(`payload=${url}`).map((f) => f.rule), ['slack-bot-token']);
});

void test('base64: binary noise, images and encoded placeholders are not findings', () => {
  assert.deepEqual(scanText(bytes(3000).toString('base64')), []);
  assert.deepEqual(scanText(Buffer.from('API_KEY=your_api_key_here\nPASSWORD=changeme\n').toString('base64')), []);
  assert.deepEqual(scanText(Buffer.from('Lorem ipsum dolor sit amet, consectetur adipiscing elit.').toString('base64')), []);
});

void test('base64 nested twice is found; deeper nesting is not followed', () => {
  const tok = fake.npm();
  const once = Buffer.from(`NPM_TOKEN=${tok}\n`).toString('base64');
  const twice = Buffer.from(`encoded=${once}\n`).toString('base64');
  assert.deepEqual(scanText(twice).map((f) => f.rule), ['npm-access-token']);
});

void test('hex and URL encoding: decoded and scanned, with offsets into the encoded text', () => {
  const tok = fake.sendgrid();
  const hex = Buffer.from(`SENDGRID_API_KEY=${tok}\nREGION=eu\n`).toString('hex');
  const fh = scanText(`blob ${hex}\n`);
  assert.deepEqual(fh.map((f) => [f.rule, f.via]), [['sendgrid-api-key', 'hex']]);
  assert.equal(Buffer.from(fh[0]?.match ?? '', 'hex').toString(), tok);
  // hashes are hex too, but decode to bytes that are not text
  assert.deepEqual(scanText(`sha256 ${chars('0123456789abcdef', 64)}\nsha512 ${chars('0123456789abcdef', 128)}`), []);
  const hook = fake.slackHook();
  const url = `curl "https://api.internal.test/report?hook=${encodeURIComponent(hook)}&x=1"`;
  const fu = scanText(url);
  assert.deepEqual(fu.map((f) => [f.rule, f.via]), [['slack-webhook-url', 'url']]);
  assert.equal(decodeURIComponent(fu[0]?.match ?? ''), hook.slice(hook.indexOf('/services/') + 10));
  const pem = fake.pem('EC PRIVATE KEY');
  assert.deepEqual(scanText(`key=${encodeURIComponent(pem)}`).map((f) => f.rule), ['private-key']);
});

void test('binary content: printable strings (ASCII and UTF-16LE) are extracted and scanned', () => {
  const tok = fake.stripe();
  const buf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0]), bytes(500), Buffer.from([0]), Buffer.from(`STRIPE=${tok}`), Buffer.from([0]), bytes(500)]);
  assert.ok(isBinary(buf));
  assert.ok(binaryStrings(buf).split('\n').includes(`STRIPE=${tok}`));
  const r = scanBytes(buf);
  assert.equal(r.binary, true);
  assert.deepEqual(r.findings.map((f) => f.rule), ['stripe-secret-key']);
  const wide = Buffer.concat([Buffer.from([0, 0, 1, 2]), Buffer.from(`KEY ${fake.google()}`, 'utf16le'), Buffer.from([0, 0, 0, 0])]);
  assert.deepEqual(scanBytes(wide).findings.map((f) => f.rule), ['gcp-api-key']);
  const text = scanBytes(Buffer.from(`token: ${fake.ghp()}\n`));
  assert.equal(text.binary, false);
  assert.deepEqual(text.findings.map((f) => f.rule), ['github-pat']);
});

void test('line continuations and string concatenations are joined', () => {
  const cases: [string, (a: string, b: string) => string][] = [
    ['shell backslash', (a, b) => `export STRIPE_KEY=${a}\\\n${b}\n`],
    ['C string backslash', (a, b) => `const char *k = "${a}\\\n${b}";\n`],
    ['JS +', (a, b) => `const stripeKey = "${a}" +\n  "${b}";\n`],
    ['JS + leading', (a, b) => `const stripeKey = '${a}'\n  + '${b}';\n`],
    ['same line +', (a, b) => `key = "${a}" + "${b}"\n`],
    ['Python implicit', (a, b) => `KEY = ("${a}"\n       "${b}")\n`],
    ['PHP dot', (a, b) => `$key = '${a}' .\n  '${b}';\n`],
    ['Lua ..', (a, b) => `local key = "${a}" .. "${b}"\n`],
    ['VB &', (a, b) => `Dim key = "${a}" & _\n "${b}"\n`.replace(' _\n', '\n')],
  ];
  for (const [name, render] of cases) {
    const tok = fake.stripe();
    const mid = 14;
    const text = render(tok.slice(0, mid), tok.slice(mid));
    const f = scanText(text);
    assert.deepEqual(f.map((x) => [x.rule, x.via]), [['stripe-secret-key', 'continuation']], name);
    assert.equal(f[0]?.match, text.slice(f[0]?.start, f[0]?.end), name);
    assert.ok(f[0]?.match.startsWith(tok.slice(0, mid)) && f[0].match.endsWith(tok.slice(mid)), name);
  }
  // A PEM block as concatenated string literals with \n escapes.
  const pem = fake.pem('RSA PRIVATE KEY').split('\n');
  const js = `const key =\n${pem.map((l, i) => `  "${l}\\n"${i < pem.length - 1 ? ' +' : ';'}`).join('\n')}\n`;
  assert.deepEqual(scanText(js).map((f) => f.rule), ['private-key']);
});

void test('continuationJoin maps joined offsets back to the original', () => {
  const text = 'x = "abc" +\n  "def" + "ghi"';
  const j = continuationJoin(text);
  assert.ok(j);
  assert.equal(j.text, 'x = "abcdefghi"');
  const s = j.text.indexOf('abcdefghi');
  const [a, b] = j.map(s, s + 9);
  assert.equal(text.slice(a, b), 'abc" +\n  "def" + "ghi');
  assert.ok(j.spansJoin(s, s + 9));
  assert.ok(!j.spansJoin(0, 3));
  assert.equal(continuationJoin('no joins here'), undefined);
});

void test('known secrets: raw, URL-encoded, hex and base64 occurrences are found as known-secret', () => {
  const secret = 'p@ss/word+' + chars(B64, 14);
  const known = { knownSecrets: [secret] };
  const raw = scanText(`the value is ${secret}.`, known);
  assert.deepEqual(raw.map((f) => [f.rule, f.match]), [['known-secret', secret]]);
  assert.deepEqual(scanText(`q=${encodeURIComponent(secret)}&x=1`, known).map((f) => f.rule), ['known-secret']);
  assert.deepEqual(scanText(`hex ${Buffer.from(secret).toString('hex')}`, known).map((f) => f.rule), ['known-secret']);
  for (const prefix of ['', 'a', 'ab', 'abc:']) {
    const b64 = Buffer.from(prefix + secret + ' tail').toString('base64');
    assert.ok(scanText(`auth ${b64}`, known).some((f) => f.rule === 'known-secret'), `offset ${prefix.length}`);
  }
  // A known secret that also matches a rule is reported once, as the known secret.
  const gh = fake.ghp();
  assert.deepEqual(scanText(`GITHUB_TOKEN=${gh}`, { knownSecrets: [gh] }).map((f) => f.rule), ['known-secret']);
  // Too short to search for: ignored.
  assert.deepEqual(scanText('abc abc abc', { knownSecrets: ['abc'] }), []);
  assert.ok(knownForms(secret).length >= 4);
  // One list for many texts (its forms are built once): a secret put into the same list later is found too,
  // and one taken out is no longer.
  const list = [secret];
  const other = 'An0ther-' + chars(B64, 20);
  assert.deepEqual(scanText(`x ${other} y`, { knownSecrets: list }), []);
  list.push(other);
  assert.deepEqual(scanText(`x ${other} y`, { knownSecrets: list }).map((f) => f.match), [other]);
  list[0] = other;
  list.pop();
  assert.deepEqual(scanText(`the value is ${secret}.`, { knownSecrets: list }), []);
});

void test('entropy warnings are opt-in', () => {
  const blob = chars(B64, 48);
  const text = `checksum-ish thing: ${blob}`;
  assert.deepEqual(scanText(text), []);
  assert.deepEqual(scanText(text, { entropy: true }).map((f) => f.rule), ['high-entropy']);
  assert.deepEqual(scanText(`sha ${chars('0123456789abcdef', 64)}`, { entropy: true }), []);
});

void test('lineSplitJoin joins exactly where the split-line pattern matches, windows cover every join', () => {
  // The rule, as the regex it replaced: 8 token characters, a line break and blanks, 8 token characters, no `NAME=`.
  const SPLIT = /(?<=[A-Za-z0-9_+/=-]{8})\r?\n[ \t]*(?=[A-Za-z0-9_+/=-]{8})(?![A-Za-z_][A-Za-z0-9_.-]*[ \t]*[=:])/g;
  const alphabet = 'aB3_+/=-\n\n\r \t:=.xY';
  let seed = 11;
  const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff) % n);
  for (let i = 0; i < 2000; i++) {
    const text = Array.from({ length: 20 + rand(120) }, () => alphabet[rand(alphabet.length)]).join('');
    const expected = text.replace(SPLIT, '');
    const j = lineSplitJoin(text);
    assert.equal(j?.text ?? text, expected, JSON.stringify(text));
    if (!j) continue;
    const wins = j.windows(4);
    for (let p = 0; p < j.text.length; p++) {
      if (j.spansJoin(p, p + 1)) assert.ok(wins.some(([a, b]) => a <= p && p + 1 <= b), `join at ${p} outside the windows`);
    }
  }
});

void test('windows are what widening every join point on its own and merging gives', () => {
  const SPLIT = /(?<=[A-Za-z0-9_+/=-]{8})\r?\n[ \t]*(?=[A-Za-z0-9_+/=-]{8})(?![A-Za-z_][A-Za-z0-9_.-]*[ \t]*[=:])/g;
  // The reference: each join point's window widened to whole token runs by itself, then merged in order.
  const isToken = (c: string | undefined) => c !== undefined && /[A-Za-z0-9+/=_.-]/.test(c);
  const reference = (text: string, at: number[], radius: number) => {
    const wins: [number, number][] = [];
    for (const j of at) {
      let a = Math.max(0, j - radius);
      while (a > 0 && isToken(text[a - 1])) a--;
      let b = Math.min(text.length, j + radius);
      while (b < text.length && isToken(text[b])) b++;
      const last = wins[wins.length - 1];
      if (last && a <= last[1]) last[1] = Math.max(last[1], b);
      else wins.push([a, b]);
    }
    return wins;
  };
  // Lines of token characters (a few with blanks, `NAME=`, or other characters), so that splits are common.
  const alphabet = 'aB3_+/=-xY9';
  const other = [' ', '\t', '.', ';', '"', 'K=', 'k: '];
  let seed = 5;
  // 32-bit arithmetic: a product past 2^53 would lose the low bits the modulo reads.
  const rand = (n: number) => (((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n);
  const line = () =>
    Array.from({ length: 1 + rand(24) }, () => (rand(12) === 0 ? other[rand(other.length)] : alphabet[rand(alphabet.length)])).join('');
  let checked = 0;
  for (let i = 0; i < 1500; i++) {
    const text = Array.from({ length: 2 + rand(40) }, line).join(rand(4) === 0 ? '\r\n' : '\n');
    const j = lineSplitJoin(text);
    // The join itself, on texts with many splits (the test above mostly sees none).
    assert.equal(j?.text ?? text, text.replace(SPLIT, ''), JSON.stringify(text));
    if (!j) continue;
    for (let k = 0; k < 8; k++) {
      const a: number = rand(j.text.length + 1);
      const b: number = a + rand(j.text.length + 1 - a);
      assert.equal(j.slice(a, b), j.text.slice(a, b), `${JSON.stringify(text)} slice ${a} ${b}`);
    }
    const at: number[] = [];
    for (let p = 0; p <= j.text.length; p++) if (j.spansJoin(p - 1, p + 1)) at.push(p); // a join point p is the one in (p - 1, p + 1)
    for (const radius of [0, 1, 3, 8, 40]) {
      assert.deepEqual(j.windows(radius), reference(j.text, at, radius), `${JSON.stringify(text)} radius ${radius}`);
      // A window is cut from the original text's pieces, never from the whole joined text: the same characters.
      for (const [a, b] of j.windows(radius)) assert.equal(j.slice(a, b), j.text.slice(a, b));
      checked++;
    }
  }
  assert.ok(checked > 100, `only ${checked} texts had a join`);
});

void test('base64Runs with a minimum length: exactly the runs that long or alone on their line, of all the runs', () => {
  // The reference: every maximal run of at least minLine characters (then up to two `=`), as one regex finds them.
  const everyRun = (text: string, minLine: number): Run[] => {
    const runs: Run[] = [];
    const re = new RegExp(`(?:^|[^A-Za-z0-9+/_-])([A-Za-z0-9+/_-]{${minLine},})`, 'g');
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const i = m.index + m[0].length;
      const start = i - (m[1] ?? '').length;
      const end = i + (/^={0,2}/.exec(text.slice(i))?.[0].length ?? 0);
      const wholeLine = /(?:^|\n)[ \t]*$/.test(text.slice(0, start)) && /^[ \t\r]*(?:\n|$)/.test(text.slice(end));
      runs.push({ start, end, wholeLine });
      re.lastIndex = i;
    }
    return runs;
  };
  const alphabet = 'aZ9+/_-=';
  const other = [' ', '\t', '\r', '.', '"', '==', '\n', '\n'];
  let seed = 3;
  const rand = (n: number) => (((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n);
  let wholeLines = 0;
  for (let i = 0; i < 1500; i++) {
    const text = Array.from({ length: 1 + rand(60) }, () =>
      rand(3) === 0 ? other[rand(other.length)] : Array.from({ length: rand(40) }, () => alphabet[rand(alphabet.length)]).join(''),
    ).join('');
    for (const [minLine, minLong] of [[16, 32], [4, 16], [16, 40], [8, 8]] as const) {
      // A run's length counts its padding, as the decoders count it.
      const expected = everyRun(text, minLine).filter((r) => r.wholeLine || r.end - r.start >= minLong);
      assert.deepEqual(base64Runs(text, minLine, minLong), expected, `${JSON.stringify(text)} ${minLine}/${minLong}`);
      wholeLines += expected.filter((r) => r.wholeLine && r.end - r.start < minLong).length;
    }
  }
  assert.ok(wholeLines > 100, `only ${wholeLines} short runs alone on a line`);
});

void test('findHexRuns decodes the maximal runs of hex digits of each base64 run, as a loop over the characters does', () => {
  const hexOf = (s: string) => Buffer.from(s, 'latin1').toString('hex');
  const reference = (text: string, minHex: number, runs: readonly Run[]) => {
    const out: [number, number, string][] = [];
    for (const run of runs) {
      if (run.end - run.start < minHex) continue;
      let i = run.start;
      while (i < run.end) {
        if (!/[0-9A-Fa-f]/.test(text[i] ?? '')) {
          i++;
          continue;
        }
        const start = i;
        while (i < run.end && /[0-9A-Fa-f]/.test(text[i] ?? '')) i++;
        const len = (i - start) & ~1;
        if (len < minHex) continue;
        const decoded = Buffer.from(text.slice(start, start + len), 'hex').toString('latin1');
        if ([...decoded].filter((c) => /[\x20-\x7e\t\n\r]/.test(c)).length / decoded.length >= 0.92) out.push([start, start + len, decoded]);
      }
    }
    return out;
  };
  let seed = 9;
  const rand = (n: number) => (((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n);
  let found = 0;
  for (let i = 0; i < 1500; i++) {
    const parts = Array.from({ length: 1 + rand(6) }, () => {
      switch (rand(4)) {
        case 0: return hexOf(`KEY=${'x'.repeat(rand(30))}\n`);
        case 1: return hexOf('\x00\x01\x02'.repeat(1 + rand(10)));
        case 2: return 'g'.repeat(rand(3)) + 'ABCDEF0123456789'.slice(rand(16));
        default: return [' ', '\n', 'z', '=', '_'][rand(5)] ?? '';
      }
    });
    const text = parts.join(rand(2) === 0 ? '' : ' ');
    for (const minHex of [40, 24]) {
      const runs = base64Runs(text, 16);
      const got = findHexRuns(text, minHex, runs).map((d) => [d.start, d.end, d.text]);
      assert.deepEqual(got, reference(text, minHex, runs), JSON.stringify(text));
      found += got.length;
    }
  }
  assert.ok(found > 100, `only ${found} decoded runs`);
});

void test('a run is decoded exactly when its bytes are text (or compressed): the check without decoding never drops one', () => {
  const printable = (b: Buffer) => [...b].filter((c) => (c >= 32 && c < 127) || c === 9 || c === 10 || c === 13).length / b.length;
  let seed = 21;
  const rand = (n: number) => (((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n);
  const words = ['camelCaseIdentifierWithLongName', 'node_modules/some-package/lib/index', 'XMLHttpRequestEventTarget', 'ZXhhbXBsZQ'];
  const kinds = {
    // Text with a share of other bytes around the 92% line.
    text: () => {
      const share = rand(20);
      return Buffer.from(Array.from({ length: 12 + rand(60) }, () => (rand(100) < share ? 128 + rand(128) : 32 + rand(95)))).toString('base64');
    },
    binary: () => Buffer.from(Array.from({ length: 12 + rand(60) }, () => rand(256))).toString('base64'),
    words: () => Array.from({ length: 1 + rand(3) }, () => words[rand(words.length)]).join(''),
    url: () => Buffer.from(`KEY=${'v'.repeat(rand(40))}\n`).toString('base64url'),
    gzip: () => gzipSync(Buffer.from(`TOKEN=${'x'.repeat(rand(50))}`)).toString('base64'),
  };
  const seen = new Set<string>();
  for (let i = 0; i < 3000; i++) {
    const [kind, make] = Object.entries(kinds)[rand(5)] ?? ['', () => ''];
    const made = make();
    const run = rand(2) === 0 ? made.replace(/=+$/, '') : made;
    if (run.length < 32) continue;
    for (const opts of [PUSH_BASE64, EGRESS_BASE64]) {
      const got = findBase64Runs(`x ${run} y`, opts);
      const bytes = Buffer.from(run, 'base64');
      const compressed = bytes[0] === 0x1f || bytes[0] === 0x78;
      if (!compressed && !opts.alignments) {
        const text = bytes.length >= 16 && printable(bytes) >= 0.92;
        assert.deepEqual(got.map((d) => d.text), text ? [bytes.toString('latin1')] : [], `${kind} ${run}`);
        seen.add(`${kind}:${text}`);
      }
      if (compressed && kind === 'gzip') assert.equal(got.length, 1, run);
    }
  }
  for (const k of ['text:true', 'text:false', 'binary:false', 'words:false', 'url:true']) assert.ok(seen.has(k), `no case ${k}`);
});

void test('base64 runs found in the keyword pass are the runs base64Runs finds, and the keywords those present finds', () => {
  const matcher = new KeywordMatcher([...new Set(RULES.flatMap((r) => r.keywords))]);
  const alphabet = 'aZ9+/_-=kK';
  const other = [' ', '\t', '\r', '.', '"', '==', '\n', '\n', 'é', 'sk_live_', 'AKIA'];
  let seed = 17;
  const rand = (n: number) => (((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n);
  let shortLines = 0;
  for (let i = 0; i < 1500; i++) {
    const text = Array.from({ length: 1 + rand(60) }, () =>
      rand(3) === 0 ? other[rand(other.length)] : Array.from({ length: rand(40) }, () => alphabet[rand(alphabet.length)]).join(''),
    ).join('');
    for (const [minLine, minLong] of [[16, 32], [4, 16], [16, 40], [8, 8]] as const) {
      const spans: number[] = [];
      const { long, short } = runLengths(minLine, minLong);
      const seen = matcher.presentAndRuns(text, B64_RUN_CHARS, long, short, spans);
      const expected = base64Runs(text, minLine, minLong);
      assert.deepEqual(runsFromSpans(text, spans, minLong), expected, `${JSON.stringify(text)} ${minLine}/${minLong}`);
      assert.deepEqual(seen, matcher.present(text), JSON.stringify(text));
      shortLines += expected.filter((r) => r.wholeLine && r.end - r.start < minLong).length;
    }
  }
  assert.ok(shortLines > 100, `only ${shortLines} short runs alone on a line`);
});
