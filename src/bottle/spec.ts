/** What the user asked for; a backend's prepare turns it into a plan. */
import { BOTTLE_BACKENDS, type BottleBackend } from '../manifest/types.js';

export type BackendName = BottleBackend;
export const BACKENDS: readonly BackendName[] = BOTTLE_BACKENDS;

export interface BottleSpec {
  readonly agent: string;
  /** Bottle names in merge order; empty means the agent's own. */
  readonly bottles: readonly string[];
  /** `--backend`; undefined: the bottle's `backend:` key, else docker. */
  readonly backend: BackendName | undefined;
  /** Host folder copied into the workspace (`--cwd`), absolute. */
  readonly copyCwd: string | undefined;
  readonly label: string | undefined;
  readonly color: string | undefined;
  /** Set by `resume`: reuse this identity and its state. */
  readonly identity: string | undefined;
  /** Headless: no pickers, no questions. */
  readonly headless: boolean;
  /** Headless prompt: for the shell provider, a script. */
  readonly prompt: string | undefined;
  /** Headless output format passed to the provider's client (`claude -p --output-format`). */
  readonly outputFormat?: string | undefined;
  /** `--cwd`: copy files `.gitignore` ignores too. */
  readonly includeIgnored?: boolean;
  /** `--cwd`: copy even when the secret scanner finds something. */
  readonly allowSecrets?: boolean;
}
