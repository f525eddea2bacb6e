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

export function parseFrontMatter(file: string, text: string): FrontMatter {
  const split = splitFrontMatter(file, text);
  if (split === undefined) {
    return { data: {}, body: text.startsWith('\uFEFF') ? text.slice(1) : text, lineOf: () => undefined };
  }
  const counter = new LineCounter();
  // prettyErrors would append a code excerpt to the message; messages stay one line.
  const doc = parseDocument(split.yaml, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  const toLine = (offset: number): number => counter.linePos(offset).line + split.lineOffset;
  const first = doc.errors[0];
  if (first !== undefined) {
    throw new ManifestError(file, `YAML: ${first.message}`, { line: toLine(first.pos[0]) });
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
  return { data: data as Record<string, unknown>, body: split.body, lineOf };
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
