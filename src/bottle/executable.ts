/** Host programs bot-bottle runs (debootstrap, QEMU's helpers, smolvm): found on PATH and the sbin folders. */
import { constants as fsConstants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

export async function findExecutable(name: string, path: string = process.env.PATH ?? ''): Promise<string | undefined> {
  const dirs = [...path.split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const d of dirs) {
    if (!d) continue;
    const p = join(d, name);
    try {
      await access(p, fsConstants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}
