/**
 * The dashboard's token: 32 random bytes, kept in `<home>/dashboard/token`
 * (mode 600, beside the bottles' own secrets) so that a restarted dashboard
 * accepts the pages it served before and they carry on without a reload.
 * `--new-token` mints a fresh one, which logs every open page out. Whoever can
 * read the home can already approve from the CLI: the file grants nothing new.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;

export function dashboardDir(home: string): string {
  return join(home, 'dashboard');
}

export async function dashboardToken(home: string, opts: { fresh?: boolean } = {}): Promise<string> {
  const dir = dashboardDir(home);
  const file = join(dir, 'token');
  if (!opts.fresh) {
    const kept = await readFile(file, 'utf8').then((t) => t.trim(), () => '');
    if (TOKEN_RE.test(kept)) return kept;
  }
  const token = randomBytes(32).toString('base64url');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(file, token + '\n', { mode: 0o600 });
  await chmod(file, 0o600);
  return token;
}

/** Constant-time comparison of a presented token with the real one. */
export function tokenMatches(presented: string | undefined, token: string): boolean {
  if (presented === undefined) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * A page that forwards the browser to the tokened URL: opening this file
 * keeps the token off the browser's command line (which every local user
 * can read), where passing the URL itself would put it.
 */
export async function writeOpener(home: string, url: string): Promise<string> {
  const file = join(dashboardDir(home), 'open.html');
  const html = `<!doctype html><meta charset="utf-8"><meta name="referrer" content="no-referrer"><meta http-equiv="refresh" content="0;url=${url.replace(/[&"<>]/g, (c) => `&#${c.charCodeAt(0)};`)}"><title>bot-bottle dashboard</title>\n`;
  await writeFile(file, html, { mode: 0o600 });
  await chmod(file, 0o600);
  return file;
}
