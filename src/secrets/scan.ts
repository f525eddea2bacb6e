/**
 * The scanning engine: rules (prefiltered by keyword), known secrets, and the
 * hiding places a secret may be tucked into (base64, line continuations and
 * string concatenations). Pure and synchronous; one call per text.
 */
import { continuationJoin, findBase64Runs, findHexRuns, findUrlEncoded, type Decoded } from './decoders.js';
import { charClasses, isPlaceholder, shannon } from './entropy.js';
import { redact } from './redact.js';
import { RULES, type Rule } from './rules.js';

export interface SecretFinding {
  /** Stable rule id, e.g. `aws-access-key-id`, `known-secret`. */
  rule: string;
  /** Offsets into the scanned text of the secret as it appears there. */
  start: number;
  end: number;
  /** `text.slice(start, end)`: for a decoded finding, the encoded (or split) form. */
  match: string;
  /** At most 4 leading and 4 trailing characters, the rest masked. */
  redacted: string;
  /** Set when the secret was found after decoding: `base64`, `hex`, `url`, `continuation`. */
  via?: string;
}

export interface ScanOptions {
  /** The bottle's own secrets: any raw, base64, hex or URL-encoded occurrence is a `known-secret` finding. */
  knownSecrets?: readonly string[];
  /** Also report high-entropy tokens no rule names (`high-entropy`); noisy, off by default. */
  entropy?: boolean;
  /** Look inside base64 runs (default true). */
  decodeBase64?: boolean;
  /** Look inside runs of hex digits (default true). */
  decodeHex?: boolean;
  /** Percent-decode URL-encoded runs (default true). */
  decodeUrl?: boolean;
  /** Join line continuations and string concatenations (default true). */
  joinContinuations?: boolean;
}

interface Raw {
  rule: string;
  start: number;
  end: number;
  priority: number;
  via?: string;
}

const KNOWN_PRIORITY = -1;
const ENTROPY_PRIORITY = 1000;
/** Known secrets shorter than this would match everywhere; they are ignored. */
export const MIN_KNOWN_SECRET = 6;
const MAX_DEPTH = 2;

interface Compiled {
  rule: Rule;
  priority: number;
}
const COMPILED: readonly Compiled[] = RULES.map((rule, i) => ({ rule, priority: rule.generic ? 500 + i : i }));

/** Does a rule's secret pass its filters (entropy, classes, placeholders, allowlist, validator)? */
function accept(rule: Rule, secret: string): boolean {
  if (rule.entropy !== undefined && shannon(secret) < rule.entropy) return false;
  if (rule.minClasses !== undefined && charClasses(secret) < rule.minClasses) return false;
  if (!rule.noPlaceholderCheck && isPlaceholder(secret)) return false;
  if (rule.allow?.some((a) => a.test(secret))) return false;
  if (rule.validate && !rule.validate(secret)) return false;
  return true;
}

/** Longest first, so that at one position the alternation prefers the longer keyword. */
const ALL_KEYWORDS = [...new Set(RULES.flatMap((r) => r.keywords))].sort((a, b) => b.length - a.length);
/** Keywords contained in each keyword: seeing `sk_live_` is seeing `sk`. */
const CONTAINED = new Map(ALL_KEYWORDS.map((k) => [k, ALL_KEYWORDS.filter((x) => k.includes(x))]));
const escapeRe = (k: string) => k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const keywordRegexCache = new Map<string, RegExp>();

/**
 * Which rule keywords occur in `text` (case-insensitively), in about one pass:
 * one alternation of every keyword not yet seen, rebuilt without a keyword
 * once it has been seen (so a common keyword is not matched again and again).
 */
function presentKeywords(text: string): Set<string> {
  const found = new Set<string>();
  let missing = ALL_KEYWORDS;
  let from = 0;
  while (missing.length > 0) {
    const cacheKey = missing.join('\0');
    let re = keywordRegexCache.get(cacheKey);
    if (!re) {
      re = new RegExp(missing.map(escapeRe).join('|'), 'gi');
      if (keywordRegexCache.size < 512) keywordRegexCache.set(cacheKey, re);
    }
    re.lastIndex = from;
    const m = re.exec(text);
    if (!m) break;
    const seen = CONTAINED.get(m[0].toLowerCase()) ?? [m[0].toLowerCase()];
    for (const k of seen) found.add(k);
    // A keyword starting inside this match is found by looking again just after its start.
    from = m.index + 1;
    missing = missing.filter((x) => !found.has(x));
  }
  return found;
}

/** Start offsets of every match of a `nearby` pattern: one pass, then binary searches. */
function nearbyPositions(pattern: RegExp, text: string): number[] {
  const re = new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : pattern.flags + 'g');
  const at: number[] = [];
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    at.push(m.index);
    if (m[0].length === 0) re.lastIndex++;
  }
  return at;
}

function hasNear(at: readonly number[], lo: number, hi: number): boolean {
  let a = 0;
  let b = at.length;
  while (a < b) {
    const mid = (a + b) >> 1;
    if ((at[mid] ?? 0) < lo) a = mid + 1;
    else b = mid;
  }
  return a < at.length && (at[a] ?? 0) <= hi;
}

function runRules(text: string, out: Raw[]): void {
  const present = presentKeywords(text);
  if (present.size === 0) return;
  for (const { rule, priority } of COMPILED) {
    if (!rule.keywords.some((k) => present.has(k))) continue;
    const re = rule.regex;
    re.lastIndex = 0;
    let nearbyAt: number[] | undefined;
    const groups = typeof rule.secretGroup === 'number' ? [rule.secretGroup] : (rule.secretGroup ?? [0]);
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      if (m[0].length === 0) re.lastIndex++;
      const g = groups.find((i) => m[i] !== undefined) ?? 0;
      const span = m.indices?.[g];
      const secret = m[g];
      if (!span || secret === undefined) continue;
      if (!accept(rule, secret)) continue;
      if (rule.nearby) {
        nearbyAt ??= nearbyPositions(rule.nearby.pattern, text);
        if (!hasNear(nearbyAt, span[0] - rule.nearby.window, span[1] + rule.nearby.window)) continue;
      }
      out.push({ rule: rule.id, start: span[0], end: span[1], priority });
    }
  }
}

/** Forms of a known secret that travel in text: raw, URL-encoded, hex, base64 at each of 3 alignments. */
export function knownForms(secret: string): string[] {
  const forms = new Set<string>([secret]);
  const url = encodeURIComponent(secret);
  forms.add(url);
  const buf = Buffer.from(secret, 'utf8');
  forms.add(buf.toString('hex'));
  forms.add(buf.toString('hex').toUpperCase());
  for (let pad = 0; pad < 3; pad++) {
    // The secret preceded by `pad` bytes: the base64 characters that depend only on the secret.
    const b64 = Buffer.concat([Buffer.alloc(pad), buf]).toString('base64');
    const skip = pad === 0 ? 0 : Math.ceil((pad * 4) / 3);
    const total = pad + buf.length;
    const full = Math.floor(total / 3) * 4;
    const core = b64.slice(skip, full);
    if (core.length >= 8) {
      forms.add(core);
      forms.add(core.replace(/\+/g, '-').replace(/\//g, '_'));
    }
  }
  return [...forms].filter((f) => f.length >= MIN_KNOWN_SECRET);
}

function runKnown(text: string, known: readonly string[][], out: Raw[]): void {
  for (const forms of known) {
    for (const f of forms) {
      for (let i = text.indexOf(f); i !== -1; i = text.indexOf(f, i + f.length)) {
        out.push({ rule: 'known-secret', start: i, end: i + f.length, priority: KNOWN_PRIORITY });
      }
    }
  }
}

const ENTROPY_TOKEN = /(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/=_-]{24,512}(?![A-Za-z0-9+/=_-])/g;

function runEntropy(text: string, out: Raw[]): void {
  ENTROPY_TOKEN.lastIndex = 0;
  for (let m = ENTROPY_TOKEN.exec(text); m !== null; m = ENTROPY_TOKEN.exec(text)) {
    const t = m[0];
    if (charClasses(t) < 3 || shannon(t) < 4.2 || isPlaceholder(t)) continue;
    out.push({ rule: 'high-entropy', start: m.index, end: m.index + t.length, priority: ENTROPY_PRIORITY });
  }
}

/** Keep, among overlapping findings, the one with the best priority (then the longest). */
function resolve(raws: Raw[]): Raw[] {
  if (raws.length <= 1) return raws;
  raws.sort((a, b) => a.start - b.start || b.end - a.end);
  const kept: Raw[] = [];
  let cluster: Raw[] = [];
  let clusterEnd = -1;
  const flush = () => {
    if (cluster.length === 0) return;
    if (cluster.length === 1) kept.push(cluster[0]);
    else {
      cluster.sort((a, b) => a.priority - b.priority || b.end - b.start - (a.end - a.start));
      const chosen: Raw[] = [];
      for (const r of cluster) if (!chosen.some((c) => r.start < c.end && c.start < r.end)) chosen.push(r);
      kept.push(...chosen);
    }
    cluster = [];
  };
  for (const r of raws) {
    if (r.start >= clusterEnd) {
      flush();
      clusterEnd = r.end;
    } else clusterEnd = Math.max(clusterEnd, r.end);
    cluster.push(r);
  }
  flush();
  return kept.sort((a, b) => a.start - b.start);
}

function covered(raws: readonly Raw[], start: number, end: number): boolean {
  return raws.some((r) => r.start <= start && end <= r.end);
}

function scanRaw(text: string, known: readonly string[][], opts: ScanOptions, depth: number): Raw[] {
  const out: Raw[] = [];
  runRules(text, out);
  if (known.length > 0) runKnown(text, known, out);
  const direct = out.length;
  const decodeWith = (d: Decoded, via: string) => {
    for (const r of scanRaw(d.text, known, opts, depth + 1)) {
      const [s, e] = d.map(r.start, r.end);
      if (covered(out.slice(0, direct), s, e)) continue;
      out.push({ rule: r.rule, start: s, end: e, priority: r.priority + 0.5, via: r.via ?? via });
    }
  };
  if (depth < MAX_DEPTH) {
    if (opts.joinContinuations !== false) {
      const joined = continuationJoin(text);
      if (joined) {
        // Only findings that span a join are new; the rest were found directly.
        const inner: Raw[] = [];
        runRules(joined.text, inner);
        if (known.length > 0) runKnown(joined.text, known, inner);
        for (const r of inner) {
          const [s, e] = joined.map(r.start, r.end);
          if (!joined.spansJoin(r.start, r.end) || covered(out.slice(0, direct), s, e)) continue;
          out.push({ rule: r.rule, start: s, end: e, priority: r.priority + 0.25, via: 'continuation' });
        }
      }
    }
    if (opts.decodeBase64 !== false) {
      for (const d of findBase64Runs(text)) {
        if (covered(out.slice(0, direct), d.start, d.end)) continue;
        decodeWith(d, 'base64');
      }
    }
    if (opts.decodeHex !== false) for (const d of findHexRuns(text)) decodeWith(d, 'hex');
    if (opts.decodeUrl !== false) for (const d of findUrlEncoded(text)) decodeWith(d, 'url');
  }
  if (opts.entropy && depth === 0) runEntropy(text, out);
  return out;
}

/** Scan one text for secrets. Offsets are into `text`. */
export function scanText(text: string, opts: ScanOptions = {}): SecretFinding[] {
  const known = (opts.knownSecrets ?? []).filter((k) => k.length >= MIN_KNOWN_SECRET).map(knownForms);
  return resolve(scanRaw(text, known, opts, 0)).map((r) => {
    const match = text.slice(r.start, r.end);
    const f: SecretFinding = { rule: r.rule, start: r.start, end: r.end, match, redacted: redact(match) };
    if (r.via) f.via = r.via;
    return f;
  });
}
