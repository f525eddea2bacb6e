/**
 * Prompt-injection texts and ordinary documentation that nobody here wrote,
 * for `bench/dlp/inbound.ts --set outside`. Nothing of theirs is committed:
 * the packages are fetched with `npm pack` at bench time into a cache folder
 * (`$BB_INBOUND_OUTSIDE` or `/tmp/bot-bottle-inbound-outside`), and each item
 * keeps the package and path it came from.
 *
 * Attacks:
 * - promptfoo's red-team jailbreak templates (the `prompt-injection`
 *   strategy's data: DAN, developer mode, persona and "ignore the
 *   instructions you got before" prompts), `__PROMPT__` left empty;
 * - agent-security-scanner-mcp's benchmark corpus of prompt injections
 *   (`# VULN:` blocks), whose `# SAFE:` blocks count as ordinary text.
 *
 * Ordinary text: every paragraph of the Markdown files of LLM SDKs (OpenAI,
 * Anthropic, Vercel AI, MCP, LangChain, OpenAI Agents: "system prompt",
 * "instructions", "assistant", "tool call", "execute") and of the pinned npm
 * corpus (bench/scan/npm-corpus.ts) that uses one of the words an injection
 * uses (ignore, override, execute, instructions, secret, token...).
 *
 * Each text is put in what an agent reads: an HTML page (escaped as a page
 * escapes text), a GitHub issue comment as JSON, a README section, a
 * search-API result as JSON. Items are split in two halves by a hash of their
 * source: the heuristics may be tuned on `tune`, never on `held-out`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { corpusFiles, fetchCorpus, PACKAGES } from '../scan/npm-corpus.js';

export const ATTACK_PACKAGES = ['promptfoo@0.121.20', 'agent-security-scanner-mcp@4.5.9'] as const;
export const DOC_PACKAGES = [
  'openai@7.60.0',
  '@anthropic-ai/sdk@1.16.0',
  'ai@7.0.173',
  '@modelcontextprotocol/sdk@1.32.2',
  '@langchain/core@1.4.0',
  '@openai/agents@0.20.0',
] as const;

export interface OutsideItem {
  /** `package@version:path#n`: where the text came from. */
  readonly source: string;
  /** The text as an agent would read it (wrapped in a page, a comment, a README, an API answer). */
  readonly text: string;
  readonly attack: boolean;
  readonly half: 'tune' | 'held-out';
}

function cacheDir(): string {
  return process.env.BB_INBOUND_OUTSIDE ?? '/tmp/bot-bottle-inbound-outside';
}

const dirName = (spec: string): string => spec.replace(/^@/, '').replace(/[/@]/g, '__');

/** `npm pack` and unpack each package not yet in the cache; the unpacked `package/` folder of each. */
function fetchPackages(specs: readonly string[]): Map<string, string> {
  const root = cacheDir();
  const tarballs = join(root, 'tarballs');
  mkdirSync(tarballs, { recursive: true });
  const missing = specs.filter((p) => !existsSync(join(root, 'pkg', dirName(p), '.done')));
  if (missing.length > 0) {
    process.stderr.write(`npm pack: fetching ${missing.length} package(s) into ${tarballs}\n`);
    const out = execFileSync('npm', ['pack', '--json', '--pack-destination', tarballs, ...missing], { encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'inherit'] });
    const packed = JSON.parse(out) as { filename: string; name: string; version: string }[];
    for (const p of packed) {
      const dest = join(root, 'pkg', dirName(`${p.name}@${p.version}`));
      mkdirSync(dest, { recursive: true });
      const file = join(tarballs, p.filename.replace(/^@/, '').replace(/\//g, '-'));
      execFileSync('tar', ['-xzf', existsSync(file) ? file : join(tarballs, p.filename), '-C', dest, '--no-same-owner']);
      writeFileSync(join(dest, '.done'), '');
    }
  }
  return new Map(specs.map((s) => [s, join(root, 'pkg', dirName(s), 'package')]));
}

/** promptfoo's jailbreak templates: one JSON string a line in `var data_default = [ ... ];` of a strategies chunk. */
function promptfooTemplates(dir: string, spec: string): { source: string; text: string }[] {
  const chunks = join(dir, 'dist', 'src');
  for (const f of readdirSync(chunks).filter((n) => /^strategies-.*\.js$/.test(n)).sort()) {
    const lines = readFileSync(join(chunks, f), 'utf8').split('\n');
    const start = lines.findIndex((l) => l.startsWith('var data_default = ['));
    if (start < 0) continue;
    const out: { source: string; text: string }[] = [];
    for (let i = start + 1; i < lines.length && !lines[i].startsWith(']'); i++) {
      const lit = lines[i].trim().replace(/,$/, '');
      const text = (JSON.parse(lit) as string).replace(/__PROMPT__/g, '').trim();
      out.push({ source: `${spec}:dist/src/${f}#data_default[${out.length}]`, text });
    }
    return out;
  }
  throw new Error(`${spec}: no jailbreak templates found (the package's layout changed)`);
}

/** The scanner's benchmark corpus: blocks after `# VULN: rule` (attacks) or `# SAFE: rule` (ordinary). */
function scannerCorpus(dir: string, spec: string): { source: string; text: string; attack: boolean }[] {
  const path = 'benchmarks/corpus/prompt_injection.txt';
  const out: { source: string; text: string; attack: boolean }[] = [];
  let kind: boolean | undefined;
  let body: string[] = [];
  const flush = () => {
    const text = body.join('\n').trim();
    if (kind !== undefined && text) out.push({ source: `${spec}:${path}#${out.length}`, text, attack: kind });
    body = [];
  };
  for (const line of readFileSync(join(dir, path), 'utf8').split('\n')) {
    const m = /^# (VULN|SAFE):/.exec(line);
    if (m) {
      flush();
      kind = m[1] === 'VULN';
    } else if (line.startsWith('# ')) {
      flush();
      kind = undefined;
    } else body.push(line);
  }
  flush();
  return out;
}

/** Words an injection uses and documentation uses too. */
const SHARED_WORDS = /\b(?:ignor(?:e|es|ed|ing)|overrid(?:e|es|den|ing)|execut(?:e|es|ed|ing)|instructions?|system\s+prompt|assistant|disregard|bypass|secrets?|tokens?|credentials?|tool\s+calls?|forget)\b/i;

/** Paragraphs of a package's Markdown files that use the shared words: at most 3 a file, 8 a package. */
function docParagraphs(dir: string, spec: string): { source: string; text: string }[] {
  const files = corpusFiles([dir])
    .filter((f) => /\.(?:md|markdown)$/i.test(f.rel) && !/CHANGELOG|HISTORY/i.test(f.rel))
    .map((f) => ({ ...f, rel: relative(dir, f.abs) }));
  const out: { source: string; text: string }[] = [];
  for (const f of files) {
    let n = 0;
    const paras = readFileSync(f.abs, 'utf8').split(/\n[ \t]*\n/);
    for (let i = 0; i < paras.length && n < 3 && out.length < 8; i++) {
      const p = paras[i].trim();
      if (p.length < 80 || p.length > 2000 || !SHARED_WORDS.test(p)) continue;
      out.push({ source: `${spec}:${f.rel}#${i}`, text: p });
      n++;
    }
  }
  return out;
}

const htmlEscape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** What the agent reads: the text inside one of four kinds of answer, chosen by the item's number. */
function envelope(text: string, n: number): string {
  switch (n % 4) {
    case 0:
      return `<!doctype html>\n<html><head><meta charset="utf-8"><title>Community notes</title></head>\n<body><nav><a href="/">Home</a></nav>\n<article>\n<p>${htmlEscape(text).replace(/\n/g, '<br>\n')}</p>\n</article>\n<footer>&copy; 2025</footer></body></html>\n`;
    case 1:
      return `${JSON.stringify([{ id: 1000 + n, user: { login: 'octo-user' }, created_at: '2025-05-01T10:00:00Z', author_association: 'NONE', body: text }], null, 2)}\n`;
    case 2:
      return `# project\n\nA small library.\n\n## Notes\n\n${text}\n\n## License\n\nMIT\n`;
    default:
      return `${JSON.stringify({ query: 'how to configure the client', results: [{ title: 'Forum answer', url: 'https://forum.example.org/t/1', snippet: text }] })}\n`;
  }
}

/** FNV-1a of the source: which half an item is in, stable across runs and additions. */
function half(source: string): 'tune' | 'held-out' {
  let h = 0x811c9dc5;
  for (let i = 0; i < source.length; i++) h = Math.imul(h ^ source.charCodeAt(i), 0x01000193) >>> 0;
  return h % 2 === 0 ? 'tune' : 'held-out';
}

/** Every outside item, fetched (cached) and wrapped. */
export function outsideItems(): OutsideItem[] {
  const dirs = fetchPackages([...ATTACK_PACKAGES, ...DOC_PACKAGES]);
  const raw: { source: string; text: string; attack: boolean }[] = [];
  raw.push(...promptfooTemplates(dirs.get(ATTACK_PACKAGES[0])!, ATTACK_PACKAGES[0]).map((x) => ({ ...x, attack: true })));
  raw.push(...scannerCorpus(dirs.get(ATTACK_PACKAGES[1])!, ATTACK_PACKAGES[1]));
  for (const spec of DOC_PACKAGES) raw.push(...docParagraphs(dirs.get(spec)!, spec).map((x) => ({ ...x, attack: false })));
  fetchCorpus().forEach((root, i) => {
    const pkg = join(root, 'package');
    if (existsSync(pkg)) raw.push(...docParagraphs(pkg, PACKAGES[i]).map((x) => ({ ...x, attack: false })));
  });
  return raw.map((x, n) => ({ source: x.source, text: envelope(x.text, n), attack: x.attack, half: half(x.source) }));
}
