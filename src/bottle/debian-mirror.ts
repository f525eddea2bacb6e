/** The Debian mirror a host already trusts, for everything bot-bottle fetches from Debian (base images, guest kernels). */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export const DEFAULT_DEBIAN_MIRROR = 'http://deb.debian.org/debian';

/**
 * The Debian mirror for bookworm named in the host's apt sources (one-line
 * `deb` entries and deb822 `.sources` stanzas); Debian's CDN when none.
 * Prefers an entry with the `main` component on a path ending in `/debian`
 * so a third-party repository that also calls its suite `bookworm` loses.
 */
export async function findDebianMirror(aptDir = '/etc/apt'): Promise<string> {
  const files: string[] = [join(aptDir, 'sources.list')];
  try {
    const names = (await readdir(join(aptDir, 'sources.list.d'))).sort();
    for (const n of names) if (n.endsWith('.list') || n.endsWith('.sources')) files.push(join(aptDir, 'sources.list.d', n));
  } catch {
    /* no sources.list.d */
  }
  const candidates: { uri: string; components: string[] }[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = await readFile(f, 'utf8');
    } catch {
      continue;
    }
    candidates.push(...(f.endsWith('.sources') ? parseDeb822(text) : parseOneLine(text)));
  }
  const web = candidates.filter((c) => /^https?:\/\//.test(c.uri));
  const best =
    web.find((c) => c.components.includes('main') && /\/debian\/?$/.test(c.uri)) ?? web.find((c) => c.components.includes('main')) ?? web[0];
  return best ? best.uri.replace(/\/+$/, '') : DEFAULT_DEBIAN_MIRROR;
}

function parseOneLine(text: string): { uri: string; components: string[] }[] {
  const out: { uri: string; components: string[] }[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line.startsWith('deb ') && !line.startsWith('deb\t')) continue;
    const words = line
      .slice(3)
      .replace(/\[[^\]]*\]/, ' ')
      .trim()
      .split(/\s+/);
    const [uri, suite, ...components] = words;
    if (uri && suite === 'bookworm') out.push({ uri, components });
  }
  return out;
}

function parseDeb822(text: string): { uri: string; components: string[] }[] {
  const out: { uri: string; components: string[] }[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    let last: string | undefined;
    for (const raw of stanza.split('\n')) {
      if (raw.startsWith('#')) continue;
      if (/^\s/.test(raw) && last) {
        fields.set(last, `${fields.get(last) ?? ''} ${raw.trim()}`);
        continue;
      }
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(raw);
      if (m?.[1]) {
        last = m[1].toLowerCase();
        fields.set(last, m[2] ?? '');
      }
    }
    if (fields.get('enabled')?.trim().toLowerCase() === 'no') continue;
    const words = (k: string) => (fields.get(k) ?? '').trim().split(/\s+/).filter(Boolean);
    if (!words('types').includes('deb') || !words('suites').includes('bookworm')) continue;
    for (const uri of words('uris')) out.push({ uri, components: words('components') });
  }
  return out;
}

