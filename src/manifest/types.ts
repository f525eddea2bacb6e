/**
 * The loaded, validated, resolved manifest model the rest of the code consumes.
 * The zod schemas in `schema.ts` define the file format; these types are what
 * the loader returns after validation, `extends` resolution and merging.
 */

export type PathMatchType = 'prefix' | 'exact' | 'regex';

export interface PathMatch {
  readonly type: PathMatchType;
  readonly value: string;
}

export interface HeaderMatch {
  readonly name: string;
  readonly type: 'exact' | 'regex';
  readonly value: string;
}

export interface RouteMatch {
  readonly paths: readonly PathMatch[];
  /** Upper-case HTTP methods; empty means any. */
  readonly methods: readonly string[];
  readonly headers: readonly HeaderMatch[];
}

export type DlpAction = 'supervise' | 'redact' | 'block';

/** Rule packs a route's DLP may use; `credentials` always. */
export type DlpRulePack = 'credentials' | 'pii' | 'financial';
/** What a high-entropy string does: logged (`warn`), or a finding that triggers `on_match` (`enforce`). */
export type DlpEntropyAction = 'warn' | 'enforce';
/** What a prompt injection found in a response does. */
export type InboundAction = 'warn' | 'block' | 'supervise';

export interface RouteDlp {
  readonly outbound: boolean;
  /** Scan responses for prompt injection. */
  readonly inbound: boolean;
  readonly inbound_on_match: InboundAction;
  readonly on_match: DlpAction;
  /** Look for high-entropy strings no rule names. */
  readonly entropy: boolean;
  readonly entropy_action: DlpEntropyAction;
  readonly rules: readonly DlpRulePack[];
}

/** A route's DLP when its bottle file says nothing: credentials blocked, nothing else. */
export const DEFAULT_DLP: RouteDlp = {
  outbound: true,
  inbound: false,
  inbound_on_match: 'warn',
  on_match: 'block',
  entropy: false,
  entropy_action: 'warn',
  rules: ['credentials'],
};

export interface RouteAuth {
  /** e.g. `Bearer`, `token`, `Basic`; `x-api-key` style headers use `header`. */
  readonly scheme: string;
  /** Name of the host variable that holds the token. Never the value. */
  readonly token_ref: string;
  /** Header to set; defaults to `Authorization`. */
  readonly header: string;
}

export interface EgressRoute {
  /** Lower-case host name. */
  readonly host: string;
  readonly port: number;
  /** Empty means every path, method and header. */
  readonly matches: readonly RouteMatch[];
  readonly auth: RouteAuth | undefined;
  readonly dlp: RouteDlp | undefined;
}

export interface Egress {
  readonly routes: readonly EgressRoute[];
  /** name -> address, for the proxy only. */
  readonly hosts: Readonly<Record<string, string>>;
  /** Absolute paths of extra CA files the proxy trusts upstream. */
  readonly ca_certs: readonly string[];
}

export interface GitUser {
  readonly name: string;
  readonly email: string;
}

export interface GitGateRepo {
  readonly url: string;
  /** Absolute path of the SSH identity file on the host. */
  readonly identity: string | undefined;
  /** Pinned host key line (`ssh-ed25519 AAAA…`), or undefined. */
  readonly host_key: string | undefined;
  /** Host variable holding an HTTPS token, for https upstreams. */
  readonly token_ref: string | undefined;
}

/** What the gate does with a push that rewrites history (non-fast-forward) or deletes a branch or tag. */
export type GitGateRewrites = 'refuse' | 'supervise' | 'allow';

export interface GitGate {
  readonly user: GitUser | undefined;
  readonly repos: Readonly<Record<string, GitGateRepo>>;
  /** Default `refuse`; undefined when no file said (so a merge keeps an earlier bottle's choice). */
  readonly rewrites?: GitGateRewrites;
}

export interface AgentProvider {
  /** `claude`, `codex`, `shell`, or a user plugin name. */
  readonly template: string;
  /** Absolute path to a bottle-supplied Dockerfile. */
  readonly dockerfile: string | undefined;
  readonly auth_token: string | undefined;
  readonly forward_host_credentials: boolean;
}

export interface Runtime {
  /** Fractional CPUs, e.g. 1.5. */
  readonly cpus: number | undefined;
  /** Bytes. */
  readonly memory: number | undefined;
  readonly pids: number | undefined;
}

/** An env entry as written: literal, forwarded host variable, or prompt. */
export type EnvSource =
  | { readonly kind: 'literal'; readonly value: string }
  | { readonly kind: 'host'; readonly variable: string }
  | { readonly kind: 'prompt'; readonly text: string };

/** Where a bottle can run (bottle/spec.ts names them for the backends). */
export const BOTTLE_BACKENDS = ['docker', 'microvm'] as const;
export type BottleBackend = (typeof BOTTLE_BACKENDS)[number];

export interface Bottle {
  /** File stem, e.g. `dev` for `dev.md`. For merged bottles, names joined with `+`. */
  readonly name: string;
  /** Files this bottle came from, base first (extends chain, then merges). */
  readonly files: readonly string[];
  readonly env: Readonly<Record<string, EnvSource>>;
  readonly agent_provider: AgentProvider;
  readonly git_gate: GitGate;
  readonly egress: Egress;
  readonly supervise: boolean;
  readonly runtime: Runtime;
  /** Where the bottle runs when `start --backend` does not say; absent: docker. */
  readonly backend?: BottleBackend;
  /** Markdown body: documentation. */
  readonly doc: string;
  /**
   * Fields whose value is the default rather than written in a file, so that
   * merging a later bottle that is silent about them does not override an
   * earlier bottle's explicit value. Absent means every field was explicit.
   */
  readonly defaulted?: readonly DefaultedField[];
}

/** Bottle fields that have a non-empty default. */
export type DefaultedField = 'agent_provider.template' | 'agent_provider.forward_host_credentials' | 'supervise';

export interface Agent {
  /** File stem. */
  readonly name: string;
  readonly file: string;
  /** Bottle names to use; empty means the user picks at launch. */
  readonly bottles: readonly string[];
  readonly skills: readonly string[];
  readonly git_gate_user: GitUser | undefined;
  /** Markdown body: the system prompt. */
  readonly prompt: string;
  readonly description: string | undefined;
}

export interface ResolvedEnv {
  /** Values that came from the manifest itself. */
  readonly literals: Readonly<Record<string, string>>;
  /** Values taken from host variables or prompts: secrets, never printed. */
  readonly secrets: Readonly<Record<string, string>>;
}
