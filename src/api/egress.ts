/**
 * A bottle's egress proxy run on this host (`bot-bottle egress serve`): for
 * benchmarks and policy debugging. The config comes from the same builder
 * the sidecar bundle uses (sidecars/egress/config-file.ts), so the routes,
 * tokens and missing-token rule are the bottle's own. Its files live in a
 * private temporary folder, removed on close.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadBottle } from '../manifest/index.js';
import type { Settings } from '../settings.js';
import { egressConfigFile, egressKnownSecrets, egressTokens } from '../sidecars/egress/config-file.js';

export interface EgressServeOptions {
  /** The bottle whose routes, hosts and CA files to use. */
  readonly bottle: string;
  readonly listen: { readonly host: string; readonly port: number };
  /** Where the proxy's CA certificate is written (clients trust it). */
  readonly caOut: string;
  /** One JSON line per request; default a file in the temporary folder. */
  readonly audit?: string;
  /** Where DLP holds write proposals; default a folder in the temporary folder. */
  readonly proposals?: string;
  readonly workers?: number;
  readonly log?: (line: string) => void;
}

export interface EgressServer {
  readonly bottle: string;
  readonly address: { readonly address: string; readonly port: number };
  readonly routes: number;
  readonly caCertOut: string;
  pids(): number[];
  /** Re-read tokens and the policy (SIGHUP). */
  reload(): void;
  close(): Promise<void>;
}

export async function serveEgress(settings: Settings, opts: EgressServeOptions): Promise<EgressServer> {
  const bottle = await loadBottle(settings, opts.bottle);
  const tokens = egressTokens(bottle, settings.hostEnv);
  const forwarded = Object.values(bottle.env).flatMap((source) => {
    const v = source.kind === 'host' && Object.hasOwn(settings.hostEnv, source.variable) ? settings.hostEnv[source.variable] : undefined;
    return v ? [v] : [];
  });
  const dir = await mkdtemp(join(tmpdir(), 'bot-bottle-egress-'));
  const cleanup = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    await chmod(dir, 0o700);
    const caCertOut = resolve(opts.caOut);
    const config = egressConfigFile(bottle, {
      identity: `egress-serve-${bottle.name}`,
      listen: opts.listen,
      caCerts: bottle.egress.ca_certs,
      caDir: join(dir, 'ca'),
      caCertOut,
      tokensFile: join(dir, 'tokens.json'),
      knownSecretsFile: join(dir, 'known-secrets.json'),
      auditLog: resolve(opts.audit ?? join(dir, 'audit.jsonl')),
      proposalsDir: resolve(opts.proposals ?? join(dir, 'proposals')),
      ...(opts.workers === undefined ? {} : { workers: opts.workers }),
    });
    await writeFile(config.tokensFile, JSON.stringify(tokens), { mode: 0o600 });
    await writeFile(config.knownSecretsFile, JSON.stringify(egressKnownSecrets(forwarded, tokens)), { mode: 0o600 });
    const configPath = join(dir, 'egress.json');
    await writeFile(configPath, JSON.stringify(config, null, 2), { mode: 0o600 });
    // Loaded on use: the proxy is heavy for every other command.
    const { runEgress } = await import('../sidecars/egress/run.js');
    const running = await runEgress({ configPath, ...(opts.log ? { log: opts.log } : {}) });
    return {
      bottle: bottle.name,
      address: { address: running.address.address, port: running.address.port },
      routes: running.proxy.routes.length,
      caCertOut,
      pids: () => running.pids(),
      reload: () => running.reload(),
      close: async () => {
        await running.close();
        await cleanup();
      },
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
