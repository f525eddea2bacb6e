/**
 * A small unified diff (LCS over lines) for showing a capability proposal's
 * Dockerfile change to the human. Dockerfiles are short; inputs beyond
 * MAX_LINES fall back to "all removed, all added" rather than a slow table.
 */
const MAX_LINES = 4000;

type Op = { readonly t: ' ' | '-' | '+'; readonly line: string };

function lines(text: string): string[] {
  if (text === '') return [];
  const out = text.split('\n');
  if (out[out.length - 1] === '') out.pop();
  return out;
}

function ops(a: string[], b: string[]): Op[] {
  if (a.length > MAX_LINES || b.length > MAX_LINES) {
    return [...a.map((line) => ({ t: '-' as const, line })), ...b.map((line) => ({ t: '+' as const, line }))];
  }
  const n = a.length;
  const m = b.length;
  // lcs[i][j] = LCS length of a[i..] and b[j..], in one flat array.
  const lcs = new Uint32Array((n + 1) * (m + 1));
  const at = (i: number, j: number) => i * (m + 1) + j;
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[at(i, j)] = a[i] === b[j] ? (lcs[at(i + 1, j + 1)] ?? 0) + 1 : Math.max(lcs[at(i + 1, j)] ?? 0, lcs[at(i, j + 1)] ?? 0);
    }
  }
  const out: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out.push({ t: ' ', line: a[i] ?? '' });
      i++;
      j++;
    } else if ((lcs[at(i + 1, j)] ?? 0) >= (lcs[at(i, j + 1)] ?? 0)) {
      out.push({ t: '-', line: a[i++] ?? '' });
    } else {
      out.push({ t: '+', line: b[j++] ?? '' });
    }
  }
  while (i < n) out.push({ t: '-', line: a[i++] ?? '' });
  while (j < m) out.push({ t: '+', line: b[j++] ?? '' });
  return out;
}

/** Unified diff of two texts with `context` lines around each change; '' when equal. */
export function unifiedDiff(oldText: string, newText: string, opts: { from?: string; to?: string; context?: number } = {}): string {
  const a = lines(oldText);
  const b = lines(newText);
  const all = ops(a, b);
  if (all.every((o) => o.t === ' ')) return '';
  const ctx = opts.context ?? 3;
  const out = [`--- ${opts.from ?? 'a/Dockerfile'}`, `+++ ${opts.to ?? 'b/Dockerfile'}`];
  // Positions (in old and new) before each op, to number the hunks.
  const posA: number[] = [];
  const posB: number[] = [];
  let pa = 0;
  let pb = 0;
  for (const o of all) {
    posA.push(pa);
    posB.push(pb);
    if (o.t !== '+') pa++;
    if (o.t !== '-') pb++;
  }
  let k = 0;
  while (k < all.length) {
    while (k < all.length && all[k]?.t === ' ') k++;
    if (k >= all.length) break;
    const start = Math.max(0, k - ctx);
    let end = k;
    // Extend over changes separated by at most 2*ctx unchanged lines.
    for (;;) {
      while (end < all.length && all[end]?.t !== ' ') end++;
      let next = end;
      while (next < all.length && all[next]?.t === ' ') next++;
      if (next < all.length && next - end <= 2 * ctx) end = next;
      else break;
    }
    const stop = Math.min(all.length, end + ctx);
    const hunk = all.slice(start, stop);
    const countA = hunk.filter((o) => o.t !== '+').length;
    const countB = hunk.filter((o) => o.t !== '-').length;
    const fromA = (posA[start] ?? 0) + (countA > 0 ? 1 : 0);
    const fromB = (posB[start] ?? 0) + (countB > 0 ? 1 : 0);
    out.push(`@@ -${fromA},${countA} +${fromB},${countB} @@`);
    for (const o of hunk) out.push(`${o.t}${o.line}`);
    k = stop;
  }
  return out.join('\n') + '\n';
}
