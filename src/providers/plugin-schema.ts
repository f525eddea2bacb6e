/**
 * The plugin manifest, `~/.bot-bottle/contrib/<name>/plugin.md`: YAML front
 * matter (this schema, strict like every manifest) and a Markdown body for
 * the plugin's documentation. The schema is the documentation.
 */
import * as z from 'zod';
import { hostNameProblem } from '../manifest/rules.js';

export const PLUGIN_FILE = 'plugin.md';

const nonEmpty = z.string().min(1, { error: 'must not be empty' });
const headerName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, { error: 'must be an HTTP header name' });
const relPath = z
  .string()
  .regex(/^(?!\/)(?!.*(^|\/)\.\.(\/|$)).+$/, { error: 'must be a path relative to the home, without `..`' });
const varName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be an environment variable name' });
const hostName = z.string().superRefine((v, ctx) => {
  const problem = hostNameProblem(v);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

const PROMPT = '{prompt}';
const PROMPT_FILE = '{prompt_file}';
const FORMAT = '{format}';

/** `{prompt}`, `{prompt_file}` and `{format}` stand for whole arguments, never parts of one. */
const argvTemplate = (allowed: readonly string[]) =>
  z
    .array(z.string())
    .min(1, { error: 'needs at least the program' })
    .superRefine((argv, ctx) => {
      argv.forEach((a, i) => {
        const marks = a.match(/\{[a-z_]+\}/g) ?? [];
        for (const m of marks) {
          if (!allowed.includes(m)) ctx.addIssue({ code: 'custom', message: `${m} is not a placeholder here (use ${allowed.join(', ')})`, path: [i] });
          else if (a !== m) ctx.addIssue({ code: 'custom', message: `${m} must be a whole argument, not part of "${a}"`, path: [i] });
        }
      });
    });

export const pluginManifest = z
  .strictObject({
    description: z.string().optional().describe('One line shown in listings and `--dry-run`.'),
    dockerfile: nonEmpty
      .default('Dockerfile')
      .describe('The agent image recipe, relative to this folder (the build context). It may `FROM ${AGENT_BASE}` (the shell image) and use `${NODE_IMAGE}` as a build stage with Node.js and npm.'),
    user: nonEmpty.default('agent').describe('The agent user in the image; it must have uid 1000.'),
    home: z.string().regex(/^\/[^\0]*$/, { error: 'must be an absolute path' }).default('/home/agent').describe("The agent user's home."),
    hosts: z
      .array(
        z.strictObject({
          host: hostName.describe('A host the agent needs (port 443).'),
          paths: z.array(z.string().startsWith('/', { error: 'a path starts with `/`' })).optional().describe('Path prefixes allowed; all when absent.'),
        }),
      )
      .default([])
      .describe("The plugin's own egress routes: a bottle may not declare routes for these hosts."),
    auth: z
      .strictObject({
        host: hostName.describe('Which of `hosts` receives the credential.'),
        header: headerName.default('Authorization').describe('The header the proxy sets, e.g. `x-api-key`.'),
        scheme: z
          .string()
          .regex(/^[A-Za-z0-9._~+/-]*$/, { error: 'must be an auth scheme such as Bearer' })
          .optional()
          .describe('Prefix of the injected value; `Bearer` for Authorization, none for other headers.'),
        placeholder_env: z.array(varName).default([]).describe('Agent variables set to a placeholder so the client starts without a login.'),
      })
      .optional()
      .describe("How the bottle's `auth_token` is injected: the proxy drops the agent's credential headers and sets this one."),
    env: z.record(varName, z.string()).default({}).describe('Non-secret variables for the agent (switches for telemetry, updates).'),
    interactive: argvTemplate([]).describe('The interactive command.'),
    headless: z
      .strictObject({
        argv: argvTemplate([PROMPT, PROMPT_FILE]).describe('The headless command; `{prompt}` is the prompt text, `{prompt_file}` its file.'),
        output_format: argvTemplate([FORMAT]).optional().describe('Arguments added for `--output-format`; `{format}` is the value.'),
        output_formats: z.array(nonEmpty).default([]).describe('Values `--output-format` accepts.'),
      })
      .describe('How a prompt is passed.'),
    system_prompt: z
      .strictObject({ file: relPath.describe("Where the agent's body is written, relative to home.") })
      .optional()
      .describe("Where the agent file's body (its system prompt) goes."),
    files: z
      .array(
        z.strictObject({
          path: relPath.describe('Relative to home.'),
          json: z.record(z.string(), z.unknown()).describe('Its JSON content.'),
        }),
      )
      .default([])
      .describe('Client config files written at launch (switches for telemetry and updates, the auth type).'),
    mcp: z
      .strictObject({
        file: relPath.describe('The client config file that registers MCP servers, relative to home.'),
        json: z.record(z.string(), z.unknown()).describe('Its JSON content; the string "{mcp_url}" is replaced by the supervise server URL. Merged into a `files` entry of the same path.'),
      })
      .optional()
      .describe('How the supervise MCP server is registered (written only when the bottle has supervise).'),
    skills: relPath.default('.claude/skills').describe("Where the agent's skills are copied, relative to home."),
  })
  .superRefine((m, ctx) => {
    if (m.auth !== undefined && !m.hosts.some((h) => h.host.toLowerCase() === m.auth?.host.toLowerCase())) {
      ctx.addIssue({ code: 'custom', message: `${m.auth.host} is not one of hosts`, path: ['auth', 'host'] });
    }
    if (m.headless.output_format !== undefined && m.headless.output_formats.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'list the accepted values in output_formats', path: ['headless', 'output_format'] });
    }
  })
  .describe('A provider plugin: an agent image and how bot-bottle runs and authenticates it.');

export type PluginManifest = z.infer<typeof pluginManifest>;
export const PLACEHOLDERS = { PROMPT, PROMPT_FILE, FORMAT } as const;
