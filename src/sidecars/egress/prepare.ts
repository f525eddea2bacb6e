/**
 * Host-side *prepare* of the egress proxy: the bottle's routes, hosts and
 * upstream CAs become the proxy's config file; tokens and the bottle's own
 * secrets go to the bundle's tmpfs only; the agent gets proxy URLs and must
 * trust the CA the proxy writes once it runs, never a token. Writes nothing.
 */
import { readFile } from 'node:fs/promises';
import { BottleError, errnoCode } from '../../errors.js';
import { AGENT, BUNDLE_EGRESS_CA_DIR, BUNDLE_HOST, EGRESS_ENV, EGRESS_NODE_FLAGS, sidecarCommand, bundleSecret, inBundle, SERVICE_FILES } from '../../bottle/layout.js';
import type { SidecarPlan, SidecarPrepareInput, StateFile } from '../../bottle/sidecar.js';
import { egressConfigFile, egressKnownSecrets, egressTokens } from './config-file.js';
import { INSIDE } from '../net-scope.js';

export const EGRESS_PORT = 3128;
const SYSTEM_BUNDLE = AGENT.systemCaBundle;

export async function prepare(input: SidecarPrepareInput): Promise<SidecarPlan> {
  const { bottle } = input;
  const egress = bottle.egress;

  const tokens = egressTokens(bottle, input.hostEnv, input.providerTokens);

  const stateFiles: StateFile[] = [];
  const caCerts: string[] = [];
  for (const [i, file] of egress.ca_certs.entries()) {
    let pem: string;
    try {
      pem = await readFile(file, 'utf8');
    } catch (e) {
      throw new BottleError('usage', `egress.ca_certs: cannot read ${file} (${errnoCode(e) ?? String(e)})`, { fix: `check the path in ${bottle.files.at(-1) ?? 'the bottle'}` });
    }
    stateFiles.push({ path: `${SERVICE_FILES.egress.caCerts}/${i}.pem`, content: pem, mode: 0o644 });
    caCerts.push(`${inBundle('egress', 'caCerts')}/${i}.pem`);
  }

  const config = egressConfigFile(bottle, {
    identity: input.identity,
    listen: { host: INSIDE, port: EGRESS_PORT },
    caCerts,
    caDir: BUNDLE_EGRESS_CA_DIR,
    caCertOut: inBundle('egress', 'caCert'),
    tokensFile: bundleSecret('egress-tokens.json'),
    knownSecretsFile: bundleSecret('egress-known-secrets.json'),
    auditLog: inBundle('egress', 'audit'),
    policyFile: inBundle('egress', 'policy'),
    proposalsDir: inBundle('supervise', 'queue'),
  });
  stateFiles.push(
    { path: SERVICE_FILES.egress.config, content: JSON.stringify(config, null, 2) + '\n', mode: 0o600 },
    // Routes approved while the bottle runs land here; a resumed bottle keeps them.
    { path: SERVICE_FILES.egress.policy, content: '{"routes":[]}\n', mode: 0o600, keep: true },
  );

  const proxy = `http://${BUNDLE_HOST}:${EGRESS_PORT}`;
  const noProxy = `${BUNDLE_HOST},localhost,127.0.0.1`;
  return {
    services: [
      {
        name: 'egress',
        command: sidecarCommand('egress', EGRESS_NODE_FLAGS),
        env: { ...EGRESS_ENV, BOT_BOTTLE_EGRESS_CONFIG: inBundle('egress', 'config') },
        restart: 'always',
        readyProbe: { tcpPort: EGRESS_PORT },
      },
    ],
    agentEnv: {
      HTTP_PROXY: proxy,
      HTTPS_PROXY: proxy,
      http_proxy: proxy,
      https_proxy: proxy,
      NO_PROXY: noProxy,
      no_proxy: noProxy,
      NODE_EXTRA_CA_CERTS: AGENT.egressCa,
      SSL_CERT_FILE: SYSTEM_BUNDLE,
      REQUESTS_CA_BUNDLE: SYSTEM_BUNDLE,
      CURL_CA_BUNDLE: SYSTEM_BUNDLE,
      GIT_SSL_CAINFO: SYSTEM_BUNDLE,
    },
    agentFiles: [],
    bundleSecrets: {
      'egress-tokens.json': JSON.stringify(tokens),
      'egress-known-secrets.json': JSON.stringify(egressKnownSecrets(input.knownSecrets, tokens)),
    },
    stateDirs: [SERVICE_FILES.egress.caCerts],
    stateFiles,
    // The proxy mints its CA in the bundle (the key never leaves it) and writes the certificate here.
    agentTrust: [{ stateFile: SERVICE_FILES.egress.caCert, agentPath: AGENT.egressCa }],
    describe: {
      proxy,
      routes: egress.routes.map((r) => `${r.host}:${r.port}${r.auth ? ` (auth ${r.auth.scheme} from ${r.auth.token_ref})` : ''}`),
      hosts: egress.hosts,
      ca_certs: egress.ca_certs,
    },
  };
}
