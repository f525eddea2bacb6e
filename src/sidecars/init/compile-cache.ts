/**
 * Node files its compile cache under a tag ending in the process's uid. The
 * bundle image's cache (images/bundle/Dockerfile) is made as the bundle user;
 * a bundle run as another uid (the invoking user, when bot-bottle does not
 * run as root) would miss it. The init links the image's folders under its
 * own uid into a folder of its tmpfs and hands that to the services. Any
 * failure leaves things as they were: the services then only boot slower.
 */
import { mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

const TAGGED = /^(.+)-(\d+)$/;

/** The folder to use as NODE_COMPILE_CACHE for `uid`, or undefined to keep `imageDir` as it is. */
export function compileCacheFor(imageDir: string, linkDir: string, uid: number): string | undefined {
  try {
    const tags = readdirSync(imageDir);
    const mine = `-${uid}`;
    if (tags.some((t) => t.endsWith(mine))) return undefined;
    const links = new Map<string, string>();
    for (const t of tags) {
      const m = TAGGED.exec(t);
      if (m?.[1] !== undefined && !links.has(m[1])) links.set(m[1], t);
    }
    if (links.size === 0) return undefined;
    mkdirSync(linkDir, { recursive: true, mode: 0o700 });
    for (const [prefix, tag] of links) symlinkSync(join(imageDir, tag), join(linkDir, `${prefix}${mine}`));
    return linkDir;
  } catch {
    return undefined;
  }
}
