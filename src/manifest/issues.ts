/**
 * Turns zod issues into one ManifestError that reads like a compiler error:
 * `file:line: key.path: what is wrong`, with a hint for typos. Expected types
 * are described from the schema itself so the wording stays in step with it.
 */
import * as z from 'zod';
import { ManifestError } from '../errors.js';
import type { FrontMatter, KeyPath } from './frontmatter.js';
import { closest, hintFor } from './hint.js';

type Issue = z.core.$ZodIssue;
type Schema = z.core.$ZodType;

interface Problem {
  readonly path: KeyPath;
  readonly message: string;
  readonly fix?: string;
}

/** Root keys that belong to the other kind of file, with what to say about them. */
export interface CrossKeys {
  readonly keys: readonly string[];
  readonly note: string;
}

export function formatPath(path: KeyPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else {
      const s = String(seg);
      const plain = /^[A-Za-z_][A-Za-z0-9_-]*$/.test(s);
      out += plain ? (out === '' ? s : `.${s}`) : `[${JSON.stringify(s)}]`;
    }
  }
  return out;
}

/** The first problem in file order, as a ManifestError. */
export function manifestErrorFrom(
  file: string,
  fm: FrontMatter,
  schema: Schema,
  issues: readonly Issue[],
  cross?: CrossKeys,
): ManifestError {
  const problems = issues.flatMap((i) => explain(i, [], schema, fm.data, cross));
  const lineOf = (p: Problem): number => fm.lineOf(p.path) ?? Number.POSITIVE_INFINITY;
  const first = [...problems].sort((a, b) => lineOf(a) - lineOf(b))[0];
  if (first === undefined) return new ManifestError(file, 'invalid front matter');
  const line = fm.lineOf(first.path);
  return new ManifestError(file, first.message, {
    ...(first.path.length > 0 ? { keyPath: formatPath(first.path) } : {}),
    ...(line !== undefined ? { line } : {}),
    ...(first.fix !== undefined ? { fix: first.fix } : {}),
  });
}

function explain(issue: Issue, prefix: KeyPath, root: Schema, data: unknown, cross?: CrossKeys): Problem[] {
  const path = [...prefix, ...issue.path];
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => unknownKey([...path, key], key, root, cross));
    case 'invalid_type':
      return [badType(path, root, data)];
    case 'invalid_union': {
      // Report from the branch that got furthest into the value: for `[1]`
      // against `string | string[]` that is "[0]: expected a string".
      const branches = issue.errors.filter((b) => b.length > 0);
      const depth = (b: readonly Issue[]): number => Math.max(...b.map((i) => i.path.length));
      const best = [...branches].sort((a, b) => depth(b) - depth(a))[0];
      if (best !== undefined && depth(best) > 0) return best.flatMap((i) => explain(i, path, root, data, cross));
      return [badType(path, root, data)];
    }
    case 'invalid_key': {
      const inner = issue.issues[0];
      return [{ path, message: `name ${inner?.message ?? 'is not allowed'}` }];
    }
    case 'invalid_value': {
      const options = issue.values.map(String);
      const value = valueAt(data, path);
      const guess = typeof value === 'string' ? closest(value, options) : undefined;
      const hint = guess === undefined ? '' : `; did you mean \`${guess}\`?`;
      return [{ path, message: `expected one of ${options.join(', ')}${hint}` }];
    }
    case 'custom':
    case 'invalid_format':
    case 'too_big':
    case 'too_small':
    case 'not_multiple_of':
    case 'invalid_element':
      return [{ path, message: issue.message }];
  }
}

function unknownKey(path: KeyPath, key: string, root: Schema, cross?: CrossKeys): Problem {
  if (path.length === 1 && cross?.keys.includes(key)) {
    return { path, message: cross.note };
  }
  const parent = schemaAt(root, path.slice(0, -1));
  const allowed = parent instanceof z.ZodObject ? Object.keys(parent.shape) : [];
  return { path, message: `unknown key; ${hintFor(key, allowed)}` };
}

function badType(path: KeyPath, root: Schema, data: unknown): Problem {
  const schema = schemaAt(root, path);
  const value = valueAt(data, path);
  const expected = schema === undefined ? 'something else' : describe(schema);
  if (value === undefined) return { path, message: `is required: ${expected}` };
  const message = `expected ${expected}, got ${typeName(value)}`;
  const wantsString = schema !== undefined && acceptsString(schema);
  if (wantsString && (typeof value === 'number' || typeof value === 'boolean')) {
    // YAML reads `8080` and `true` as numbers and booleans; the fix is quoting.
    return { path, message, fix: `quote it: "${String(value)}"` };
  }
  return { path, message };
}

function typeName(value: unknown): string {
  if (value === null) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'number' && !Number.isInteger(value)) return 'a fraction';
  return typeof value;
}

function valueAt(data: unknown, path: KeyPath): unknown {
  let v = data;
  for (const seg of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v;
}

/** Strips wrappers that do not change what a value must look like. */
function unwrap(schema: Schema): Schema {
  let s = schema;
  for (;;) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodNullable || s instanceof z.ZodDefault) s = s.unwrap();
    else if (s instanceof z.ZodPipe) s = s.in;
    else return s;
  }
}

export function schemaAt(root: Schema, path: KeyPath): Schema | undefined {
  let s: Schema | undefined = unwrap(root);
  for (const seg of path) {
    if (s === undefined) return undefined;
    s = childSchema(s, seg);
    if (s !== undefined) s = unwrap(s);
  }
  return s;
}

function childSchema(s: Schema, seg: PropertyKey): Schema | undefined {
  if (s instanceof z.ZodObject) return (s.shape as Record<string, Schema>)[String(seg)];
  if (s instanceof z.ZodArray) return s.element;
  if (s instanceof z.ZodRecord) return s.valueType;
  if (s instanceof z.ZodUnion) {
    for (const option of s.options as readonly Schema[]) {
      const child = childSchema(unwrap(option), seg);
      if (child !== undefined) return child;
    }
  }
  return undefined;
}

// Only a plain string field: for `string | number` quoting a boolean is not the fix.
const acceptsString = (s: Schema): boolean => unwrap(s) instanceof z.ZodString;

/** "a list of strings", "true or false", … */
export function describe(schema: Schema): string {
  const s = unwrap(schema);
  if (s instanceof z.ZodString) return 'a string';
  if (s instanceof z.ZodNumber) return s.isInt ? 'a whole number' : 'a number';
  if (s instanceof z.ZodBoolean) return 'true or false';
  if (s instanceof z.ZodEnum) return `one of ${s.options.map(String).join(', ')}`;
  if (s instanceof z.ZodArray) return `a list of ${plural(s.element)}`;
  if (s instanceof z.ZodObject || s instanceof z.ZodRecord) return 'a mapping';
  if (s instanceof z.ZodUnion) return (s.options as readonly Schema[]).map(describe).join(' or ');
  return 'a value';
}

function plural(schema: Schema): string {
  const s = unwrap(schema);
  if (s instanceof z.ZodString) return 'strings';
  if (s instanceof z.ZodNumber) return 'numbers';
  if (s instanceof z.ZodObject || s instanceof z.ZodRecord) return 'mappings';
  return `items (${describe(s)})`;
}
