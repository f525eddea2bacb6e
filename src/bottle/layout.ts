/**
 * Every path inside the sidecar bundle and the agent, named once, for every
 * backend. A service's state folder on the host (`BottleState.service(name)`)
 * is mounted in the bundle at `bundleServiceDir(name)`, so the file names in
 * SERVICE_FILES hold on both sides of the mount.
 *
 * Constants only: sidecars read them inside the bundle (no packages).
 */

export const BUNDLE_CODE_DIR = '/opt/bot-bottle';
export const BUNDLE_RUN_DIR = '/run/bot-bottle';
/** The bundle's tmpfs for secrets: memory only, never the host disk. */
export const BUNDLE_SECRETS_DIR = '/tmp/secrets';
/** The bundle's name on the bottle's internal network, as the agent sees it. */
export const BUNDLE_HOST = 'bundle';
export const BUNDLE_HEARTBEAT_PORT = 7070;

/** The services of a bottle, each with a state folder of its own. */
export type ServiceName = 'agent' | 'bundle' | 'egress' | 'git-gate' | 'supervise';
/** Services whose audit log `logs` merges. */
export const AUDIT_SOURCES = ['egress', 'git-gate', 'supervise'] as const;
export type AuditSource = (typeof AUDIT_SOURCES)[number];

/** File names inside each mounted service folder (host and bundle alike). */
export const SERVICE_FILES = {
  bundle: { config: 'bundle.json', health: 'health.json', passwd: 'passwd', relay: 'relay' },
  egress: { config: 'config.json', policy: 'policy.json', routes: 'routes.d', caCert: 'ca.crt', caCerts: 'ca-certs', audit: 'audit.jsonl' },
  'git-gate': { config: 'config.json', hooks: 'hooks', audit: 'audit.jsonl' },
  supervise: { queue: 'queue', audit: 'audit.jsonl', currentDockerfile: 'Dockerfile.current' },
} as const;
export type MountedService = keyof typeof SERVICE_FILES;
export type ServiceFile<S extends MountedService> = keyof (typeof SERVICE_FILES)[S];

/** Where a service's state folder appears in the bundle. The bundle's own folder is the run dir itself. */
export function bundleServiceDir(service: MountedService): string {
  return service === 'bundle' ? BUNDLE_RUN_DIR : `${BUNDLE_RUN_DIR}/${service}`;
}

/** A service file as the bundle sees it, e.g. `inBundle('egress', 'config')` = `/run/bot-bottle/egress/config.json`. */
export function inBundle<S extends MountedService>(service: S, file: ServiceFile<S>): string {
  return `${bundleServiceDir(service)}/${SERVICE_FILES[service][file] as string}`;
}

/**
 * Set in the bundle's environment when the backend hands the secrets to the
 * init on its stdin (one JSON object, then EOF) rather than writing them itself.
 */
export const BUNDLE_SECRETS_STDIN_ENV = 'BOT_BOTTLE_SECRETS_STDIN';

/** A secret as the bundle sees it (tmpfs). */
export function bundleSecret(name: string): string {
  return `${BUNDLE_SECRETS_DIR}/${name}`;
}

/** A bundled sidecar entry file in the bundle image. */
export function bundleEntry(name: string): string {
  return `${BUNDLE_CODE_DIR}/${name}.js`;
}

/**
 * V8's young generation capped at 1 MiB a semi-space (the default grows to
 * 16): sidecars allocate short-lived objects fast (a proxied body is a stream
 * of chunks), and every young-generation page ever used stays resident.
 *
 * The old generation may grow by half before the next major GC (V8 picks a
 * factor of up to 4 for a small heap). With the small young generation,
 * requests in flight are promoted and die in the old one. Under load the
 * proxy's heap grew from 14 to 52 MB before V8 collected it. With this flag
 * it stays at about 22 MB, for no throughput change we could measure.
 */
export const SIDECAR_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--heap-growing-percent=50'];

/**
 * The egress proxy's young generation may grow to 2 MiB a semi-space. Each
 * small request it proxies allocates some 23 KB that dies young, but the
 * requests in flight (16 in the proxy benchmark) survive a scavenge that
 * comes every 40 or so requests, are copied and promoted, and die in the old
 * generation. Twice the room halves the scavenges: GC went from 10.6 to 7.9 %
 * of the main thread's busy time on small GETs (CPU profiles), about 2 MiB
 * more at peak under load, which EGRESS_ENV more than pays back. An idle
 * proxy allocates little, and the space only grows under load.
 */
export const EGRESS_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2', '--heap-growing-percent=50'];

/**
 * The egress proxy's environment in the bundle: glibc makes a malloc arena
 * per thread that allocates (the main thread, V8's GC helpers, libuv's pool)
 * up to 8 a core, and each keeps what was freed in it. Two arenas cut the
 * proxy's peak RSS under the benchmark's four workloads from 97.5-99.0 to
 * 93.0-93.6 MiB (paired runs, Node 22).
 */
export const EGRESS_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };

/** The command that runs a bundled sidecar entry in the bundle. */
export function sidecarCommand(name: string, flags: readonly string[] = SIDECAR_NODE_FLAGS): string[] {
  return ['node', ...flags, bundleEntry(name)];
}

/** Where the egress proxy keeps its CA key: the bundle's tmpfs, never the host. */
export const BUNDLE_EGRESS_CA_DIR = '/tmp/egress-ca';

/** Paths inside the agent. */
export const AGENT = {
  /** The agent's tmpfs (memory only, agent user only): secret env, prompt, notices. */
  runDir: '/run/bot-bottle',
  secretEnv: '/run/bot-bottle/env',
  prompt: '/run/bot-bottle/prompt',
  notice: '/run/bot-bottle/notice',
  workspace: '/workspace',
  home: '/home/agent',
  gitconfig: '/home/agent/.gitconfig',
  /** The system trust store: curl, git, Python and OpenSSL read it. */
  systemCaBundle: '/etc/ssl/certs/ca-certificates.crt',
  /** Where an extra CA the agent must trust is installed (Node reads it through NODE_EXTRA_CA_CERTS). */
  egressCa: '/usr/local/share/ca-certificates/bot-bottle-egress.crt',
} as const;
