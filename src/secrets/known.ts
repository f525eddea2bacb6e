/**
 * The bottle's own secrets (its tokens and forwarded variables), precompiled
 * once into every form they may travel in: raw, backwards, URL-encoded (component, form,
 * every byte; upper and lower hex), hex (lower, upper) and base64 at its three
 * alignments (standard and URL-safe). Case-folded copies (the secret
 * lowercased or uppercased) are matched too, by searching a lowercased text.
 */

/** Known secrets shorter than this would match everywhere; they are ignored. */
export const MIN_KNOWN_SECRET = 6;

export interface KnownForm {
  readonly form: string;
  /** `raw`, `url`, `hex`, `base64`, `reversed`. */
  readonly encoding: string;
}

function pctEveryByte(buf: Buffer, upper: boolean): string {
  let s = '';
  for (const b of buf) s += `%${b.toString(16).padStart(2, '0')}`;
  return upper ? s.toUpperCase() : s;
}

/** The forms a secret travels in, each tagged with its encoding. */
export function knownSecretForms(secret: string): KnownForm[] {
  const out = new Map<string, string>();
  const add = (form: string, encoding: string): void => {
    if (form.length >= MIN_KNOWN_SECRET && !out.has(form)) out.set(form, encoding);
  };
  const bytes = Buffer.from(secret, 'utf8');
  // Bodies are scanned as latin1 (byte = char), so the raw form is also the utf8 bytes as latin1.
  add(bytes.toString('latin1'), 'raw');
  add(secret, 'raw');
  // Written backwards: a token too word-like for the egress path's turned view (`Known-Secret` reads as words).
  add([...secret].reverse().join(''), 'reversed');
  const comp = encodeURIComponent(secret);
  add(comp, 'url');
  add(comp.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()), 'url');
  add(comp.replace(/%20/g, '+'), 'url');
  add(pctEveryByte(bytes, true), 'url');
  add(pctEveryByte(bytes, false), 'url');
  const hex = bytes.toString('hex');
  add(hex, 'hex');
  add(hex.toUpperCase(), 'hex');
  for (let pad = 0; pad < 3; pad++) {
    // The secret preceded by `pad` bytes: the characters that depend on the secret alone.
    const b64 = Buffer.concat([Buffer.alloc(pad), bytes]).toString('base64');
    const skip = pad === 0 ? 0 : Math.ceil((pad * 4) / 3);
    const full = Math.floor((pad + bytes.length) / 3) * 4;
    const core = b64.slice(skip, full);
    if (core.length >= 8) {
      add(core, 'base64');
      add(core.replace(/\+/g, '-').replace(/\//g, '_'), 'base64');
    }
  }
  return [...out].map(([form, encoding]) => ({ form, encoding }));
}

export interface KnownHit {
  readonly start: number;
  readonly end: number;
  readonly encoding: string;
}

/** The bottle's own secrets, precompiled into every form they may travel in. */
export class KnownSecrets {
  readonly forms: readonly KnownForm[];
  /** Lowercased raw secrets (those with letters), matched against a lowercased text. */
  private readonly folded: readonly string[];

  constructor(secrets: readonly string[]) {
    const forms: KnownForm[] = [];
    const seen = new Set<string>();
    const folded = new Set<string>();
    for (const s of secrets) {
      if (s.length < MIN_KNOWN_SECRET) continue;
      for (const f of knownSecretForms(s)) {
        if (seen.has(f.form)) continue;
        seen.add(f.form);
        forms.push(f);
      }
      const lower = s.toLowerCase();
      if (lower !== s.toUpperCase() && lower.length === s.length) folded.add(lower);
    }
    // Longest first, so a longer encoded form wins over a shorter one inside it.
    forms.sort((a, b) => b.form.length - a.form.length);
    this.forms = forms;
    this.folded = [...folded].sort((a, b) => b.length - a.length);
  }

  get size(): number {
    return this.forms.length;
  }

  /** Every occurrence in `text`, exact forms first, then case-folded raw ones. */
  find(text: string): KnownHit[] {
    const out: KnownHit[] = [];
    for (const f of this.forms) {
      for (let i = text.indexOf(f.form); i !== -1; i = text.indexOf(f.form, i + f.form.length)) {
        out.push({ start: i, end: i + f.form.length, encoding: f.encoding });
      }
    }
    if (this.folded.length > 0) {
      const lower = text.toLowerCase();
      if (lower.length === text.length) {
        for (const f of this.folded) {
          for (let i = lower.indexOf(f); i !== -1; i = lower.indexOf(f, i + f.length)) {
            if (!out.some((h) => h.start <= i && i + f.length <= h.end)) out.push({ start: i, end: i + f.length, encoding: 'case' });
          }
        }
      }
    }
    return out;
  }
}

export const NO_KNOWN = new KnownSecrets([]);
