/**
 * The front-matter formats, as zod schemas. The schema is the documentation:
 * every field says what it is for. Schemas validate only; defaults are applied
 * after `extends` and merging (see `bottle-file.ts`, `merge.ts`), because a
 * default written here would override a base bottle's explicit value.
 */
import * as z from 'zod';
import { checkEnvSource } from './env.js';
import {
  MANIFEST_NAME,
  cpusProblem,
  folderNameProblem,
  hostNameProblem,
  parseHostPort,
  parseMemory,
  regexProblem,
  secretRefProblem,
  varNameProblem,
} from './rules.js';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { BOTTLE_BACKENDS } from './types.js';

type Check<T> = (value: T) => string | undefined;

/** Turns a problem-sentence check into a zod refinement on the current path. */
function rule<T>(check: Check<T>): (value: T, ctx: z.RefinementCtx<T>) => void {
  return (value, ctx) => {
    const problem = check(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  };
}

const manifestName = z
  .string()
  .regex(MANIFEST_NAME, { error: 'must be a manifest name: lower-case letters, digits and `-`, starting with a letter' });
const folderName = z.string().superRefine(rule(folderNameProblem));
const varName = z.string().superRefine(rule(varNameProblem));
const secretRef = z.string().superRefine(rule(secretRefProblem));
const nonEmpty = z.string().min(1, { error: 'must not be empty' });

const gitUser = z
  .strictObject({
    name: nonEmpty.describe('Commit author name used inside the bottle.'),
    email: z
      .string()
      .regex(/^[^\s@]+@[^\s@]+$/, { error: 'must be an e-mail address' })
      .describe('Commit author e-mail used inside the bottle.'),
  })
  .describe('The git identity the agent commits as.');

const ignored = (what: string): z.ZodOptional<z.ZodUnknown> =>
  z.unknown().optional().describe(`Claude Code sub-agent field (${what}); accepted so one file serves both, ignored.`);

export const agentFrontMatter = z
  .strictObject({
    bottle: z
      .union([manifestName, z.array(manifestName)])
      .optional()
      .describe('Bottle(s) from ~/.bot-bottle/bottles/ to run in, merged in order. Without it the user picks at launch.'),
    skills: z
      .array(folderName)
      .optional()
      .describe("Folder names under the host's ~/.claude/skills/ to copy into the agent's home."),
    'git-gate': z
      .strictObject({
        user: gitUser.optional(),
        repos: z
          .unknown()
          .superRefine(
            rule(() => 'repos belong in a bottle (~/.bot-bottle/bottles/), never in an agent: a bottle holds the credentials'),
          )
          .optional()
          .describe('Not allowed in an agent: repositories and their credentials are declared in bottles.'),
      })
      .optional()
      .describe('git settings the agent may choose: only `user`.'),
    name: ignored('name; the file name is the agent name'),
    description: z.string().optional().describe('One line shown in agent listings and the picker.'),
    model: ignored('model'),
    color: ignored('color'),
    memory: ignored('memory'),
    tools: ignored('tools'),
  })
  .describe('Agent front matter; the Markdown body is the system prompt.');

export type AgentFrontMatter = z.infer<typeof agentFrontMatter>;

const pathMatch = z
  .strictObject({
    type: z
      .enum(['prefix', 'exact', 'regex'])
      .optional()
      .describe('How `value` is compared with the request path; `prefix` by default.'),
    value: z.string().describe('A path starting with `/`, or a regular expression when `type: regex`.'),
  })
  .superRefine((m, ctx) => {
    const problem = m.type === 'regex' ? regexProblem(m.value) : m.value.startsWith('/') ? undefined : 'a path starts with `/`';
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem, path: ['value'] });
  })
  .describe('One path rule; a request matches when any path rule does.');

const headerName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, { error: 'must be an HTTP header name' });

const headerMatch = z
  .strictObject({
    name: headerName.describe('Header name, compared case-insensitively.'),
    type: z.enum(['exact', 'regex']).optional().describe('How `value` is compared; `exact` by default.'),
    value: z.string().describe('The header value, or a regular expression when `type: regex`.'),
  })
  .superRefine((h, ctx) => {
    const problem = h.type === 'regex' ? regexProblem(h.value) : undefined;
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem, path: ['value'] });
  })
  .describe('A header the request must carry.');

const routeMatch = z
  .strictObject({
    paths: z.array(pathMatch).optional().describe('Allowed paths; empty or absent means every path.'),
    methods: z
      .array(z.string().regex(/^[A-Za-z]+$/, { error: 'must be an HTTP method such as GET' }))
      .optional()
      .describe('Allowed HTTP methods (any case); empty or absent means every method.'),
    headers: z.array(headerMatch).optional().describe('Headers that must all be present and match.'),
  })
  .describe('One allow rule in the spirit of the Gateway API HTTPRouteMatch: all given parts must match.');

const routeAuth = z
  .strictObject({
    scheme: z
      .string()
      .regex(/^[A-Za-z0-9._~+/-]*$/, { error: 'must be an auth scheme such as Bearer' })
      .optional()
      .describe('Prefix of the injected value (`Bearer`, `token`); default `Bearer` for Authorization, none for other headers.'),
    token_ref: secretRef.describe('Name of the host variable holding the token. Never the token itself.'),
    header: headerName.optional().describe('Header to set instead of `Authorization`, e.g. `x-api-key`.'),
  })
  .describe('The proxy drops the agent’s own credentials for this host and injects this one.');

const routeDlp = z
  .strictObject({
    outbound: z.boolean().optional().describe('Scan requests for credentials; default true.'),
    inbound: z
      .union([
        z.boolean(),
        z.strictObject({
          on_match: z
            .enum(['warn', 'block', 'supervise'])
            .optional()
            .describe('What a prompt injection in a response does: warn (a header and the audit log; default), block (502), or supervise (a human decides).'),
        }),
      ])
      .optional()
      .describe('Scan responses for prompt injection; default false. `true` warns; `{on_match: block|supervise}` keeps it from the agent.'),
    on_match: z
      .enum(['supervise', 'redact', 'block'])
      .optional()
      .describe('What a finding does: hold for a human, redact, or block (default).'),
    entropy: z
      .union([z.boolean(), z.enum(['warn', 'enforce'])])
      .optional()
      .describe('High-entropy strings no rule names: `warn` (or true) logs them, `enforce` makes them findings that trigger on_match; default false.'),
    rules: z
      .array(z.enum(['credentials', 'pii', 'financial']))
      .optional()
      .superRefine((packs, ctx) => {
        if (packs !== undefined && !packs.includes('credentials')) {
          ctx.addIssue({ code: 'custom', message: 'credentials cannot be left out (turn DLP off with `outbound: false`)' });
        }
      })
      .describe('Rule packs: credentials (always), pii (SSNs), financial (card numbers, IBANs, wallet keys, seed phrases); default [credentials].'),
  })
  .describe('Data-loss prevention for this route.');

const route = z
  .strictObject({
    host: z
      .string()
      .superRefine(rule((v: string) => {
        const parsed = parseHostPort(v);
        return typeof parsed === 'string' ? parsed : undefined;
      }))
      .describe('Host name, optionally `host:port` (443 by default). No scheme, path, IP or wildcard.'),
    matches: z.array(routeMatch).optional().describe('Allow rules; empty or absent allows every request to the host.'),
    auth: routeAuth.optional(),
    dlp: routeDlp.optional(),
  })
  .describe('One allowed upstream.');

const egress = z
  .strictObject({
    routes: z
      .array(route)
      .optional()
      .superRefine((routes, ctx) => {
        const seen = new Set<string>();
        for (const [i, r] of (routes ?? []).entries()) {
          const parsed = parseHostPort(r.host);
          if (typeof parsed === 'string') continue;
          const key = `${parsed.host}:${parsed.port}`;
          if (seen.has(key)) {
            ctx.addIssue({ code: 'custom', message: `a second route for ${key}: put all its matches in one route`, path: [i, 'host'] });
          }
          seen.add(key);
        }
      })
      .describe('The allowlist: everything not matched by a route is denied.'),
    hosts: z
      .record(
        z.string().superRefine(rule(hostNameProblem)),
        z.string().refine((a) => isIP(a) !== 0, { error: 'must be an IP address' }),
      )
      .optional()
      .describe('name -> IP address, like a hosts file seen only by the proxy (private services, test servers).'),
    ca_certs: z
      .array(nonEmpty)
      .optional()
      .describe('Extra CA files the proxy trusts upstream; relative to this bottle file’s folder.'),
  })
  .describe('What the agent may reach through the egress proxy.');

const SSH_SCP = /^([A-Za-z0-9._-]+@)?[A-Za-z0-9.-]+:(?!\/\/).+$/;

function repoUrlProblem(url: string): string | undefined {
  if (SSH_SCP.test(url)) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'must be an ssh (`git@host:path`, `ssh://…`) or `https://` URL';
  }
  if (parsed.protocol !== 'ssh:' && parsed.protocol !== 'https:') return 'must be an ssh or https URL';
  if (parsed.password !== '') return 'must not carry a password or token: use `token_ref`';
  return undefined;
}

const isHttps = (url: string): boolean => url.toLowerCase().startsWith('https://');

const repo = z
  .strictObject({
    url: z.string().superRefine(rule(repoUrlProblem)).describe('Upstream the gate mirrors and pushes to.'),
    identity: nonEmpty.optional().describe('SSH private key file on the host (`~` expanded; relative to this file).'),
    host_key: z
      .string()
      .regex(/^[^\r\n]+$/, { error: 'must be one line, e.g. `ssh-ed25519 AAAA…`' })
      .optional()
      .describe('Pinned upstream host key line (`ssh-ed25519 AAAA…`).'),
    token_ref: secretRef.optional().describe('Name of the host variable holding an https token. Never the token.'),
  })
  .superRefine((r, ctx) => {
    if (isHttps(r.url) && r.identity !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'an https upstream uses `token_ref`, not an ssh identity', path: ['identity'] });
    }
    if (!isHttps(r.url) && r.token_ref !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'an ssh upstream uses `identity`, not `token_ref`', path: ['token_ref'] });
    }
  })
  .describe('One repository behind the git-gate.');

const runtime = z
  .strictObject({
    cpus: z
      .number({ error: 'must be a number such as 2 or 1.5' })
      .superRefine(rule((v: number) => cpusProblem(v, availableParallelism())))
      .describe('CPUs, fractions allowed (1.5); from 0.01 to the CPUs the host has.'),
    memory: z
      .union([z.string(), z.number()])
      .superRefine(rule((v: string | number) => {
        const bytes = parseMemory(v);
        return typeof bytes === 'string' ? bytes : undefined;
      }))
      .describe('Memory limit: `512m`, `2g` (binary units) or bytes; at least 6m, the engine’s minimum.'),
    pids: z.number().int({ error: 'must be a whole number' }).positive({ error: 'must be above 0' }).describe('Process limit.'),
  })
  .partial()
  .describe('Resource limits for the agent.');

export const bottleFrontMatter = z
  .strictObject({
    extends: manifestName.optional().describe('A base bottle this one builds on; this file overrides it.'),
    env: z
      .record(
        varName,
        z.string().superRefine(rule((v: string) => {
          const source = checkEnvSource(v);
          return typeof source === 'string' ? source : undefined;
        })),
      )
      .optional()
      .describe('Variables in the agent: a literal, `"${HOST_VAR}"` to forward a host variable, or `"?prompt"` to ask at launch.'),
    agent_provider: z
      .strictObject({
        template: folderName
          .optional()
          .describe('The agent: `claude`, `codex`, `shell` (default), or a plugin in ~/.bot-bottle/contrib/<name>/.'),
        dockerfile: nonEmpty.optional().describe('A Dockerfile for the agent image, relative to this file.'),
        auth_token: secretRef.optional().describe('Name of the host variable with the provider token; the agent sees a placeholder.'),
        forward_host_credentials: z
          .boolean()
          .optional()
          .describe("Read the host's provider auth file into the egress sidecar (the agent gets a dummy); default false."),
      })
      .optional()
      .describe('Which agent runs in the bottle and how it authenticates.'),
    'git-gate': z
      .strictObject({
        user: gitUser.optional(),
        repos: z
          .record(folderName, repo)
          .optional()
          .describe('name -> repository; the agent reaches each only through the gate, which scans every push.'),
        rewrites: z
          .enum(['refuse', 'supervise', 'allow'])
          .optional()
          .describe('A push that rewrites history (non-fast-forward, a moved tag) or deletes a branch or tag: refuse (default), supervise (a human decides), or allow.'),
      })
      .optional()
      .describe('git remotes behind the scanning gate.'),
    egress: egress.optional(),
    supervise: z.boolean().optional().describe('Run the supervise sidecar so the agent can ask a human for more; default false.'),
    runtime: runtime.optional(),
    backend: z
      .enum(BOTTLE_BACKENDS)
      .optional()
      .describe('Where the agent runs: `docker` (a container, the default) or `microvm` (a QEMU guest with its own kernel); `start --backend` overrides it.'),
  })
  .describe('Bottle front matter; the Markdown body is documentation.');

export type BottleFrontMatter = z.infer<typeof bottleFrontMatter>;
