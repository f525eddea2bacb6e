/**
 * "Did you mean …" for unknown keys and values. Typos in a manifest are the
 * most common error, and naming the intended key fixes them without a trip to
 * the docs.
 */

/** Optimal-string-alignment distance: Levenshtein plus adjacent swaps (`mathces`). */
export function editDistance(a: string, b: string): number {
  const cols = b.length + 1;
  // One flat table; cell (i, j) is the distance between a[0..i) and b[0..j).
  const d = new Array<number>((a.length + 1) * cols).fill(0);
  const at = (i: number, j: number): number => d[i * cols + j] ?? 0;
  for (let i = 0; i <= a.length; i++) d[i * cols] = i;
  for (let j = 0; j <= b.length; j++) d[j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, at(i - 2, j - 2) + 1);
      }
      d[i * cols + j] = best;
    }
  }
  return at(a.length, b.length);
}

// `git_gate` for `git-gate` and `Env` for `env` are the same intent, not typos.
const fold = (s: string): string => s.toLowerCase().replace(/_/g, '-');

/** The closest candidate, or undefined when nothing is plausibly what was meant. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const w = fold(word);
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const dist = editDistance(w, fold(c));
    if (dist < bestDistance) {
      best = c;
      bestDistance = dist;
    }
  }
  // Short keys tolerate one edit, longer ones about a third of their length.
  const limit = Math.max(1, Math.floor(Math.max(w.length, 3) / 3));
  return bestDistance <= limit ? best : undefined;
}

/** `did you mean `x`?` or the list of what is allowed. */
export function hintFor(word: string, candidates: readonly string[]): string {
  const guess = closest(word, candidates);
  if (guess !== undefined) return `did you mean \`${guess}\`?`;
  return candidates.length > 0 ? `allowed: ${candidates.join(', ')}` : 'nothing is allowed here';
}
