/**
 * Redaction: what a report may show of a secret. Never more than 4 leading and
 * 4 trailing characters, and nothing at all of a short secret.
 */

const MAX_MASK = 24;

export function redact(secret: string): string {
  const s = secret.replace(/\s+/g, ' ');
  const n = s.length;
  if (n < 12) return '*'.repeat(Math.max(4, Math.min(n, MAX_MASK)));
  const keep = n >= 20 ? 4 : 2;
  return s.slice(0, keep) + '*'.repeat(Math.min(n - 2 * keep, MAX_MASK)) + s.slice(n - keep);
}
