/** Session helpers shared by the templates. */

/**
 * Sets the terminal title to the bottle's label before the agent starts, so
 * parallel bottles can be told apart in tabs and window lists. The label was
 * cleaned of control characters by `safeLabel` and travels as an argument,
 * never inside the script text.
 */
export function titled(argv: readonly string[], label: string | undefined): readonly string[] {
  if (label === undefined) return argv;
  return ['sh', '-c', `[ -t 1 ] && printf '\\033]0;%s\\007' "$1"; shift; exec "$@"`, 'bottle-title', `bot-bottle: ${label}`, ...argv];
}
