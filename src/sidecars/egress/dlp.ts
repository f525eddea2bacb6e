/**
 * Outbound DLP: what of a request is scanned, and how it is taken apart so
 * that nothing hides from the credential rules of `src/secrets/`:
 *
 *  - the URL as sent and percent-decoded (path segments, query, `+` as space);
 *  - every header value as sent, cookies also percent-decoded;
 *  - the body after `Content-Encoding` (gzip, deflate, br; stacked), as bytes
 *    (latin1, so binary round-trips) and, by content type: JSON string values
 *    after unescaping (`\u0041KIA…`), form fields decoded, multipart parts
 *    each as a body of their own (base64 parts decoded).
 *
 * The bottle's own secrets (`known`) are matched in raw, base64 (3
 * alignments, standard and URL-safe), URL-encoded (component, form, every
 * byte; upper and lower hex) and hex (lower, upper) forms, precomputed once
 * per secrets file.
 *
 * Redaction replaces every occurrence of what was found in every view and
 * re-encodes what it decoded; the result is scanned again and a request that
 * still carries a finding is blocked instead (redaction never forwards a
 * secret it failed to remove).
 *
 * Nothing here logs; hits carry the secret (`match`) only for redaction and
 * must never be written anywhere.
 */
import type { RouteDlp } from '../../manifest/types.js';
import { codingsOf, decodeOnce } from './codings.js';
import { inflateRawSniff, inflateSniff, knownSecretForms, KnownSecrets, NO_KNOWN, scanText, type RulePack } from '../../secrets/index.js';

export const REDACTED = '[REDACTED]';
/** What replaces a secret inside a URL (no characters that need encoding). */
export const REDACTED_URL = 'REDACTED';

export interface DlpHit {
  /** Rule id (`aws-access-key-id`, `known-secret:base64`, …). Safe to log. */
  readonly rule: string;
  /** `url`, `header:<name>`, `body`. Safe to log. */
  readonly where: string;
  /** The secret as found. NEVER log, echo or audit this. */
  readonly match: string;
}

export interface DlpResult {
  /** Findings that trigger the route's `on_match`. */
  readonly hits: DlpHit[];
  /** Advisory findings (entropy): logged by rule, never acted on. */
  readonly warnings: DlpHit[];
}

// ------------------------------------------------------------------ options

export { KnownSecrets, NO_KNOWN, knownSecretForms };

/** What a route's DLP scans for (from its `dlp` settings) and the bottle's own secrets. */
export interface ScanOpts {
  readonly known: KnownSecrets;
  /** High-entropy strings: `false`/`off` not looked for, `true`/`warn` logged, `enforce` findings like credentials. */
  readonly entropy: boolean | EntropyMode;
  /** Rule packs (default credentials only). */
  readonly rules?: readonly RulePack[];
}

export type EntropyMode = 'off' | 'warn' | 'enforce';

/** The scan options of a route's DLP settings. */
export function dlpScanOpts(dlp: RouteDlp, known: KnownSecrets): ScanOpts {
  // One object per route and known-secrets set, so the clean-head cache is found without building its key.
  const cached = optsOf.get(dlp);
  if (cached?.known === known) return cached;
  const opts: ScanOpts = { known, entropy: !dlp.entropy ? 'off' : dlp.entropy_action, rules: dlp.rules };
  optsOf.set(dlp, opts);
  return opts;
}
const optsOf = new WeakMap<RouteDlp, ScanOpts>();

const entropyOn = (e: ScanOpts['entropy']): boolean => e === true || e === 'warn' || e === 'enforce';

interface Span {
  readonly rule: string;
  readonly start: number;
  readonly end: number;
  readonly match: string;
  readonly warn: boolean;
}

const RUN_WINDOW = 64;
const RUN_KEEP = 32;

/**
 * Shorten every run of one repeated character (at least 128 long, sampled
 * every 64 characters) to 32-35 characters, keeping its length mod 4 so that
 * base64 decoding of what follows keeps its alignment. No credential holds
 * such a run, and the rules' keyword prefilter is quadratic-ish on them
 * (64 KiB of `a` cost 8 ms, 2 µs after this); padding must not be a way to
 * burn the proxy's CPU. Offsets change, so callers use matches, not offsets.
 */
export function collapseRuns(text: string): string {
  const n = text.length;
  if (n < 2 * RUN_WINDOW) return text;
  let out: string[] | undefined;
  let last = 0;
  for (let i = 0; i + RUN_WINDOW < n; i += RUN_WINDOW) {
    const c = text.charCodeAt(i);
    if (i < last || text.charCodeAt(i + RUN_WINDOW) !== c) continue;
    let j = i + 1;
    while (j < i + RUN_WINDOW && text.charCodeAt(j) === c) j++;
    if (j < i + RUN_WINDOW) continue;
    let s = i;
    while (s > last && text.charCodeAt(s - 1) === c) s--;
    let e = i + RUN_WINDOW + 1;
    while (e < n && text.charCodeAt(e) === c) e++;
    (out ??= []).push(text.slice(last, s), String.fromCharCode(c).repeat(RUN_KEEP + ((e - s) % 4)));
    last = e;
  }
  if (out === undefined) return text;
  out.push(text.slice(last));
  return out.join('');
}

/** Credential rules and known secrets on one text (`rulesText`: the same text with long runs collapsed). */
function findSpans(text: string, opts: ScanOpts, rulesText = text): Span[] {
  const out: Span[] = [];
  const enforce = opts.entropy === 'enforce';
  const found = scanText(rulesText, { mode: 'egress', known: opts.known, entropy: entropyOn(opts.entropy), packs: opts.rules ?? ['credentials'] });
  for (const f of found) {
    const rule = f.rule === 'known-secret' ? `known-secret:${f.via ?? 'raw'}` : f.rule;
    out.push({ rule, start: f.start, end: f.end, match: f.match, warn: f.rule === 'high-entropy' && !enforce });
  }
  return out;
}

class Collector implements DlpResult {
  readonly hits: DlpHit[] = [];
  readonly warnings: DlpHit[] = [];
  add(spans: readonly Span[], where: string | ((s: Span) => string)): void {
    for (const s of spans) {
      const hit = { rule: s.rule, where: typeof where === 'string' ? where : where(s), match: s.match };
      (s.warn ? this.warnings : this.hits).push(hit);
    }
  }
  /** Scan a body-sized text (long runs collapsed for the rules; offsets are not used). */
  scan(text: string, where: string, opts: ScanOpts): void {
    if (text.length > 0) this.add(findSpans(text, opts, collapseRuns(text)), where);
  }
}

// ------------------------------------------------------------------ percent-decoding

/** Decode `%XX` escapes (and `+` when `plus`), leaving malformed ones as they are. Never throws. */
export function pctDecode(s: string, plus = false): string {
  if (!s.includes('%') && !(plus && s.includes('+'))) return s;
  const t = plus ? s.replace(/\+/g, ' ') : s;
  try {
    return decodeURIComponent(t);
  } catch {
    // Malformed escapes or invalid UTF-8: decode byte-wise as latin1.
    return t.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  }
}

// ------------------------------------------------------------------ request head

export interface HeadInput {
  readonly method: string;
  /** Request target in origin form. */
  readonly target: string;
  /** Header name/value pairs to scan (already without the ones that will be dropped). */
  readonly headers: readonly (readonly [string, string])[];
}

const CLEAN_MAX = 512;
const CLEAN_MAX_LEN = 4096;
/** Heads found clean, per known-secrets set (a reload makes a new set, so a new cache) and scan options. */
const cleanHeads = new WeakMap<KnownSecrets, Map<string, Set<string>>>();

const optsKey = (opts: ScanOpts): string => `${String(opts.entropy)}|${(opts.rules ?? []).join(',')}`;

const cleanByOpts = new WeakMap<ScanOpts, Set<string>>();

function cleanCache(opts: ScanOpts): Set<string> {
  const found = cleanByOpts.get(opts);
  if (found !== undefined) return found;
  let byOpts = cleanHeads.get(opts.known);
  if (byOpts === undefined) {
    byOpts = new Map();
    cleanHeads.set(opts.known, byOpts);
  }
  const key = optsKey(opts);
  let set = byOpts.get(key);
  if (set === undefined) {
    set = new Set();
    byOpts.set(key, set);
  }
  cleanByOpts.set(opts, set);
  return set;
}

/**
 * Scan URL and headers. The common case (nothing found) costs one rules pass
 * over a single joined text; the parts are told apart only when it finds something.
 */
export function scanHead(input: HeadInput, opts: ScanOpts): DlpResult {
  const lines: string[] = [input.target];
  // Where each line comes from: -1 the URL, else the index of its header (named only for findings).
  const from: number[] = [-1];
  const decoded = pctDecode(input.target, true);
  if (decoded !== input.target) {
    lines.push(decoded);
    from.push(-1);
  }
  const headers = input.headers;
  for (let h = 0; h < headers.length; h++) {
    const [name, value] = headers[h] ?? ['', ''];
    lines.push(`${name}: ${value}`);
    from.push(h);
    if (name.length === 6 && name.toLowerCase() === 'cookie' && value.includes('%')) {
      lines.push(`${name}: ${pctDecode(value)}`);
      from.push(h);
    }
  }
  const text = lines.join('\n');
  const out = new Collector();
  // Clients repeat their heads (same URL, same headers): a head already found
  // clean with these same options is clean again (the scan is pure).
  const cacheable = text.length <= CLEAN_MAX_LEN;
  const cache = cacheable ? cleanCache(opts) : undefined;
  if (cache?.has(text)) return out;
  const spans = findSpans(text, opts);
  if (spans.length === 0) {
    if (cache !== undefined) {
      if (cache.size >= CLEAN_MAX) cache.clear();
      cache.add(text);
    }
    return out;
  }
  const starts: number[] = [];
  let at = 0;
  for (const l of lines) {
    starts.push(at);
    at += l.length + 1;
  }
  out.add(spans, (s) => {
    let i = starts.length - 1;
    while (i > 0 && (starts[i] ?? 0) > s.start) i--;
    const h = from[i] ?? -1;
    const name = headers[h]?.[0];
    return name === undefined ? 'url' : `header:${name.toLowerCase()}`;
  });
  return out;
}

function replaceAll(text: string, matches: readonly string[], by: string): string {
  let out = text;
  for (const m of matches) if (m.length > 0 && out.includes(m)) out = out.split(m).join(by);
  return out;
}

/** Longest first, so a secret inside a longer finding does not leave the rest behind. */
export function matchList(result: DlpResult): string[] {
  return [...new Set(result.hits.map((h) => h.match))].sort((a, b) => b.length - a.length);
}

/** The request target with every match removed from path segments and query fields (decoded and re-encoded). */
export function redactTarget(target: string, matches: readonly string[]): string {
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  const query = q === -1 ? undefined : target.slice(q + 1);
  const piece = (raw: string, plus: boolean): string => {
    const r = replaceAll(raw, matches, REDACTED_URL);
    if (r !== raw) return r;
    const dec = pctDecode(raw, plus);
    if (dec === raw) return raw;
    const red = replaceAll(dec, matches, REDACTED_URL);
    return red === dec ? raw : encodeURIComponent(red);
  };
  const newPath = path
    .split('/')
    .map((seg) => piece(seg, false))
    .join('/');
  if (query === undefined) return newPath;
  const newQuery = query
    .split('&')
    .map((kv) => {
      const eq = kv.indexOf('=');
      if (eq === -1) return piece(kv, true);
      return `${piece(kv.slice(0, eq), true)}=${piece(kv.slice(eq + 1), true)}`;
    })
    .join('&');
  return `${newPath}?${newQuery}`;
}

/** A header value with every match removed (cookies also decoded and re-encoded). */
export function redactHeaderValue(value: string, matches: readonly string[]): string {
  const r = replaceAll(value, matches, REDACTED);
  if (r !== value || !value.includes('%')) return r;
  return value
    .split(';')
    .map((part) => {
      const eq = part.indexOf('=');
      if (eq === -1) return part;
      const raw = part.slice(eq + 1);
      const dec = pctDecode(raw);
      const red = replaceAll(dec, matches, REDACTED_URL);
      return red === dec ? part : `${part.slice(0, eq + 1)}${encodeURIComponent(red)}`;
    })
    .join(';');
}

// ------------------------------------------------------------------ bodies

export type DecodeError = 'unsupported-encoding' | 'too-large' | 'corrupt';

/** Undo `Content-Encoding` (possibly stacked, applied in order), bounded by `cap` bytes of output. */
export function decodeContent(buf: Buffer, contentEncoding: string | undefined, cap: number): Buffer | DecodeError {
  let out = buf;
  for (const c of codingsOf(contentEncoding).reverse()) {
    try {
      const decoded = decodeOnce(c, out, cap);
      if (decoded === undefined) return 'unsupported-encoding';
      out = decoded;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError ? 'too-large' : 'corrupt';
    }
  }
  return out;
}

type Kind = 'json' | 'form' | 'multipart' | 'other';

function kindOf(contentType: string | undefined, text: string): Kind {
  const ct = (contentType ?? '').toLowerCase();
  if (ct.includes('json')) return 'json';
  if (ct.startsWith('application/x-www-form-urlencoded')) return 'form';
  if (ct.startsWith('multipart/')) return 'multipart';
  // Untyped bodies that look like JSON are treated as JSON.
  const c = text.charCodeAt(0);
  if (ct === '' && (c === 0x7b || c === 0x5b)) return 'json';
  return 'other';
}

function boundaryOf(contentType: string | undefined): string | undefined {
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  return m?.[1] ?? m?.[2];
}

function jsonStrings(v: unknown, out: string[], depth: number): void {
  if (depth > 64) return;
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) jsonStrings(x, out, depth + 1);
  else if (typeof v === 'object' && v !== null) {
    for (const [k, x] of Object.entries(v)) {
      out.push(k);
      jsonStrings(x, out, depth + 1);
    }
  }
}

function jsonRedact(v: unknown, matches: readonly string[], depth: number): unknown {
  if (depth > 64) return v;
  if (typeof v === 'string') return replaceAll(v, matches, REDACTED);
  if (Array.isArray(v)) return v.map((x) => jsonRedact(x, matches, depth + 1));
  if (typeof v === 'object' && v !== null) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[replaceAll(k, matches, REDACTED)] = jsonRedact(x, matches, depth + 1);
    return o;
  }
  return v;
}

interface Part {
  /** latin1 offsets of the part's body in the multipart text. */
  readonly bodyStart: number;
  readonly bodyEnd: number;
  readonly headers: string;
}

function multipartParts(text: string, boundary: string): Part[] {
  const delim = `--${boundary}`;
  const parts: Part[] = [];
  let i = text.indexOf(delim);
  while (i !== -1) {
    const after = i + delim.length;
    if (text.startsWith('--', after)) break;
    const headStart = text.indexOf('\n', after);
    if (headStart === -1) break;
    const headEnd = text.indexOf('\r\n\r\n', headStart);
    const headEndLf = headEnd === -1 ? text.indexOf('\n\n', headStart) : -1;
    const bodyStart = headEnd !== -1 ? headEnd + 4 : headEndLf !== -1 ? headEndLf + 2 : -1;
    if (bodyStart === -1) break;
    const next = text.indexOf(`\n${delim}`, bodyStart);
    if (next === -1) break;
    const bodyEnd = text[next - 1] === '\r' ? next - 1 : next;
    parts.push({ headers: text.slice(headStart + 1, bodyStart), bodyStart, bodyEnd });
    i = next + 1;
  }
  return parts;
}

function partHeader(headers: string, name: string): string | undefined {
  const m = new RegExp(`^${name}:[ \\t]*([^\\r\\n]*)`, 'im').exec(headers);
  return m?.[1]?.trim();
}

function scanBodyText(latin1: string, contentType: string | undefined, opts: ScanOpts, out: Collector, depth: number): void {
  out.scan(latin1, 'body', opts);
  const kind = kindOf(contentType, latin1);
  if (kind === 'json' && latin1.includes('\\')) {
    // Escapes hide secrets from regexes: scan the string values as parsed.
    try {
      const strings: string[] = [];
      jsonStrings(JSON.parse(Buffer.from(latin1, 'latin1').toString('utf8')), strings, 0);
      out.scan(strings.join('\n'), 'body', opts);
    } catch {
      // not JSON after all: the raw scan stands
    }
  } else if (kind === 'form' && (latin1.includes('%') || latin1.includes('+'))) {
    const fields: string[] = [];
    for (const kv of latin1.split('&')) {
      const eq = kv.indexOf('=');
      fields.push(eq === -1 ? pctDecode(kv, true) : `${pctDecode(kv.slice(0, eq), true)}=${pctDecode(kv.slice(eq + 1), true)}`);
    }
    out.scan(fields.join('\n'), 'body', opts);
  } else if (kind === 'multipart' && depth < 2) {
    const boundary = boundaryOf(contentType);
    if (boundary === undefined) return;
    for (const p of multipartParts(latin1, boundary)) {
      let body = latin1.slice(p.bodyStart, p.bodyEnd);
      if ((partHeader(p.headers, 'content-transfer-encoding') ?? '').toLowerCase() === 'base64') {
        body = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('latin1');
      } else if (kindOf(partHeader(p.headers, 'content-type'), body) === 'other') {
        continue; // already covered by the raw scan of the whole body
      }
      scanBodyText(body, partHeader(p.headers, 'content-type'), opts, out, depth + 1);
    }
  }
}

/** Largest inflated size of a body compressed without saying so (as the proxy's body cap). */
const SNIFF_CAP = 8 * 1024 * 1024;

/**
 * Scan a (decoded) request body. A body that is gzip or zlib data without a
 * `Content-Encoding` saying so is also inflated and scanned (a server may
 * well inflate it), and so is raw deflate that inflates to text; one too
 * large to inflate within the cap is a finding.
 */
export function scanBody(body: Buffer, contentType: string | undefined, opts: ScanOpts): DlpResult {
  const out = new Collector();
  if (body.length === 0) return out;
  scanBodyText(body.toString('latin1'), contentType, opts, out, 0);
  let inner: Buffer = body;
  for (let layer = 0; layer < 3; layer++) {
    const sniffed = inflateSniff(inner, SNIFF_CAP);
    if (sniffed === undefined) break;
    if (sniffed === 'too-large') {
      out.hits.push({ rule: 'dlp-unscannable-compressed', where: 'body', match: '' });
      break;
    }
    inner = sniffed;
    scanBodyText(inner.toString('latin1'), contentType, opts, out, 0);
  }
  if (inner === body) {
    const raw = inflateRawSniff(body, SNIFF_CAP);
    if (raw === 'too-large') out.hits.push({ rule: 'dlp-unscannable-compressed', where: 'body', match: '' });
    else if (raw !== undefined) scanBodyText(raw.toString('latin1'), contentType, opts, out, 0);
  }
  return out;
}

function redactBodyText(latin1: string, contentType: string | undefined, matches: readonly string[], depth: number): string {
  const kind = kindOf(contentType, latin1);
  if (kind === 'json') {
    try {
      const parsed: unknown = JSON.parse(Buffer.from(latin1, 'latin1').toString('utf8'));
      return Buffer.from(JSON.stringify(jsonRedact(parsed, matches, 0)), 'utf8').toString('latin1');
    } catch {
      // not JSON: plain replacement below
    }
  }
  if (kind === 'form') {
    return latin1
      .split('&')
      .map((kv) => {
        const eq = kv.indexOf('=');
        const fix = (raw: string): string => {
          const r = replaceAll(raw, matches, REDACTED_URL);
          if (r !== raw) return r;
          const dec = pctDecode(raw, true);
          const red = replaceAll(dec, matches, REDACTED_URL);
          return red === dec ? raw : encodeURIComponent(red);
        };
        return eq === -1 ? fix(kv) : `${fix(kv.slice(0, eq))}=${fix(kv.slice(eq + 1))}`;
      })
      .join('&');
  }
  if (kind === 'multipart' && depth < 2) {
    const boundary = boundaryOf(contentType);
    if (boundary !== undefined) {
      let out = '';
      let last = 0;
      for (const p of multipartParts(latin1, boundary)) {
        const body = latin1.slice(p.bodyStart, p.bodyEnd);
        const ct = partHeader(p.headers, 'content-type');
        let fixed: string;
        if ((partHeader(p.headers, 'content-transfer-encoding') ?? '').toLowerCase() === 'base64') {
          const dec = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('latin1');
          const red = redactBodyText(dec, ct, matches, depth + 1);
          fixed = red === dec ? replaceAll(body, matches, REDACTED) : Buffer.from(red, 'latin1').toString('base64');
        } else fixed = redactBodyText(body, ct, matches, depth + 1);
        out += latin1.slice(last, p.bodyStart) + fixed;
        last = p.bodyEnd;
      }
      return out + latin1.slice(last);
    }
  }
  return replaceAll(latin1, matches, REDACTED);
}

/** The (decoded) body with every match removed, re-encoded for its content type. */
export function redactBody(body: Buffer, contentType: string | undefined, matches: readonly string[]): Buffer {
  return Buffer.from(redactBodyText(body.toString('latin1'), contentType, matches, 0), 'latin1');
}

// ------------------------------------------------------------------ inbound

/** The prompt-injection heuristics live with the scanner: the git-gate runs them over fetches too. */
export { inboundWarnings } from '../../secrets/index.js';

/** Is a response of this type worth the inbound heuristics? */
export function isTextual(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const ct = contentType.toLowerCase();
  return ct.startsWith('text/') || ct.includes('json') || ct.includes('xml') || ct.includes('javascript') || ct.includes('markdown');
}
