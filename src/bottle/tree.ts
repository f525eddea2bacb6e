/**
 * A tree of files for the agent: written into the agent container (or its
 * workspace volume) at launch, never into an image layer. Used for the
 * `--cwd` workspace and for skills copied from the host.
 */
export interface TreeEntry {
  /** Relative POSIX path under the tree's root, no `..`. */
  readonly path: string;
  readonly kind: 'dir' | 'file' | 'symlink';
  readonly mode: number;
  /** A file's bytes on the host... */
  readonly source?: string;
  /** ...or in memory (e.g. a `.git/config` with credentials stripped). */
  readonly content?: Buffer;
  /** A symlink's target, as found. */
  readonly target?: string;
}

export interface AgentTree {
  /** Absolute folder in the agent that must exist (the entries land under it). */
  readonly at: string;
  readonly entries: readonly TreeEntry[];
  /** For `--dry-run` and progress. */
  readonly what: string;
}
