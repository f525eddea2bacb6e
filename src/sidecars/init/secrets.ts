/**
 * The bundle's secrets arrive on the init's stdin at launch: one JSON object
 * (name -> content), then EOF. The init writes them to the tmpfs before it
 * starts any service, so no sidecar ever runs without its tokens and no extra
 * process (an exec) competes with the bundle's boot. Nothing touches argv,
 * the environment, an image layer or the host disk.
 */
import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

/** Far above any real set of tokens; a larger stream is refused, not buffered. */
const MAX_BYTES = 16 * 1024 * 1024;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export class SecretsInputError extends Error {
  override name = 'SecretsInputError';
}

async function readAll(input: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of input) {
    const b = Buffer.isBuffer(c) ? c : Buffer.from(String(c));
    size += b.length;
    if (size > MAX_BYTES) throw new SecretsInputError(`more than ${MAX_BYTES} bytes of secrets on stdin`);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Parse the object and check every name and value (never echoing a value). */
export function parseSecrets(text: string): Record<string, string> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new SecretsInputError(text.trim() === '' ? 'no secrets on stdin (the host closed it before writing)' : 'secrets on stdin are not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new SecretsInputError('secrets on stdin must be a JSON object');
  const out: Record<string, string> = {};
  for (const [k, s] of Object.entries(v)) {
    if (!NAME_RE.test(k)) throw new SecretsInputError(`secret name ${JSON.stringify(k.slice(0, 40))} is not a plain file name`);
    if (typeof s !== 'string') throw new SecretsInputError(`secret ${k} is not a string`);
    out[k] = s;
  }
  return out;
}

/** Each secret to `dir/<name>`, mode 600, written then renamed so a reader never sees half of one. */
export function writeSecrets(dir: string, secrets: Readonly<Record<string, string>>): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  for (const [name, content] of Object.entries(secrets)) {
    const tmp = join(dir, `.${name}.tmp`);
    writeFileSync(tmp, content, { mode: 0o600 });
    renameSync(tmp, join(dir, name));
  }
}

/** Read stdin to EOF and write what it holds; resolves to the number of secrets. */
export async function receiveSecrets(input: Readable, dir: string): Promise<number> {
  const secrets = parseSecrets(await readAll(input));
  writeSecrets(dir, secrets);
  return Object.keys(secrets).length;
}
