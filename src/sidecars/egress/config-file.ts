/**
 * The one builder of the egress proxy's config file, shared by a bottle's
 * sidecar bundle (prepare.ts) and `bot-bottle egress serve` on the host: the
 * same routes, the same tokens, the same rule for a missing token (an error
 * naming the route and the fix, before anything runs: a route whose token is
 * missing would only ever answer 403). parseEgressConfig (config.ts) reads
 * the result back wherever the proxy runs.
 */
import { BottleError } from '../../errors.js';
import type { Bottle } from '../../manifest/types.js';
import type { EgressConfig } from './config.js';

/** Where the proxy finds and puts things, as the process that runs it sees them. */
export interface EgressPlacement {
  readonly identity: string;
  readonly listen: { readonly host: string; readonly port: number };
  /** The bottle's extra upstream CA files, as the proxy reads them. */
  readonly caCerts: readonly string[];
  readonly caDir: string;
  readonly caCertOut: string;
  readonly tokensFile: string;
  readonly knownSecretsFile: string;
  readonly auditLog: string;
  readonly policyFile?: string;
  readonly proposalsDir: string;
  readonly workers?: number;
}

/** The config file as written: the placement and the bottle's routes, defaults left to parseEgressConfig. */
export type EgressConfigFile = EgressPlacement & Pick<EgressConfig, 'routes' | 'hosts'>;

export function egressConfigFile(bottle: Bottle, at: EgressPlacement): EgressConfigFile {
  return { ...at, routes: bottle.egress.routes, hosts: bottle.egress.hosts };
}

/**
 * token_ref -> value for every route with `auth`: a provider's own token
 * (read from its credential file) first, else the host's environment. Missing: an error.
 */
export function egressTokens(bottle: Bottle, hostEnv: Readonly<Record<string, string>>, providerTokens?: Readonly<Record<string, string>>): Record<string, string> {
  const tokens: Record<string, string> = {};
  for (const route of bottle.egress.routes) {
    if (!route.auth) continue;
    const ref = route.auth.token_ref;
    const value = (providerTokens && Object.hasOwn(providerTokens, ref) ? providerTokens[ref] : undefined) || (Object.hasOwn(hostEnv, ref) ? hostEnv[ref] : undefined);
    if (!value) {
      // Fail closed and early: a route whose token is missing would only ever 403.
      throw new BottleError('usage', `egress route ${route.host}: auth.token_ref ${route.auth.token_ref} is not set in the host environment`, {
        fix: `export ${route.auth.token_ref}=… before starting, or remove auth from the route in ${bottle.files.at(-1) ?? 'the bottle'}`,
      });
    }
    tokens[route.auth.token_ref] = value;
  }
  return tokens;
}

/** What DLP looks for: the bottle's own secret values and the tokens, once each. */
export function egressKnownSecrets(bottleSecrets: readonly string[], tokens: Readonly<Record<string, string>>): string[] {
  return [...new Set([...bottleSecrets, ...Object.values(tokens)])];
}
