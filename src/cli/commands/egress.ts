import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { BottleError } from '../../errors.js';
// The front door (src/index.ts) does not export the bottle loader; importing the
// manifest module directly also keeps this command free of the engine code.
import { loadBottle } from '../../manifest/index.js';
import type { Bottle } from '../../manifest/types.js';
import type { CliContext } from '../context.js';

export interface EgressServeFlags {
  bottle: string;
  listen: string;
  caOut: string;
  audit?: string;
  workers?: string;
  proposals?: string;
}

/** `HOST:PORT` or `PORT` (loopback). */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):)?([0-9]{1,5})$/.exec(text.trim());
  const port = m === null ? NaN : Number(m[2]);
  if (m === null || !(port >= 0 && port <= 65535)) {
    throw new BottleError('usage', `--listen ${JSON.stringify(text)} is not HOST:PORT`, { fix: '--listen 127.0.0.1:18080' });
  }
  return { host: (m[1] ?? '127.0.0.1').replace(/^\[|\]$/g, ''), port };
}

/**
 * The proxy config for a bottle, written into `dir`: tokens (by token_ref,
 * from the host environment) and known secrets (the bottle's forwarded env
 * values and those tokens) in mode-600 files beside it.
 */
export function writeServeConfig(bottle: Bottle, hostEnv: Readonly<Record<string, string>>, dir: string, flags: EgressServeFlags): { configPath: string; missingTokens: string[] } {
  const tokens: Record<string, string> = {};
  const missingTokens: string[] = [];
  for (const r of bottle.egress.routes) {
    if (r.auth === undefined) continue;
    const v = Object.hasOwn(hostEnv, r.auth.token_ref) ? hostEnv[r.auth.token_ref] : undefined;
    if (v === undefined || v === '') missingTokens.push(r.auth.token_ref);
    else tokens[r.auth.token_ref] = v;
  }
  const known = new Set<string>(Object.values(tokens));
  for (const source of Object.values(bottle.env)) {
    if (source.kind !== 'host') continue;
    const v = Object.hasOwn(hostEnv, source.variable) ? hostEnv[source.variable] : undefined;
    if (v !== undefined && v !== '') known.add(v);
  }
  const tokensFile = join(dir, 'tokens.json');
  const knownSecretsFile = join(dir, 'known-secrets.json');
  writeFileSync(tokensFile, JSON.stringify(tokens), { mode: 0o600 });
  writeFileSync(knownSecretsFile, JSON.stringify([...known]), { mode: 0o600 });
  const workers = flags.workers === undefined ? undefined : Number(flags.workers);
  if (workers !== undefined && !(Number.isInteger(workers) && workers >= 1 && workers <= 64)) {
    throw new BottleError('usage', `--workers ${flags.workers} is not an integer 1-64`);
  }
  const config = {
    identity: `egress-serve-${bottle.name}`,
    listen: parseListen(flags.listen),
    routes: bottle.egress.routes,
    hosts: bottle.egress.hosts,
    caCerts: bottle.egress.ca_certs,
    caDir: join(dir, 'ca'),
    caCertOut: resolve(flags.caOut),
    tokensFile,
    knownSecretsFile,
    auditLog: resolve(flags.audit ?? join(dir, 'audit.jsonl')),
    proposalsDir: resolve(flags.proposals ?? join(dir, 'proposals')),
    ...(workers === undefined ? {} : { workers }),
  };
  const configPath = join(dir, 'egress.json');
  writeFileSync(configPath, JSON.stringify(config, null, 2), { mode: 0o600 });
  return { configPath, missingTokens };
}

export function registerEgress(program: Command, ctx: () => CliContext): void {
  const egress = program.command('egress').description('the egress proxy, run on the host (benchmarks, policy debugging)');
  egress
    .command('serve')
    .description("run a bottle's egress proxy on this host until interrupted")
    .requiredOption('--bottle <name>', 'bottle whose egress routes, hosts and CA files to use')
    .requiredOption('--listen <host:port>', 'address to listen on, e.g. 127.0.0.1:18080')
    .requiredOption('--ca-out <file>', "where to write the proxy's CA certificate (trust it in the client)")
    .option('--audit <file>', 'append one JSON line per request here (default: a temporary file)')
    .option('--proposals <dir>', 'where DLP holds (on_match: supervise) write proposals (default: a temporary folder)')
    .option('--workers <n>', 'serving processes (default 1; more only pays with idle cores)')
    .addHelpText('after', '\nExample:\n  bot-bottle egress serve --bottle dev --listen 127.0.0.1:18080 --ca-out /tmp/egress-ca.pem\n  curl --proxy http://127.0.0.1:18080 --cacert /tmp/egress-ca.pem https://api.github.com/\n')
    .action(async (flags: EgressServeFlags) => {
      const c = ctx();
      const bottle = await loadBottle(c.settings, flags.bottle);
      const dir = mkdtempSync(join(tmpdir(), 'bot-bottle-egress-'));
      chmodSync(dir, 0o700);
      const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
      let running: Awaited<ReturnType<typeof import('../../sidecars/egress/run.js').runEgress>>;
      try {
        const { configPath, missingTokens } = writeServeConfig(bottle, c.settings.hostEnv, dir, flags);
        for (const t of missingTokens) process.stderr.write(`warning: ${t} is not set on this host: requests on its route will be refused (token-unavailable)\n`);
        running = await (await import('../../sidecars/egress/run.js')).runEgress({ configPath, log: (line) => process.stderr.write(`${line}\n`) });
      } catch (err) {
        cleanup();
        throw err;
      }
      const a = running.address;
      process.stdout.write(
        `egress proxy for bottle ${bottle.name} listening on ${a.address}:${a.port} (${running.pids().length} process(es), ${running.proxy.routes.length} route(s)); CA certificate in ${running.config.caCertOut ?? '?'}; pid ${process.pid}\n`,
      );
      await new Promise<void>((done) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          process.off('SIGHUP', reload);
          void running.close().finally(done);
        };
        const reload = (): void => running.reload();
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
        process.on('SIGHUP', reload);
      });
      cleanup();
    });
}
