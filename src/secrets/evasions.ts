/**
 * Egress-only views of a text that undo the cheap disguises an agent can put
 * on a credential before sending it to a host the user allowed: character
 * escapes (`&#103;`, `\147`, `\u0067`), one character per separator
 * (`g.h.p._`, `A K I A`), base32, and a token written backwards or in ROT13.
 * Each view maps its offsets back to the source, like the decoders' views.
 *
 * On a push these would only add noise (code is full of escapes and spaced
 * letters), so the git-gate never builds them.
 */

import { printableRatio, type Decoded, type Run } from './decoders.js';
import { randomChars } from './value.js';

export interface View {
  readonly decoded: Decoded;
  /** How it was disguised, for the finding's `via`. */
  readonly via: string;
}

/** A view whose character i came from source characters [from[i], to[i]). */
function viewOf(text: string, from: readonly number[], to: readonly number[], start: number, end: number): Decoded {
  return {
    start,
    end,
    text,
    map: (ds, de) => {
      if (de <= ds) return [from[ds] ?? start, from[ds] ?? start];
      let a = Infinity;
      let b = -Infinity;
      for (let i = ds; i < de && i < from.length; i++) {
        a = Math.min(a, from[i] ?? start);
        b = Math.max(b, to[i] ?? end);
      }
      return a === Infinity ? [start, end] : [a, b];
    },
  };
}

// ---------------------------------------------------------------- character escapes

/** HTML numeric entities, octal and unicode escapes (`\x` is the delimited-hex decoder's). */
const ESCAPE = /&#[0-9]{1,7};|&#[xX][0-9A-Fa-f]{1,6};|\\[0-7]{3}|\\u[0-9A-Fa-f]{4}|\\u\{[0-9A-Fa-f]{1,6}\}/g;
/** Fewer escapes of ASCII characters than this in a cluster is ordinary (an `&#39;` in HTML, a `\u0027` in JSON). */
const MIN_ESCAPES = 8;

function escapeValue(e: string): number {
  if (e.startsWith('&#x') || e.startsWith('&#X')) return parseInt(e.slice(3, -1), 16);
  if (e.startsWith('&#')) return parseInt(e.slice(2, -1), 10);
  if (e.startsWith('\\u{')) return parseInt(e.slice(3, -1), 16);
  if (e.startsWith('\\u')) return parseInt(e.slice(2), 16);
  return parseInt(e.slice(1), 8);
}

/** Escapes closer than this (in source characters) belong to one disguised string. */
const CLUSTER_GAP = 3;

/**
 * Each cluster of escapes (at most `CLUSTER_GAP` plain characters apart, at
 * least `MIN_ESCAPES` of them standing for ASCII letters, digits or symbols)
 * decoded with the characters between them: a key spelled in entities or
 * octal. Only the clusters are rebuilt, not the text: code and JSON carry a
 * few escapes everywhere, and translated text escapes its non-ASCII letters.
 */
function unescaped(text: string, out: View[]): void {
  if (!text.includes('&#') && !text.includes('\\')) return;
  ESCAPE.lastIndex = 0;
  let cluster: RegExpExecArray[] = [];
  let ascii = 0;
  for (let m = ESCAPE.exec(text); m !== null; m = ESCAPE.exec(text)) {
    const prev = cluster[cluster.length - 1];
    if (prev && m.index - (prev.index + prev[0].length) > CLUSTER_GAP) {
      if (ascii >= MIN_ESCAPES) out.push(decodeCluster(text, cluster));
      cluster = [];
      ascii = 0;
    }
    cluster.push(m);
    const v = escapeValue(m[0]);
    if (v >= 33 && v < 127) ascii++;
  }
  if (ascii >= MIN_ESCAPES) out.push(decodeCluster(text, cluster));
}

function decodeCluster(text: string, hits: readonly RegExpExecArray[]): View {
  const first = hits[0]?.index ?? 0;
  let out = '';
  const from: number[] = [];
  const to: number[] = [];
  let last = first;
  for (const m of hits) {
    for (let i = last; i < m.index; i++) {
      out += text[i];
      from.push(i);
      to.push(i + 1);
    }
    const v = escapeValue(m[0]);
    const ch = v >= 0 && v <= 0x10ffff ? String.fromCodePoint(v) : '\ufffd';
    for (let k = 0; k < ch.length; k++) {
      from.push(m.index);
      to.push(m.index + m[0].length);
    }
    out += ch;
    last = m.index + m[0].length;
  }
  return { decoded: viewOf(out, from, to, first, last), via: 'escapes' };
}

// ---------------------------------------------------------------- one character per separator

/** A token's characters each followed by the same separator (`g.h.p._`, `A K I A`, `a-b-c`): at least 12 of them. */
const SPACED = /(?<![A-Za-z0-9])[A-Za-z0-9+/=_-]([ .,:;|*~-]|, )(?:[A-Za-z0-9+/=_-]\1){10,}[A-Za-z0-9+/=_-](?![A-Za-z0-9])/g;

function spaced(text: string, views: View[]): void {
  SPACED.lastIndex = 0;
  for (let m = SPACED.exec(text); m !== null; m = SPACED.exec(text)) {
    const sep = m[1]?.length ?? 1;
    const step = 1 + sep;
    let out = '';
    const from: number[] = [];
    const to: number[] = [];
    for (let i = 0; i < m[0].length; i += step) {
      out += m[0][i];
      from.push(m.index + i);
      to.push(m.index + i + 1);
    }
    // `a,b,c,d,e,f` (a minified parameter list) is no key: a key has digits and letters.
    if (/[0-9]/.test(out) && /[A-Za-z]/.test(out)) views.push({ decoded: viewOf(out, from, to, m.index, m.index + m[0].length), via: 'spaced' });
  }
}

// ---------------------------------------------------------------- tokens: base32, reversed, ROT13

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const BASE32 = /^(?:[A-Z2-7]+|[a-z2-7]+)={0,6}$/;

function base32(at: number, run: string): View | undefined {
  const core = run.replace(/=+$/, '').toUpperCase();
  let bits = 0;
  let acc = 0;
  let out = '';
  for (const c of core) {
    acc = ((acc << 5) | B32.indexOf(c)) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out += String.fromCharCode((acc >> bits) & 0xff);
    }
  }
  if (out.length < 10 || printableRatio(out) < 0.92) return undefined;
  // Decoded byte i came from characters [8i/5, 8(i+1)/5) of the run.
  const from = Array.from(out, (_, i) => at + Math.floor((8 * i) / 5));
  const to = Array.from(out, (_, i) => at + Math.ceil((8 * (i + 1)) / 5));
  return { decoded: viewOf(out, from, to, at, at + run.length), via: 'base32' };
}

/**
 * Only tokens a key could be turned into are turned: not hex (digests and
 * ids), not a path of short segments (`/v1/repos/x`), not an identifier made
 * of words. Code and API traffic are full of identifiers, hashes and paths,
 * and each token turned is one more text to scan. Digits are not required:
 * one AWS key id in 28 has none.
 */
function keyShaped(t: string): boolean {
  if (!/[G-Zg-z]/.test(t)) return false;
  if (t.includes('/') && t.split('/').every((seg) => seg.length <= 12)) return false;
  // Not words strung together (`A_0_modifier_cannot_be_used_1079`): a key has a long random piece.
  const { total, longest } = randomChars(t);
  return longest >= 12 || total >= 16;
}

function rot13(c: string): string {
  const x = c.charCodeAt(0);
  return String.fromCharCode(x <= 90 ? ((x - 65 + 13) % 26) + 65 : ((x - 97 + 13) % 26) + 97);
}

/**
 * Over the runs of base64 characters the keyword pass found (at least 16
 * long, padding included): base32 ones decoded, and (with `turn`) the
 * key-shaped ones backwards and in ROT13, one per line of two views.
 */
function tokens(text: string, runs: readonly Run[], turn: boolean, out: View[]): void {
  // One view, each token twice (backwards, then rotated), a line each: one scan of it instead of two.
  let view = '';
  const from: number[] = [];
  for (const r of runs) {
    const t = text.slice(r.start, r.end);
    if (BASE32.test(t)) {
      const v = base32(r.start, t);
      if (v) out.push(v);
    }
    if (!turn || !keyShaped(t)) continue;
    view += `${[...t].reverse().join('')}\n${t.replace(/[A-Za-z]/g, rot13)}\n`;
    for (let i = t.length - 1; i >= 0; i--) from.push(r.start + i);
    from.push(r.end);
    for (let i = 0; i < t.length; i++) from.push(r.start + i);
    from.push(r.end);
  }
  if (from.length > 0) out.push({ decoded: viewOf(view, from, from.map((x) => x + 1), 0, text.length), via: 'turned' });
}

/**
 * Every egress-only view of `text` worth scanning. `runs`: its runs of base64
 * characters (the keyword pass finds them); `turn`: also turn its key-shaped
 * tokens backwards and in ROT13.
 */
export function evasionViews(text: string, runs: readonly Run[], turn = true): View[] {
  const out: View[] = [];
  unescaped(text, out);
  spaced(text, out);
  tokens(text, runs, turn, out);
  return out;
}
