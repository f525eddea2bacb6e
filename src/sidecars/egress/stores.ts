/**
 * Small live files the proxy keeps in memory: tokens, known secrets, and the
 * routes. Each is re-read when its file changes (fs.watch on the folder, so
 * an atomic rename is seen too, with a debounce) and on demand; a file that
 * fails to parse leaves the previous value in force.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

export class LiveFile<T> {
  private value: T;
  private watchers: FSWatcher[] | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastRead = 0;

  constructor(
    readonly paths: readonly string[],
    private readonly read: () => T,
    initial: T,
    private readonly onError: (err: unknown) => void,
    private readonly onChange?: (value: T) => void,
  ) {
    this.value = initial;
  }

  get(): T {
    return this.value;
  }

  /** Re-read now. Returns false (and keeps the old value) when the file is bad. */
  reload(): boolean {
    this.lastRead = Date.now();
    try {
      this.value = this.read();
    } catch (err) {
      this.onError(err);
      return false;
    }
    this.onChange?.(this.value);
    return true;
  }

  /** Re-read unless that was done in the last `minMs` (for "value missing" paths). */
  reloadIfStale(minMs = 1000): void {
    if (Date.now() - this.lastRead >= minMs) this.reload();
  }

  /** Watch the files' folders; changes are debounced. */
  watch(debounceMs = 100): void {
    if (this.watchers !== undefined || this.paths.length === 0) return;
    const names = new Set(this.paths.map((p) => basename(p)));
    const dirs = [...new Set(this.paths.map((p) => dirname(p)))];
    const watchers: FSWatcher[] = [];
    for (const dir of dirs) {
      try {
        const w = watch(dir, { persistent: false }, (_event, file) => {
          if (file !== null && !names.has(String(file))) return;
          if (this.timer !== undefined) clearTimeout(this.timer);
          this.timer = setTimeout(() => {
            this.timer = undefined;
            this.reload();
          }, debounceMs);
          this.timer.unref();
        });
        w.on('error', () => undefined);
        watchers.push(w);
      } catch {
        // a folder that does not exist: SIGHUP and on-demand reads still work
      }
    }
    this.watchers = watchers;
  }

  close(): void {
    for (const w of this.watchers ?? []) w.close();
    this.watchers = undefined;
    if (this.timer !== undefined) clearTimeout(this.timer);
  }
}
