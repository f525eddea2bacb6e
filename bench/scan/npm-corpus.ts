/**
 * Real third-party code for the false-positive benchmarks: a pinned list of
 * widely used npm packages, fetched with `npm pack` at bench time into a cache
 * folder (never committed) and unpacked there.
 *
 *   node --import tsx bench/scan/npm-corpus.ts      # fetch + unpack, print the folder and size
 *
 * The cache is `$BB_NPM_CORPUS` or `/tmp/bot-bottle-npm-corpus`; a package
 * already unpacked is not fetched again. The list mixes what people ship:
 * frameworks, HTTP clients, database drivers, auth and crypto libraries
 * (whose code is full of `secret`, `token`, `password` names), cloud SDKs and
 * their type declarations.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export const PACKAGES: readonly string[] = [
  'lodash@4.18.1',
  'express@5.3.0',
  'react@19.3.1',
  'react-dom@19.3.1',
  'axios@1.21.1',
  'moment@2.31.0',
  'chalk@6.0.1',
  'commander@15.1.0',
  'debug@4.4.3',
  'uuid@14.0.3',
  'yargs@18.2.0',
  'jquery@4.0.0',
  'vue@3.5.45',
  '@babel/core@8.1.3',
  'rxjs@7.8.2',
  'ws@8.23.1',
  'socket.io@4.8.4',
  'mongoose@9.12.1',
  'sequelize@6.37.8',
  'pg@8.23.1',
  'mysql2@3.24.6',
  'ioredis@6.0.0',
  'jsonwebtoken@9.0.3',
  'passport@0.7.0',
  'dotenv@18.0.10',
  'node-fetch@3.3.2',
  'got@16.1.0',
  'stripe@23.1.0',
  'twilio@6.3.1',
  '@octokit/rest@22.0.1',
  'nodemailer@10.6.1',
  'knex@3.3.0',
  'semver@7.8.6',
  'glob@14.0.6',
  'fs-extra@11.4.1',
  'js-yaml@5.5.0',
  'ajv@8.20.0',
  'joi@18.3.2',
  'zod@4.6.7',
  'date-fns@4.4.0',
  'dayjs@1.11.23',
  'luxon@3.7.2',
  'handlebars@4.7.10',
  'ejs@7.0.2',
  'marked@18.2.1',
  'markdown-it@15.0.3',
  'cheerio@1.2.0',
  'helmet@8.3.0',
  'cors@2.8.6',
  'express-session@1.19.0',
  'openid-client@6.9.0',
  'jose@6.2.18',
  'node-forge@1.4.4',
  'crypto-js@4.2.0',
  'bcryptjs@3.0.3',
  '@slack/web-api@8.2.0',
  '@sendgrid/mail@8.1.6',
  'kafkajs@2.2.4',
  'amqplib@2.3.1',
  'graphql@17.1.0',
  'firebase-admin@14.5.1',
  '@aws-sdk/client-s3@3.1175.0',
  '@azure/identity@4.14.1',
];

export function corpusDir(): string {
  return process.env.BB_NPM_CORPUS ?? '/tmp/bot-bottle-npm-corpus';
}

const dirName = (spec: string): string => spec.replace(/^@/, '').replace(/[/@]/g, '__');

/** Fetch (`npm pack`) and unpack every package not yet in the cache; returns the unpacked roots. */
export function fetchCorpus(log: (s: string) => void = (s) => process.stderr.write(`${s}\n`)): string[] {
  return fetchPackages(PACKAGES, corpusDir(), log);
}

/** `specs` (`name@version`) fetched with `npm pack` into `root`/tarballs and unpacked under `root`/pkg; their folders, in order. */
export function fetchPackages(specs: readonly string[], root: string, log: (s: string) => void = (s) => process.stderr.write(`${s}\n`)): string[] {
  const tarballs = join(root, 'tarballs');
  mkdirSync(tarballs, { recursive: true });
  const missing = specs.filter((p) => !existsSync(join(root, 'pkg', dirName(p), '.done')));
  if (missing.length > 0) {
    log(`npm pack: fetching ${missing.length} package(s) into ${tarballs}`);
    const out = execFileSync('npm', ['pack', '--json', '--pack-destination', tarballs, ...missing], { encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'inherit'] });
    const packed = JSON.parse(out) as { filename: string; name: string; version: string }[];
    for (const p of packed) {
      const spec = `${p.name}@${p.version}`;
      const dest = join(root, 'pkg', dirName(spec));
      mkdirSync(dest, { recursive: true });
      const file = join(tarballs, p.filename.replace(/^@/, '').replace(/\//g, '-'));
      const tgz = existsSync(file) ? file : join(tarballs, p.filename);
      execFileSync('tar', ['-xzf', tgz, '-C', dest, '--no-same-owner']);
      writeFileSync(join(dest, '.done'), '');
    }
  }
  return specs.map((p) => join(root, 'pkg', dirName(p)));
}

const TEXT_EXT = /\.(?:[cm]?[jt]sx?|d\.[cm]?ts|json|md|markdown|ya?ml|txt|html?|css|scss|map|flow|coffee|sh|cjs|mjs|ini|toml|xml|d\.ts)$/i;
const SKIP = /(?:^|\/)(?:\.done)$/;

export interface CorpusFile {
  /** Path relative to the cache's `pkg/` folder: `<package>/<path in tarball>`. */
  readonly rel: string;
  readonly abs: string;
  readonly size: number;
}

/**
 * The files under each unpacked package that `keep` accepts (never a source map: it repeats the sources,
 * nor the cache's `.done` marker), named from the package's folder, sorted by that name.
 */
export function packageFiles(roots: readonly string[], keep: (f: CorpusFile) => boolean): CorpusFile[] {
  const out: CorpusFile[] = [];
  const walk = (dir: string, base: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const abs = join(dir, e.name);
      if (e.isDirectory()) walk(abs, base);
      else if (e.isFile() && !e.name.endsWith('.map') && !SKIP.test(e.name)) {
        const f = { rel: relative(base, abs), abs, size: statSync(abs).size };
        if (keep(f)) out.push(f);
      }
    }
  };
  for (const r of roots) walk(r, join(r, '..'));
  return out.sort((a, b) => (a.rel < b.rel ? -1 : 1));
}

/** Every text file of the unpacked packages, by extension. */
export function corpusFiles(roots: readonly string[]): CorpusFile[] {
  return packageFiles(roots, (f) => TEXT_EXT.test(f.abs));
}

export function readCorpusFile(f: CorpusFile): Buffer {
  return readFileSync(f.abs);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const roots = fetchCorpus();
  const files = corpusFiles(roots);
  const bytes = files.reduce((a, f) => a + f.size, 0);
  process.stdout.write(`${corpusDir()}: ${PACKAGES.length} packages, ${files.length} text files, ${(bytes / 1e6).toFixed(1)} MB\n`);
}
