/**
 * Writes the proxy config of a bottle into a folder, the way a bottle's
 * bundle gets it (sidecars/egress/config-file.ts), so that the proxy bench
 * can run the shipped sidecar entry (dist/bundle/egress.js) on its own, in a
 * process of its own, as the bundle runs it: not inside the CLI, whose
 * manifest and command code would count in the proxy's memory.
 *
 *   node --import tsx bench/proxy/egress-config.ts BOTTLE DIR HOST:PORT CA_OUT AUDIT   -> prints DIR/egress.json
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadBottle } from '../../src/manifest/index.js';
import { readSettings } from '../../src/settings.js';
import { egressConfigFile, egressKnownSecrets, egressTokens } from '../../src/sidecars/egress/config-file.js';

const [name, dirArg, listen, caOut, audit] = process.argv.slice(2);
if (name === undefined || dirArg === undefined || listen === undefined || caOut === undefined || audit === undefined) {
  process.stderr.write('usage: egress-config.ts BOTTLE DIR HOST:PORT CA_OUT AUDIT\n');
  process.exit(64);
}
const settings = readSettings();
const bottle = await loadBottle(settings, name);
const dir = resolve(dirArg);
mkdirSync(dir, { recursive: true });
chmodSync(dir, 0o700);
const at = listen.lastIndexOf(':');
const tokens = egressTokens(bottle, settings.hostEnv);
const config = egressConfigFile(bottle, {
  identity: `egress-bench-${bottle.name}`,
  listen: { host: listen.slice(0, at), port: Number(listen.slice(at + 1)) },
  caCerts: bottle.egress.ca_certs,
  caDir: join(dir, 'ca'),
  caCertOut: resolve(caOut),
  tokensFile: join(dir, 'tokens.json'),
  knownSecretsFile: join(dir, 'known-secrets.json'),
  auditLog: resolve(audit),
  proposalsDir: join(dir, 'proposals'),
  ...(process.env.WORKERS ? { workers: Number(process.env.WORKERS) } : {}),
});
writeFileSync(config.tokensFile, JSON.stringify(tokens), { mode: 0o600 });
writeFileSync(config.knownSecretsFile, JSON.stringify(egressKnownSecrets([], tokens)), { mode: 0o600 });
writeFileSync(join(dir, 'egress.json'), JSON.stringify(config, null, 2), { mode: 0o600 });
process.stdout.write(`${join(dir, 'egress.json')}\n`);
