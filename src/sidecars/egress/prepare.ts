/**
 * Host-side *prepare* of the egress proxy: the bottle's routes, hosts and
 * upstream CAs become the proxy's config file; tokens and the bottle's own
 * secrets go to the bundle's tmpfs only; the agent gets proxy URLs and the
 * trust-store paths, never a token.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BottleError } from '../../errors.js';
import type { SidecarPlan, SidecarPrepareInput } from '../types.js';

export const EGRESS_PORT = 3128;
const SYSTEM_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
export const AGENT_CA_PATH = '/usr/local/share/ca-certificates/bot-bottle-egress.crt';

export async function prepare(input: SidecarPrepareInput): Promise<SidecarPlan> {
  const { bottle, hostDir, bundleDir, bundleSecretsDir } = input;
  const egress = bottle.egress;

  const tokens: Record<string, string> = {};
  for (const route of egress.routes) {
    if (!route.auth) continue;
    const value = input.hostEnv[route.auth.token_ref];
    if (!value) {
      // Fail closed and early: a route whose token is missing would only ever 403.
      throw new BottleError('usage', `egress route ${route.host}: auth.token_ref ${route.auth.token_ref} is not set in the host environment`, {
        fix: `export ${route.auth.token_ref}=… before starting, or remove auth from the route in ${bottle.files.at(-1) ?? 'the bottle'}`,
      });
    }
    tokens[route.auth.token_ref] = value;
  }

  await mkdir(join(hostDir, 'ca-certs'), { recursive: true, mode: 0o700 });
  const caCerts: string[] = [];
  for (const [i, file] of egress.ca_certs.entries()) {
    await copyFile(file, join(hostDir, 'ca-certs', `${i}.pem`));
    caCerts.push(`${bundleDir}/ca-certs/${i}.pem`);
  }

  const config = {
    identity: input.identity,
    listen: { host: '0.0.0.0', port: EGRESS_PORT },
    routes: egress.routes,
    hosts: egress.hosts,
    caCerts,
    caDir: '/tmp/egress-ca',
    caCertOut: `${bundleDir}/ca.crt`,
    tokensFile: `${bundleSecretsDir}/egress-tokens.json`,
    knownSecretsFile: `${bundleSecretsDir}/egress-known-secrets.json`,
    auditLog: `${bundleDir}/audit.jsonl`,
    policyFile: `${bundleDir}/policy.json`,
    proposalsDir: '/run/bot-bottle/supervise/queue',
  };
  await writeFile(join(hostDir, 'config.json'), JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  // Routes approved while the bottle runs land here; a resumed bottle keeps them.
  await writeFile(join(hostDir, 'policy.json'), '{"routes":[]}\n', { mode: 0o600, flag: 'wx' }).catch(() => undefined);

  const proxy = `http://${input.bundleHost}:${EGRESS_PORT}`;
  const noProxy = `${input.bundleHost},localhost,127.0.0.1`;
  return {
    services: [
      {
        name: 'egress',
        command: ['node', `${input.bundleCodeDir}/egress.js`],
        env: { BOT_BOTTLE_EGRESS_CONFIG: `${bundleDir}/config.json` },
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
      NODE_EXTRA_CA_CERTS: AGENT_CA_PATH,
      SSL_CERT_FILE: SYSTEM_BUNDLE,
      REQUESTS_CA_BUNDLE: SYSTEM_BUNDLE,
      CURL_CA_BUNDLE: SYSTEM_BUNDLE,
      GIT_SSL_CAINFO: SYSTEM_BUNDLE,
    },
    agentFiles: [],
    bundleSecrets: {
      'egress-tokens.json': JSON.stringify(tokens),
      'egress-known-secrets.json': JSON.stringify([...input.knownSecrets, ...Object.values(tokens)]),
    },
    describe: {
      proxy,
      routes: egress.routes.map((r) => `${r.host}:${r.port}${r.auth ? ` (auth ${r.auth.scheme} from ${r.auth.token_ref})` : ''}`),
      hosts: egress.hosts,
      ca_certs: egress.ca_certs,
    },
  };
}
