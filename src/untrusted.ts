/**
 * Text that came from a bottle (an agent's `why`, a Dockerfile it proposed,
 * a host or path it requested, a note, a log line) is hostile: written raw to
 * a terminal, ESC and C1 sequences retitle the window, clear the screen, hide
 * a line (`ESC[8m`) or draw a fake prompt; bidi overrides reorder what the
 * human reads; zero-width and tag characters hide text altogether.
 *
 * `visible` is the one place that makes such text safe to show: every
 * control, format, bidi, zero-width, line-separator, tag and variation-selector
 * code point is replaced by an escape a human can read (`\x1b`, `\u202e`,
 * `\u{e0041}`). Printable text, including non-Latin scripts, is unchanged.
 * Dependency-free, so the sidecars in the bundle use it too.
 */

/**
 * Code points shown as escapes: controls (C0, DEL, C1: \p{Cc}), format
 * characters (bidi embeddings/overrides/isolates, LRM/RLM/ALM, zero-width
 * space/joiners, word joiner, BOM, soft hyphen, tags: \p{Cf}), lone surrogates,
 * line and paragraph separators, variation selectors, and the invisible
 * fillers that render as nothing (Hangul fillers, combining grapheme joiner,
 * Mongolian free variation selectors).
 */
// eslint-disable-next-line no-misleading-character-class -- combining and variation-selector code points are listed on purpose, one by one
const HIDDEN = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\u034F\u115F\u1160\u180B-\u180D\u3164\uFE00-\uFE0F\uFFA0\u{E0100}-\u{E01EF}]/gu;

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

export interface VisibleOptions {
  /** Keep line feeds and tabs (multi-line text such as a Dockerfile or a note); CR is still escaped. */
  readonly lines?: boolean;
  /** Wrap each escape, e.g. in a colour, so it stands out from the text around it. */
  readonly mark?: (escape: string) => string;
}

/** The escape shown for one hidden code point. */
export function escapeCodePoint(ch: string): string {
  const named = NAMED[ch];
  if (named !== undefined) return named;
  const cp = ch.codePointAt(0) ?? 0;
  if (cp < 0x80) return `\\x${cp.toString(16).padStart(2, '0')}`;
  if (cp <= 0xffff) return `\\u${cp.toString(16).padStart(4, '0')}`;
  return `\\u{${cp.toString(16)}}`;
}

/** Bottle text, safe to write to a terminal, a log line or an error message. */
export function visible(text: string, opts: VisibleOptions = {}): string {
  const keep = opts.lines === true;
  const mark = opts.mark;
  return text.replace(HIDDEN, (ch) => {
    if (keep && (ch === '\n' || ch === '\t')) return ch;
    const e = escapeCodePoint(ch);
    return mark === undefined ? e : mark(e);
  });
}

/** Does the text hold anything `visible` would escape (other than line feeds and tabs when `lines`)? */
export function hasHidden(text: string, opts: { lines?: boolean } = {}): boolean {
  for (const m of text.matchAll(HIDDEN)) {
    if (!(opts.lines === true && (m[0] === '\n' || m[0] === '\t'))) return true;
  }
  return false;
}

/**
 * JSON for output a human may read (`--json` piped to a terminal, a log
 * file): the same value as JSON.stringify, but every code point `visible`
 * escapes is written as a `\u` escape, which JSON.stringify leaves raw for
 * C1, bidi and zero-width characters. A parser reads back the exact value.
 */
export function visibleJson(value: unknown, space?: number): string {
  const text = JSON.stringify(value, null, space);
  if (text === undefined) return 'null';
  return text.replace(HIDDEN, (ch) => {
    // Line feeds and tabs here are the indentation's own (string contents are already escaped).
    if (ch === '\n' || ch === '\t') return ch;
    let out = '';
    for (let i = 0; i < ch.length; i++) out += `\\u${ch.charCodeAt(i).toString(16).padStart(4, '0')}`;
    return out;
  });
}
