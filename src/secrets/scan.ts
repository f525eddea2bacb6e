/**
 * The scanning engine: rules (prefiltered by keyword), known secrets, and the
 * hiding places a secret may be tucked into. Pure and synchronous; one call
 * per text.
 *
 * Two modes share the rules:
 * - `push` (the git-gate, `bot-bottle scan`): documentation examples,
 *   placeholders and values that fail a format check are not findings, and
 *   encodings are followed two levels deep (an encoded `.env`, a key split
 *   across lines, an encoded file in a binary).
 * - `egress` (the proxy's DLP): a false block costs a held request, a miss
 *   costs a leak, so a credential-shaped string is a finding even when it is
 *   a known example or fails its checksum, a letter glued to it does not hide
 *   it, the `KEY=value` lines of an environment dump count, and encodings are
 *   followed four levels deep, in combination: URL (double, triple), hex
 *   (also with delimiters), base64 and base64url (short runs, glued junk,
 *   short wrapping), gzip/zlib inside base64, invisible characters.
 */
import {
  B64_RUN_CHARS,
  continuationJoin,
  lineSplitJoin,
  EGRESS_BASE64,
  findBase64Runs,
  findDelimitedHex,
  findHexRuns,
  findUrlEncoded,
  PUSH_BASE64,
  runLengths,
  runsFromSpans,
  stripInvisible,
  type Decoded,
  type Joined,
} from './decoders.js';
import { charClasses, isPlaceholder, shannon } from './entropy.js';
import { KeywordMatcher } from './keywords.js';
import { evasionViews } from './evasions.js';
import { KnownSecrets, MIN_KNOWN_SECRET } from './known.js';
import { redact } from './redact.js';
import { looseRegex, RULES, type Rule, type RulePack } from './rules.js';
import { randomChars } from './value.js';

export { MIN_KNOWN_SECRET };

export type ScanMode = 'push' | 'egress';

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
  /**
   * Set when the secret was found after decoding (`base64`, `hex`, `url`,
   * `continuation`, `invisible`), or for a known secret in an encoded form
   * (`base64`, `hex`, `url`, `case`).
   */
  via?: string;
}

export interface ScanOptions {
  /** `push` (default) or `egress`: see the module comment. */
  mode?: ScanMode;
  /** Rule packs (default `credentials` only). */
  packs?: readonly RulePack[];
  /** The bottle's own secrets: any raw, base64, hex, URL-encoded or case-folded occurrence is a `known-secret` finding. */
  knownSecrets?: readonly string[];
  /** The same, precompiled (the proxy builds it once per secrets file). */
  known?: KnownSecrets;
  /** Also report high-entropy tokens no rule names (`high-entropy`); off by default. */
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
const MAX_DEPTH: Record<ScanMode, number> = { push: 2, egress: 4 };
/** Shortest hex run decoded: 20 bytes on a push (shorter is an id or a hash), 12 on egress. Never below the base64 run length. */
const PUSH_HEX = 40;
const EGRESS_HEX = 24;
/** Decoded text a scan may produce, beyond which it stops decoding (never a way to burn the CPU). */
const DECODE_BUDGET_MIN = 4 << 20;
const DECODE_BUDGET_FACTOR = 8;

interface Compiled {
  readonly rule: Rule;
  /**
   * The regex this mode runs (`regexFor`), without its `d` flag: most matches fail the rule's checks, and
   * a match with indices allocates an array per group. The egress form is made when the rule's keywords first occur.
   */
  regex: RegExp | undefined;
  /** The same regex, sticky and with indices: run again at a match that passed, for the secret's offsets. */
  exact: RegExp | undefined;
  readonly priority: number;
  /** The rule's keywords as ids of the shared matcher. */
  readonly keywordIds: readonly number[];
  /** Capture groups that may hold the secret, in order (`Rule.secretGroup` as a list). */
  readonly groups: readonly number[];
  /** `Rule.lineLocal`: run on the lines its keywords occur on, when the keyword pass found them. */
  readonly lineLocal: boolean;
}

interface RuleSet {
  readonly mode: ScanMode;
  readonly rules: readonly Compiled[];
  readonly keywords: KeywordMatcher;
  /** The keyword ids of the set's line-local rules (1 each), for the keyword pass to find their lines; none without such rules. */
  readonly lineOf: Uint8Array | undefined;
}

/** The regex a rule runs in a mode: its own, or on the egress path its loose form (generic rules keep theirs). */
function regexFor(c: Compiled, mode: ScanMode): RegExp {
  if (c.regex === undefined) {
    const re = mode === 'egress' && !c.rule.generic ? looseRegex(c.rule) : c.rule.regex;
    c.regex = new RegExp(re.source, re.flags.replace('d', ''));
  }
  return c.regex;
}

/**
 * Where group `g` of the match of `c`'s regex at `index` lies. The same regex, sticky at the same index,
 * makes the same match (the global one found none earlier, and a match from one position is determined).
 */
function spanAt(c: Compiled, text: string, index: number, g: number): [number, number] | undefined {
  const re = (c.exact ??= new RegExp(c.regex?.source ?? '', (c.regex?.flags ?? '').replace('g', '') + 'dy'));
  re.lastIndex = index;
  return re.exec(text)?.indices?.[g];
}

/**
 * One keyword automaton for every rule of every pack and mode, built once: the
 * push and egress sets (a scan of a push uses both: its paths and names are
 * scanned as egress text) differ by a keyword or two, and building it is a
 * cold start's work. A rule looks only at its own keywords' ids, and the
 * automaton reports every keyword that occurs, so extra keywords change nothing.
 */
let allKeywords: KeywordMatcher | undefined;

const ruleSets = new Map<string, RuleSet>();

function ruleSet(mode: ScanMode, packs: readonly RulePack[]): RuleSet {
  const key = `${mode}:${[...packs].sort().join(',')}`;
  let set = ruleSets.get(key);
  if (set) return set;
  const chosen = RULES.flatMap((rule, i) =>
    packs.includes(rule.pack ?? 'credentials') && (!rule.egressOnly || mode === 'egress') ? [{ rule, i }] : [],
  );
  allKeywords ??= new KeywordMatcher(RULES.flatMap((rule) => rule.keywords));
  const keywords = allKeywords;
  const rules = chosen.map(({ rule, i }) => {
    const keywordIds = rule.keywords.map((k) => keywords.keywords.indexOf(k));
    // Fail closed: a keyword the automaton lacks would silently turn its rule off.
    if (keywordIds.includes(-1)) throw new Error(`rule ${rule.id}: a keyword is not in the matcher`);
    const groups = typeof rule.secretGroup === 'number' ? [rule.secretGroup] : (rule.secretGroup ?? [0]);
    const lineLocal = rule.lineLocal === true && keywordIds.length > 0;
    return { rule, regex: undefined, exact: undefined, priority: rule.generic ? 500 + i : i, keywordIds, groups, lineLocal };
  });
  let lineOf: Uint8Array | undefined;
  for (const c of rules) {
    if (!c.lineLocal) continue;
    lineOf ??= new Uint8Array(keywords.keywords.length);
    for (const id of c.keywordIds) lineOf[id] = 1;
  }
  set = { mode, rules, keywords, lineOf };
  ruleSets.set(key, set);
  return set;
}

/**
 * Build the rule sets a scan will use before its first text arrives (the git
 * scan calls this while git starts): the same sets `scanText` would build on
 * its first call, made while this thread would otherwise wait.
 */
export function prepareRules(opts: readonly ScanOptions[]): void {
  for (const o of opts) ruleSet(o.mode ?? 'push', o.packs ?? ['credentials']);
}

/** Does a rule's secret pass its filters (entropy, classes, placeholders, allowlist, validator)? */
function accept(rule: Rule, secret: string, mode: ScanMode): boolean {
  if (mode === 'egress' && !rule.generic) {
    // Credential-shaped is enough: examples, placeholders and failed format checks still leave.
    if ((rule.pack ?? 'credentials') !== 'credentials' && rule.entropy !== undefined && shannon(secret) < rule.entropy) return false;
    return !(rule.structural && rule.validate && !rule.validate(secret));
  }
  if (rule.entropy !== undefined && shannon(secret) < rule.entropy) return false;
  if (rule.minClasses !== undefined && charClasses(secret) < rule.minClasses) return false;
  if (!rule.noPlaceholderCheck && isPlaceholder(secret)) return false;
  if (rule.allow?.some((a) => a.test(secret))) return false;
  if (rule.validate && !rule.validate(secret)) return false;
  return true;
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

/** A slice of a larger text: `nearby` patterns are looked for in the whole. */
interface Within {
  readonly text: string;
  readonly offset: number;
}

/** Does any of the ids occur? (A loop, not `some` with a closure: this runs for every rule on every text.) */
function anyPresent(ids: readonly number[], present: readonly boolean[]): boolean {
  for (let k = 0; k < ids.length; k++) if (present[ids[k]]) return true;
  return false;
}

/**
 * `lines`: where the keyword pass found the set's line-local keywords (line starts), if it ran; a line-local
 * rule then runs on those lines only.
 */
function runRules(text: string, ctx: Ctx, out: Raw[], specificOnly = false, within?: Within, seen?: readonly boolean[], lines?: readonly number[]): void {
  const present = seen ?? ctx.set.keywords.present(text);
  // Indexed loops here and below, not `for…of`: much of a scan runs before the optimiser has seen it, and
  // there an iterator allocates a result object per element.
  const rules = ctx.set.rules;
  for (let i = 0; i < rules.length; i++) {
    const c = rules[i];
    const { rule, keywordIds } = c;
    if (specificOnly && (rule.generic || keywordIds.length === 0)) continue;
    if (keywordIds.length > 0 && !anyPresent(keywordIds, present)) continue;
    if (lines !== undefined && c.lineLocal) {
      for (let l = 0; l < lines.length; l++) {
        const from = lines[l];
        const nl = text.indexOf('\n', from);
        runRule(c, text.slice(from, nl === -1 ? text.length : nl), from, text, ctx, out, within);
      }
    } else runRule(c, text, 0, text, ctx, out, within);
  }
}

/** One rule's matches in `subject`, which starts at `offset` of `text`. */
function runRule(c: Compiled, subject: string, offset: number, text: string, ctx: Ctx, out: Raw[], within: Within | undefined): void {
  const { rule, priority, groups } = c;
  const re = regexFor(c, ctx.set.mode);
  re.lastIndex = 0;
  let nearbyAt: number[] | undefined;
  for (let m = re.exec(subject); m !== null; m = re.exec(subject)) {
    if (m[0].length === 0) re.lastIndex++;
    let g = 0;
    for (let k = 0; k < groups.length; k++) {
      if (m[groups[k]] !== undefined) {
        g = groups[k];
        break;
      }
    }
    const secret = m[g];
    if (secret === undefined) continue;
    if (!accept(rule, secret, ctx.mode)) continue;
    const span = spanAt(c, subject, m.index, g);
    if (!span) continue;
    const start = offset + span[0];
    const end = offset + span[1];
    if (rule.nearby) {
      nearbyAt ??= nearbyPositions(rule.nearby.pattern, within?.text ?? text);
      const at = within?.offset ?? 0;
      if (!hasNear(nearbyAt, at + start - rule.nearby.window, at + end + rule.nearby.window)) continue;
    }
    out.push({ rule: rule.id, start, end, priority });
  }
}

/** Forms of a known secret that travel in text: raw, URL-encoded, hex, base64 at each of 3 alignments. */
export function knownForms(secret: string): string[] {
  return new KnownSecrets([secret]).forms.map((f) => f.form);
}

function runKnown(text: string, known: KnownSecrets, out: Raw[]): void {
  for (const h of known.find(text)) {
    const r: Raw = { rule: 'known-secret', start: h.start, end: h.end, priority: KNOWN_PRIORITY };
    if (h.encoding !== 'raw') r.via = h.encoding;
    out.push(r);
  }
}

/** Path separators split tokens: a path is many tokens, a base64 value with a `/` a few long ones. */
const ENTROPY_TOKEN = /(?<![A-Za-z0-9+_-])[A-Za-z0-9+_-]{20,512}={0,2}(?![A-Za-z0-9+=_-])/g;
/** Names under which APIs pass random values that are not secrets of the user's: cursors, nonces, digests. */
const ENTROPY_EXEMPT_NAME =
  /(?:cursor|page[_-]?token|next[_-]?token|continuation[_-]?token|after|before|marker|etag|if-none-match|nonce|csrf[_-]?token|xsrf[_-]?token|authenticity_token|state|integrity|request[_-]?id|trace[_-]?id|span[_-]?id|shasum|checksum|digest)["']?\s{0,2}[=:]\s{0,2}["']?(?:W\/")?$/i;

function entropyFloor(len: number): number {
  return len < 32 ? 3.9 : len < 64 ? 4.3 : 4.6;
}

/**
 * High-entropy tokens no rule names. Not flagged: hex (digests, ids), UUIDs,
 * words, base64 that decodes to text (scanned as such), integrity digests,
 * and values under cursor, nonce and digest names.
 */
const B64ISH = /[A-Za-z0-9+/=_-]/;
/** File formats a base64 upload decodes to (PNG, JPEG, GIF, PDF, zip, WebP/RIFF, gzip): content, not a credential. */
const FILE_MAGIC = [[0x89, 0x50, 0x4e, 0x47], [0xff, 0xd8, 0xff], [0x47, 0x49, 0x46, 0x38], [0x25, 0x50, 0x44, 0x46], [0x50, 0x4b, 0x03, 0x04], [0x52, 0x49, 0x46, 0x46], [0x1f, 0x8b]];

function decodesToFileOrText(core: string): boolean {
  const bytes = Buffer.from(core, /[-_]/.test(core) ? 'base64url' : 'base64');
  if (FILE_MAGIC.some((m) => m.every((b, i) => bytes[i] === b))) return true;
  let printable = 0;
  for (const b of bytes) if ((b >= 32 && b < 127) || b === 9 || b === 10 || b === 13) printable++;
  return bytes.length > 0 && printable / bytes.length >= 0.9;
}

/** A run with `/` is a path when most of its segments read as words or are short. */
function pathLike(run: string): boolean {
  const segs = run.split('/').filter(Boolean);
  return segs.filter((g) => g.length <= 12 || randomChars(g).total < 8).length * 2 >= segs.length;
}

function runEntropy(text: string, out: Raw[]): void {
  ENTROPY_TOKEN.lastIndex = 0;
  let lastRun = -1;
  for (let m = ENTROPY_TOKEN.exec(text); m !== null; m = ENTROPY_TOKEN.exec(text)) {
    let t = m[0];
    let at = m.index;
    // The enclosing run of base64 characters (with `/`): a base64 value is judged whole, a path token by token.
    let a = at;
    while (a > 0 && B64ISH.test(text[a - 1] ?? '')) a--;
    let b = at + t.length;
    while (b < text.length && B64ISH.test(text[b] ?? '')) b++;
    if (b - a > 512) continue; // a blob (an upload, an image), not a credential
    const run = text.slice(a, b);
    if (run.includes('/') && !pathLike(run)) {
      if (a === lastRun) continue;
      lastRun = a;
      t = run;
      at = a;
    }
    if (charClasses(t) < 3 || /^[0-9a-fA-F-]+$/.test(t) || /^sha(?:1|256|384|512)-/i.test(t)) continue;
    const core = t.replace(/=+$/, '');
    if (shannon(core) < entropyFloor(core.length) || isPlaceholder(t)) continue;
    if (randomChars(t).total < 16) continue;
    const before = text.slice(Math.max(0, at - 40), at);
    if (ENTROPY_EXEMPT_NAME.test(before) || /sha(?:1|256|384|512)-$/i.test(before)) continue;
    if (decodesToFileOrText(core.replace(/\//g, '/'))) continue;
    out.push({ rule: 'high-entropy', start: at, end: at + t.length, priority: ENTROPY_PRIORITY });
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

/** Does one of the first `n` of `raws` contain [start, end)? */
function covered(raws: readonly Raw[], n: number, start: number, end: number): boolean {
  for (let i = 0; i < n; i++) if (raws[i].start <= start && end <= raws[i].end) return true;
  return false;
}

/**
 * A finding that spans a join is at most this long on either side of it, but
 * for tokens (windows widen to whole token runs) and PEM blocks (whose joins
 * come every line, so their windows merge).
 */
const JOIN_WINDOW = 512;

/**
 * Findings of a joined view (continuations, split lines) that span a join
 * point and were not found directly. Only windows around the join points are
 * scanned: the rest of the joined text is the original text, already scanned.
 */
function scanJoined(joined: Joined, ctx: Ctx, out: Raw[], direct: number, via: string, specificOnly: boolean): void {
  const inner: Raw[] = [];
  for (const [a, b] of joined.windows(JOIN_WINDOW)) {
    const slice = joined.slice(a, b);
    const found: Raw[] = [];
    // The whole joined text only for a `nearby` pattern (rare): made then, not for every window.
    runRules(slice, ctx, found, specificOnly, {
      get text() {
        return joined.text;
      },
      offset: a,
    });
    if (!specificOnly && ctx.known) runKnown(slice, ctx.known, found);
    for (const r of found) inner.push({ ...r, start: r.start + a, end: r.end + a });
  }
  for (const r of inner) {
    const [s, e] = joined.map(r.start, r.end);
    if (!joined.spansJoin(r.start, r.end) || covered(out, direct, s, e)) continue;
    out.push({ rule: r.rule, start: s, end: e, priority: r.priority + 0.25, via });
  }
}

interface Ctx {
  readonly mode: ScanMode;
  readonly set: RuleSet;
  readonly known: KnownSecrets | undefined;
  readonly opts: ScanOptions;
  /** Characters of decoded text still allowed. */
  budget: number;
}

function scanRaw(text: string, ctx: Ctx, depth: number, via?: string): Raw[] {
  const out: Raw[] = [];
  const { opts, known } = ctx;
  if (via === 'turned') {
    // Tokens backwards and in ROT13: only a provider's key shape or the bottle's own secret tells a turned key
    // from noise, and a turned token decodes to nothing the straight one did not.
    runRules(text, ctx, out, true);
    if (known) runKnown(text, known, out);
    return out;
  }
  const egress = ctx.mode === 'egress';
  const b64 = egress ? EGRESS_BASE64 : PUSH_BASE64;
  const hexMin = egress ? EGRESS_HEX : PUSH_HEX;
  // The runs of base64 characters hold every run of hex digits too (minLine <= minHex); kept are those a decoder
  // can use (as long as a single run it decodes, or alone on a line of a wrapped block). They are found in the
  // keyword prefilter's pass over the text, not by a pass of their own.
  const useful = Math.min(opts.decodeBase64 !== false ? b64.minRun : hexMin, opts.decodeHex !== false ? hexMin : b64.minRun);
  const wantRuns = depth < MAX_DEPTH[ctx.mode] && (opts.decodeBase64 !== false || opts.decodeHex !== false);
  const spans: number[] = [];
  let seen: boolean[] | undefined;
  let lines: number[] | undefined;
  if (wantRuns) {
    const { long, short } = runLengths(b64.minLine, useful);
    const { lineOf } = ctx.set;
    if (lineOf) lines = [];
    seen = ctx.set.keywords.presentAndRuns(text, B64_RUN_CHARS, long, short, spans, lineOf, lines);
  }
  runRules(text, ctx, out, false, undefined, seen, lines);
  if (known) runKnown(text, known, out);
  const direct = out.length;
  const decodeWith = (d: Decoded, via: string) => {
    if (d.tooLarge) {
      out.push({ rule: 'compressed-over-budget', start: d.start, end: d.end, priority: 900, via });
      return;
    }
    if (ctx.budget < d.text.length) return;
    ctx.budget -= d.text.length;
    const inner = scanRaw(d.text, ctx, depth + 1, via);
    for (let i = 0; i < inner.length; i++) {
      const r = inner[i];
      const [s, e] = d.map(r.start, r.end);
      if (covered(out, direct, s, e)) continue;
      out.push({ rule: r.rule, start: s, end: e, priority: r.priority + 0.5, via: r.via ?? via });
    }
  };
  if (depth < MAX_DEPTH[ctx.mode]) {
    if (opts.joinContinuations !== false) {
      const joined = continuationJoin(text);
      if (joined) scanJoined(joined, ctx, out, direct, 'continuation', false);
      // A key split by a bare line break: only the rules whose shape names the provider (a joined
      // line of words must not become a generic "secret").
      const split = lineSplitJoin(text);
      if (split) scanJoined(split, ctx, out, out.length, 'split-line', true);
    }
    if (egress) {
      const visible = stripInvisible(text);
      if (visible) decodeWith(visible, 'invisible');
    }
    const runs = wantRuns ? runsFromSpans(text, spans, useful) : [];
    // Disguises over one layer of encoding at most; a token turned twice is the token, already scanned.
    if (egress && depth <= 1) for (const v of evasionViews(text, runs, via !== 'turned')) decodeWith(v.decoded, v.via);
    if (opts.decodeBase64 !== false) {
      const found = findBase64Runs(text, b64, runs);
      for (let i = 0; i < found.length; i++) {
        const d = found[i];
        if (covered(out, direct, d.start, d.end)) continue;
        decodeWith(d, 'base64');
      }
    }
    if (opts.decodeHex !== false) {
      const found = findHexRuns(text, hexMin, runs);
      for (let i = 0; i < found.length; i++) decodeWith(found[i], 'hex');
      if (egress) for (const d of findDelimitedHex(text)) decodeWith(d, 'hex');
    }
    if (opts.decodeUrl !== false) {
      const found = findUrlEncoded(text);
      for (let i = 0; i < found.length; i++) decodeWith(found[i], 'url');
    }
  }
  if (opts.entropy && depth === 0) runEntropy(text, out);
  return out;
}

/**
 * The `KnownSecrets` of a `knownSecrets` list, kept by list: a git scan passes the same list with every
 * file, and building the forms (each secret in every encoding) cost more than scanning most files: on the
 * bench push with three known secrets, 460 ms against 315 with them built once. A copy of the list tells
 * a list changed in place since.
 */
const knownByList = new WeakMap<readonly string[], { readonly copy: readonly string[]; readonly known: KnownSecrets }>();

function knownOf(list: readonly string[]): KnownSecrets {
  const hit = knownByList.get(list);
  if (hit && hit.copy.length === list.length && hit.copy.every((s, i) => s === list[i])) return hit.known;
  const known = new KnownSecrets(list);
  knownByList.set(list, { copy: [...list], known });
  return known;
}

/** Scan one text for secrets. Offsets are into `text`. */
export function scanText(text: string, opts: ScanOptions = {}): SecretFinding[] {
  const mode = opts.mode ?? 'push';
  const known = opts.known ?? (opts.knownSecrets && opts.knownSecrets.length > 0 ? knownOf(opts.knownSecrets) : undefined);
  const ctx: Ctx = {
    mode,
    set: ruleSet(mode, opts.packs ?? ['credentials']),
    known: known && known.size > 0 ? known : undefined,
    opts,
    budget: Math.max(DECODE_BUDGET_MIN, DECODE_BUDGET_FACTOR * text.length),
  };
  return resolve(scanRaw(text, ctx, 0)).map((r) => {
    const match = text.slice(r.start, r.end);
    const f: SecretFinding = { rule: r.rule, start: r.start, end: r.end, match, redacted: redact(match) };
    if (r.via) f.via = r.via;
    return f;
  });
}
