/**
 * A provider template: how its agent image is built, which hosts it owns and
 * how its credential is injected there, what the agent finds in its home
 * (placeholders, config, system prompt, skills, the supervise MCP server),
 * and how a session runs it. Plain data and host-side functions: backends
 * build and launch from it, the egress sidecar enforces its routes.
 */
import type { Agent, Bottle, EgressRoute } from '../manifest/types.js';
import type { AgentFile } from './sidecar.js';
import type { AgentTree } from './tree.js';

/** An agent image recipe, backend-neutral: a folder, its Dockerfile, build args. */
export interface ImageSpec {
  /** Repository part of the image tag, e.g. `bot-bottle/agent-claude`. */
  readonly repository: string;
  /** Folder holding the Dockerfile and its context. */
  readonly dir: string;
  /** The Dockerfile, relative to `dir`. */
  readonly dockerfile: string;
  /** A Dockerfile's text used instead of `dockerfile` (an approved capability change), with `dir` as context. */
  readonly dockerfileText?: string;
  /** Fixed build args (pinned versions). */
  readonly buildArgs: Readonly<Record<string, string>>;
  /** Build args whose value is the tag of another image, built first (`FROM ${NODE_IMAGE}`). */
  readonly bases: Readonly<Record<string, ImageSpec>>;
}

export interface ProviderContext {
  readonly identity: string;
  readonly agent: Agent;
  readonly bottle: Bottle;
  /** The host's environment: where `auth_token` names the token. */
  readonly hostEnv: Readonly<Record<string, string>>;
  /** The user's home on the host (`~/.claude/skills`, `~/.codex/auth.json`). */
  readonly userHome: string;
  /** The supervise MCP server as the agent reaches it, when the bottle has supervise. */
  readonly mcpUrl: string | undefined;
  readonly label: string | undefined;
  readonly color: string | undefined;
  /** Planning (`--dry-run`, `validate`): read no secret file; report it in `secretFiles` instead. */
  readonly planning: boolean;
}

/** What a provider adds to one bottle, resolved on the host before anything is created. */
export interface ProviderSetup {
  /** The provider-owned routes (its API hosts), with their auth. */
  readonly routes: readonly EgressRoute[];
  /** token_ref -> value, for the egress sidecar only: never the agent, never argv, never a log. */
  readonly tokens: Readonly<Record<string, string>>;
  /** Non-secret env for the agent: placeholders, switches for non-essential traffic. */
  readonly agentEnv: Readonly<Record<string, string>>;
  /** Config files in the agent's home. */
  readonly agentFiles: readonly AgentFile[];
  /** Folders copied from the host (skills). */
  readonly agentTrees: readonly AgentTree[];
  /** How a session runs this agent in this bottle. */
  readonly session: SessionCommands;
  /** For `--dry-run`: no secret values. */
  readonly describe: Readonly<Record<string, unknown>>;
  /** Host files holding secrets that the launch reads (planning reads none of them): manifest key -> path. */
  readonly secretFiles?: readonly { readonly key: string; readonly path: string }[];
}

/** How a session runs the agent. */
export interface SessionCommands {
  /** An interactive session (on a TTY when the user has one). */
  readonly interactive: readonly string[];
  /** A headless run; the prompt is the file `promptFile` inside the agent. */
  headless(promptFile: string, outputFormat: string | undefined): readonly string[];
}

export interface Provider {
  readonly name: string;
  readonly image: ImageSpec;
  /** The agent's user (uid 1000) and home inside the image. */
  readonly user: string;
  readonly home: string;
  /** Values `--output-format` accepts (empty: the provider has none). */
  readonly outputFormats: readonly string[];
  /** Resolve routes, tokens and agent files for one bottle. Throws BottleError/ManifestError. */
  setup(ctx: ProviderContext): Promise<ProviderSetup>;
}
