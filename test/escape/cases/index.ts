/** Every case of the escape suite, in report order. Add a category's cases to its file; add a file here. */
import type { EscapeCase } from '../suite.js';
import { confinementCases } from './confinement.js';
import { dlpCases } from './dlp.js';
import { dlpEncodingCases } from './dlp-encodings.js';
import { gitGateCases } from './git-gate.js';
import { gitGateMetadataCases } from './git-gate-metadata.js';
import { manifestCases } from './manifest.js';
import { networkCases } from './network.js';
import { proxyCases } from './proxy.js';
import { smugglingCases } from './smuggling.js';
import { superviseCases } from './supervise.js';
import { tokenCases } from './tokens.js';

export const ALL_CASES: readonly EscapeCase[] = [
  ...networkCases,
  ...proxyCases,
  ...smugglingCases,
  ...dlpCases,
  ...dlpEncodingCases,
  ...tokenCases,
  ...gitGateCases,
  ...gitGateMetadataCases,
  ...superviseCases,
  ...confinementCases,
  ...manifestCases,
];

const ids = new Set<string>();
for (const c of ALL_CASES) {
  if (ids.has(c.id)) throw new Error(`escape suite: case id ${c.id} is used twice`);
  ids.add(c.id);
}

/** Cases whose id starts with one of the prefixes (all when none given). */
export function selectCases(prefixes: readonly string[]): EscapeCase[] {
  return prefixes.length === 0 ? [...ALL_CASES] : ALL_CASES.filter((c) => prefixes.some((p) => c.id.startsWith(p)));
}
