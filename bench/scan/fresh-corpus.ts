/**
 * A second real-code corpus the scanner was never tuned on (issue 12): pinned
 * packages from three registries, none of them in npm-corpus.ts, fetched at
 * bench time into a cache folder (never committed) and unpacked there.
 *
 *   node --import tsx bench/scan/fresh-corpus.ts [--held-out | --held-out-2]   # fetch + unpack, print the folder and size
 *
 * - npm (`npm pack`): auth strategies, identity and cloud SDKs whose code is
 *   full of `secret`, `token`, `password`, `key` names.
 * - PyPI (`pip download --no-deps --only-binary :all:`, through whatever index
 *   pip is set up with): web frameworks, auth, crypto and cloud clients. A
 *   wheel is a zip: it is unpacked as is.
 * - Debian (`apt-get download` + `dpkg -x`): the Go and Ruby sources Debian
 *   ships as `golang-*-dev` and `ruby-*` packages (OAuth, JWT, OIDC, S3,
 *   GitLab, Slack clients), so the corpus is not only JavaScript and Python.
 *
 * `HELD_OUT` is a second list kept apart: it is scanned only after the rules
 * were changed on what `PACKAGES` showed, so its figure says whether the
 * changes generalise. The cache is `$BB_FRESH_CORPUS` or
 * `/tmp/bot-bottle-fresh-corpus`; a package already unpacked is not fetched again.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageFiles, type CorpusFile } from './npm-corpus.js';

export interface Pkg {
  readonly from: 'npm' | 'pypi' | 'deb';
  readonly name: string;
  readonly version: string;
}

const npm = (name: string, version: string): Pkg => ({ from: 'npm', name, version });
const pypi = (name: string, version: string): Pkg => ({ from: 'pypi', name, version });
const deb = (name: string, version: string): Pkg => ({ from: 'deb', name, version });

export const PACKAGES: readonly Pkg[] = [
  npm('next-auth', '4.24.15'),
  npm('passport-jwt', '4.0.1'),
  npm('passport-oauth2', '1.8.0'),
  npm('passport-google-oauth20', '2.0.0'),
  npm('passport-github2', '0.1.12'),
  npm('@azure/keyvault-secrets', '4.11.2'),
  npm('@azure/storage-blob', '12.32.0'),
  npm('@azure/msal-node', '7.2.3'),
  npm('@google-cloud/storage', '7.22.0'),
  npm('@google-cloud/secret-manager', '6.3.0'),
  npm('google-auth-library', '10.9.1'),
  npm('@octokit/auth-app', '8.3.1'),
  npm('keycloak-js', '26.2.4'),
  npm('oidc-client-ts', '3.5.0'),
  npm('auth0', '7.1.0'),
  npm('simple-oauth2', '5.1.0'),
  npm('@okta/okta-auth-js', '8.0.1'),
  npm('node-vault', '0.12.0'),
  npm('@aws-sdk/client-secrets-manager', '3.1178.0'),
  npm('@aws-sdk/credential-providers', '3.1178.0'),
  npm('@supabase/supabase-js', '2.109.0'),
  npm('mailgun.js', '14.0.1'),
  npm('plaid', '47.0.0'),
  pypi('django', '5.2.17'),
  pypi('flask', '3.1.3'),
  pypi('sqlalchemy', '2.1.1'),
  pypi('boto3', '1.43.107'),
  pypi('paramiko', '5.0.0'),
  pypi('cryptography', '50.0.2'),
  pypi('celery', '5.6.3'),
  pypi('requests-oauthlib', '2.0.0'),
  pypi('oauthlib', '4.0.0'),
  pypi('pyjwt', '2.15.1'),
  pypi('google-auth', '2.59.1'),
  pypi('authlib', '1.8.0'),
  pypi('docker', '7.2.0'),
  pypi('redis', '8.1.0'),
  pypi('pymongo', '4.18.2'),
  pypi('langchain-community', '0.4.2'),
  pypi('openai', '3.22.1'),
  pypi('pygithub', '2.10.0'),
  pypi('jwcrypto', '1.6.1'),
  pypi('twisted', '26.4.0'),
  pypi('keyring', '25.7.0'),
  pypi('flask-login', '0.6.3'),
  deb('golang-github-coreos-go-oidc-dev', '2.1.0-2'),
  deb('golang-github-golang-jwt-jwt-dev', '4.4.3-1'),
  deb('golang-github-markbates-goth-dev', '1.42.0-9'),
  deb('golang-github-minio-minio-go-v7-dev', '7.0.46-1'),
  deb('golang-github-slack-go-slack-dev', '0.11.3-2'),
  deb('golang-github-xanzy-go-gitlab-dev', '0.73.1-2'),
  deb('golang-github-gophercloud-gophercloud-dev', '0.12.0-1'),
  deb('ruby-devise', '4.8.1-1'),
  deb('ruby-oauth2', '1.4.4-1+deb12u1'),
  deb('ruby-jwt', '2.5.0-1+deb12u1'),
  deb('ruby-omniauth', '2.1.1-1'),
];

/** Scanned only after the rules were changed on `PACKAGES`: the figure that says whether the changes generalise. */
export const HELD_OUT: readonly Pkg[] = [
  npm('@auth0/nextjs-auth0', '4.30.0'),
  npm('@firebase/auth', '1.13.6'),
  npm('@azure/cosmos', '4.9.3'),
  npm('@aws-amplify/auth', '6.21.1'),
  pypi('flask-jwt-extended', '4.7.4'),
  pypi('google-auth-oauthlib', '1.5.0'),
  pypi('anthropic', '1.13.0'),
  pypi('elasticsearch', '9.5.1'),
  deb('golang-github-docker-docker-credential-helpers-dev', '0.6.4+ds1-1'),
  deb('ruby-doorkeeper', '5.5.0-2+deb12u1'),
];

/**
 * A second held-out list: after the first one was scanned, three of its four
 * findings led to rule changes, so it was no longer unseen. This one was
 * scanned only after those changes.
 */
export const HELD_OUT_2: readonly Pkg[] = [
  npm('express-jwt', '8.5.1'),
  npm('@fastify/jwt', '10.2.8'),
  npm('@octokit/oauth-app', '8.0.4'),
  npm('jwks-rsa', '4.1.0'),
  pypi('oauth2client', '4.1.3'),
  pypi('pymysql', '1.2.3'),
  pypi('neo4j', '6.3.1'),
  pypi('langchain-openai', '1.6.6'),
  deb('golang-github-gophercloud-utils-dev', '0.0~git20200508.b0167b9-3'),
  deb('ruby-devise-two-factor', '4.0.2-1'),
];

export function freshDir(): string {
  return process.env.BB_FRESH_CORPUS ?? '/tmp/bot-bottle-fresh-corpus';
}

export const pkgDir = (p: Pkg): string => `${p.from}__${p.name.replace(/^@/, '').replace(/[/@]/g, '__')}__${p.version.replace(/[^\w.-]/g, '_')}`;

/** Fetch and unpack every package of `list` not yet in the cache; returns the unpacked roots. */
export function fetchFresh(list: readonly Pkg[], log: (s: string) => void = (s) => process.stderr.write(`${s}\n`)): string[] {
  const root = freshDir();
  const dl = join(root, 'downloads');
  mkdirSync(dl, { recursive: true });
  for (const p of list) {
    const dest = join(root, 'pkg', pkgDir(p));
    if (existsSync(join(dest, '.done'))) continue;
    log(`${p.from}: fetching ${p.name} ${p.version}`);
    rmSync(dest, { recursive: true, force: true });
    mkdirSync(dest, { recursive: true });
    const tmp = join(dl, pkgDir(p));
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    const io = { cwd: tmp, stdio: ['ignore', 'ignore', 'inherit'] as ('ignore' | 'inherit')[] };
    if (p.from === 'npm') {
      execFileSync('npm', ['pack', '--silent', '--pack-destination', tmp, `${p.name}@${p.version}`], io);
    } else if (p.from === 'pypi') {
      execFileSync('pip', ['download', '-q', '--no-deps', '--only-binary', ':all:', '-d', tmp, `${p.name}==${p.version}`], io);
    } else {
      execFileSync('apt-get', ['download', '-q', `${p.name}=${p.version}`], io);
    }
    const [file] = readdirSync(tmp);
    if (!file) throw new Error(`${p.from} ${p.name}: nothing downloaded`);
    const f = join(tmp, file);
    if (file.endsWith('.tgz')) execFileSync('tar', ['-xzf', f, '-C', dest, '--no-same-owner']);
    else if (file.endsWith('.whl')) execFileSync('unzip', ['-q', '-o', f, '-d', dest]);
    else if (file.endsWith('.deb')) execFileSync('dpkg', ['-x', f, dest]);
    else throw new Error(`${p.from} ${p.name}: unknown archive ${file}`);
    rmSync(tmp, { recursive: true, force: true });
    writeFileSync(join(dest, '.done'), '');
  }
  return list.map((p) => join(root, 'pkg', pkgDir(p)));
}

/** `rel` is `<package dir>/<path in the package>`: also the path it gets in the bench's git repository. */
export type FreshFile = CorpusFile;

/** A NUL in the first 8000 bytes: binary (what git and our scanner decide too). */
function binary(abs: string): boolean {
  const fd = openSync(abs, 'r');
  try {
    const b = Buffer.alloc(8000);
    const n = readSync(fd, b, 0, b.length, 0);
    return b.subarray(0, n).includes(0);
  } finally {
    closeSync(fd);
  }
}

/**
 * Every text file of the unpacked packages, whatever its extension (a repository
 * holds them all), below 2 MB, source maps left out (they repeat the sources);
 * paths git fast-import would need quoted are left out too.
 */
export function freshFiles(roots: readonly string[]): FreshFile[] {
  return packageFiles(roots, (f) => f.size > 0 && f.size <= 2_000_000 && /^[\w./@+-]+$/.test(f.rel) && !binary(f.abs));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const list = process.argv.includes('--held-out-2') ? HELD_OUT_2 : process.argv.includes('--held-out') ? HELD_OUT : PACKAGES;
  const files = freshFiles(fetchFresh(list));
  const bytes = files.reduce((a, f) => a + f.size, 0);
  process.stdout.write(`${freshDir()}: ${list.length} packages, ${files.length} text files, ${(bytes / 1e6).toFixed(1)} MB\n`);
}
