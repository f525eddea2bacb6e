/**
 * Front matter is parsed into a YAML document (not straight to JS) so that a
 * validation error found later can still be pointed at a line of the file.
 */
import { LineCounter, isMap, isPair, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import { ManifestError } from '../errors.js';

export type KeyPath = readonly PropertyKey[];

export interface FrontMatter {
  /** The front matter as plain data; `{}` when the file has none. */
  readonly data: Record<string, unknown>;
  /** Whether the file has a front matter block at all. */
  readonly present: boolean;
  /** Text after the closing `---`. */
  readonly body: string;
  /**
   * The file line of the key at `path` (of the item, for a list index),
   * falling back to the nearest ancestor that exists in the document.
   */
  lineOf(path: KeyPath): number | undefined;
}

interface Split {
  readonly yaml: string;
  /** Lines of the file before the YAML text starts. */
  readonly lineOffset: number;
  readonly body: string;
}

const FENCE = /^---[ \t]*$/;

/** Splits `---\n<yaml>\n---\n<body>`; a file without an opening fence has no front matter. */
export function splitFrontMatter(file: string, text: string): Split | undefined {
  const src = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const firstEnd = src.indexOf('\n');
  const firstLine = (firstEnd === -1 ? src : src.slice(0, firstEnd)).replace(/\r$/, '');
  if (!FENCE.test(firstLine)) return undefined;
  const yamlStart = firstEnd === -1 ? src.length : firstEnd + 1;
  let pos = yamlStart;
  while (pos < src.length) {
    const end = src.indexOf('\n', pos);
    const line = (end === -1 ? src.slice(pos) : src.slice(pos, end)).replace(/\r$/, '');
    if (FENCE.test(line)) {
      return {
        yaml: src.slice(yamlStart, pos),
        lineOffset: 1,
        body: end === -1 ? '' : src.slice(end + 1),
      };
    }
    if (end === -1) break;
    pos = end + 1;
  }
  throw new ManifestError(file, 'front matter is not closed', {
    line: 1,
    fix: 'end the front matter with a line holding only `---`',
  });
}

/** Front matter is settings, not data: past this, parsing alone would take seconds. */
export const MAX_FRONT_MATTER_BYTES = 64 * 1024;

export function parseFrontMatter(file: string, text: string): FrontMatter {
  const split = splitFrontMatter(file, text);
  if (split === undefined) {
    return { data: {}, present: false, body: text.startsWith('\uFEFF') ? text.slice(1) : text, lineOf: () => undefined };
  }
  const size = Buffer.byteLength(split.yaml);
  if (size > MAX_FRONT_MATTER_BYTES) {
    throw new ManifestError(file, `front matter is ${Math.ceil(size / 1024)} KiB; at most ${MAX_FRONT_MATTER_BYTES / 1024} KiB`, {
      line: 1,
      fix: 'keep settings short: long text belongs in the body, after the closing `---`',
    });
  }
  const counter = new LineCounter();
  // prettyErrors would append a code excerpt to the message; messages stay one line.
  // uniqueKeys is checked below in linear time: the library's own check is quadratic in the keys of a map.
  const doc = parseDocument(split.yaml, { lineCounter: counter, prettyErrors: false, uniqueKeys: false });
  const toLine = (offset: number): number => counter.linePos(offset).line + split.lineOffset;
  const first = doc.errors[0];
  if (first !== undefined) {
    throw new ManifestError(file, `YAML: ${first.message}`, { line: toLine(first.pos[0]) });
  }
  const dup = duplicateKey(doc.contents);
  if (dup !== undefined) {
    throw new ManifestError(file, `YAML: the key ${JSON.stringify(dup.key)} appears twice in one mapping`, { line: toLine(dup.offset), fix: 'keep one of them' });
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // Undefined aliases and alias bombs surface here, not in doc.errors.
    const why = e instanceof Error ? e.message.split('\n')[0] : 'cannot be read';
    throw new ManifestError(file, `YAML: ${why}`, { line: split.lineOffset + 1 });
  }
  if (data === null || data === undefined) data = {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new ManifestError(file, 'front matter must be a mapping of keys to values', {
      line: split.lineOffset + 1,
    });
  }
  const lineOf = (path: KeyPath): number | undefined => {
    const offset = locate(doc, path);
    return offset === undefined ? undefined : toLine(offset);
  };
  const proto = findProtoKey(data, []);
  if (proto !== undefined) {
    // Validators and spreads treat this key as the object's prototype, not as data.
    throw new ManifestError(file, 'the key `__proto__` is not allowed', { line: lineOf(proto) ?? 1 });
  }
  const nul = findNulString(data, []);
  if (nul !== undefined) {
    // A YAML escape (`"\0"`) can write one; no environment, argument or config line can hold it.
    throw new ManifestError(file, 'contains a NUL byte (`\\0`), which no environment variable, argument or file name can hold', {
      keyPath: nul.map((k) => String(k).replaceAll('\0', '\\0')).join('.'),
      line: lineOf(nul) ?? 1,
      fix: 'remove the `\\0` (or `\\x00`, `\\u0000`) escape',
    });
  }
  return { data: data as Record<string, unknown>, present: true, body: split.body, lineOf };
}

function findNulString(value: unknown, path: PropertyKey[]): PropertyKey[] | undefined {
  if (typeof value === 'string') return value.includes('\0') ? path : undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [k, v] of Object.entries(value)) {
    const here = [...path, Array.isArray(value) ? Number(k) : k];
    if (k.includes('\0')) return here;
    const deeper = findNulString(v, here);
    if (deeper !== undefined) return deeper;
  }
  return undefined;
}

/** The first key repeated within one mapping, anywhere in the document (one pass, a set per mapping). */
function duplicateKey(root: unknown): { key: string; offset: number } | undefined {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        if (isScalar(pair.key)) {
          const key = String(pair.key.value);
          if (seen.has(key)) return { key, offset: rangeStart(pair.key) ?? 0 };
          seen.add(key);
        }
        stack.push(pair.value);
      }
    } else if (isSeq(node)) {
      stack.push(...node.items);
    }
  }
  return undefined;
}

function findProtoKey(value: unknown, path: PropertyKey[]): PropertyKey[] | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [k, v] of Object.entries(value)) {
    const here = [...path, Array.isArray(value) ? Number(k) : k];
    if (k === '__proto__') return here;
    const deeper = findProtoKey(v, here);
    if (deeper !== undefined) return deeper;
  }
  return undefined;
}

/**
 * Source offset of the key at `path`, or of the deepest ancestor found. The key,
 * not the value: a mapping value starts on the line after the key that is wrong.
 */
function locate(doc: Document, path: KeyPath): number | undefined {
  let node: unknown = doc.contents;
  let found: number | undefined = rangeStart(node);
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
      if (pair === undefined) return found;
      node = pair.value;
      found = rangeStart(pair.key) ?? rangeStart(node) ?? found;
    } else if (isSeq(node) && typeof segment === 'number') {
      node = node.items[segment];
      found = rangeStart(node) ?? found;
      if (node === undefined) return found;
    } else {
      return found;
    }
  }
  return found;
}

function rangeStart(node: unknown): number | undefined {
  if (typeof node !== 'object' || node === null || !('range' in node)) return undefined;
  const range = (node as Node).range;
  return range ? range[0] : undefined;
}
