// SPDX-License-Identifier: Apache-2.0
/**
 * watchFile: tell the caller when a config file's *content* changes (the static leases
 * file, net-conf.json mounted from a ConfigMap).
 *
 * Design notes: files get replaced in several ways, and each defeats one mechanism:
 * - atomic replacement (write temp + rename, as careful tools do) changes the inode, so a
 *   watch on the file itself goes deaf; we watch the *directory*. Kubelet updates a
 *   ConfigMap volume by swapping a `..data` symlink, so events for other names in the
 *   directory trigger a stat (which follows symlinks) and a read only if it changed;
 * - inotify is absent or unreliable on some filesystems (NFS, some overlay setups) and
 *   fs.watch can fail or die (directory removed); a stat poll every intervalMs catches
 *   those, and re-arms the directory watch when it can;
 * - editors write in several steps: events are debounced (debounceMs) before reading.
 * Change detection compares the text itself, so touching a file without changing it never
 * fires, and a replace with different content always does (even within one mtime tick).
 */
import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';

/** Options for watchFile. */
export interface WatchFileOptions {
  /** Stat-poll period, also the fallback when fs.watch is unavailable. Default 250 ms. */
  intervalMs?: number;
  /** Delay between a directory event and the read. Default min(50, intervalMs) ms. */
  debounceMs?: number;
  /** Use fs.watch on the directory in addition to polling. Default true. */
  fsWatch?: boolean;
  /**
   * The content the caller already has (null = file absent). Changes are reported
   * relative to it, so nothing is lost between the caller's read and this call. When
   * omitted, the first read becomes the baseline and is not reported.
   */
  initial?: string | null;
  /** Keep the process alive while watching (as fs.watch's option). Default true. */
  persistent?: boolean;
  /** Receives read errors other than "not found" and errors thrown by onChange. */
  onError?: (err: Error) => void;
}

/** watchFile's handle: call it to stop; `ready` resolves once the first read is done. */
export type FileWatch = (() => void) & { readonly ready: Promise<void> };

/**
 * watchFile calls onChange(text) each time the content of `path` differs from the last
 * content seen: `text` is the new content, or null when the file no longer exists
 * (deleted or renamed away; a later re-creation reports the new text). Callbacks are never
 * concurrent and never follow stop(). Nothing is thrown into the caller: read failures
 * and exceptions from onChange go to options.onError (dropped when absent). Like fs.watch, it
 * keeps the process alive until stopped unless `persistent` is false. Returns stop(), whose `ready`
 * promise resolves when the baseline is known (or `initial` has been compared with the
 * file): changes made after that are reported.
 */
export function watchFile(path: string, onChange: (text: string | null) => void, options: WatchFileOptions = {}): FileWatch {
  const intervalMs = options.intervalMs ?? 250;
  const debounceMs = options.debounceMs ?? Math.min(50, intervalMs);
  const useFsWatch = options.fsWatch ?? true;
  const persistent = options.persistent ?? true;
  const report = (err: unknown): void => {
    try {
      options.onError?.(err instanceof Error ? err : new Error(String(err)));
    } catch {
      // an onError that throws has nowhere else to go
    }
  };
  const dir = dirname(path);
  const base = basename(path);

  let stopped = false;
  let last: string | null | undefined = options.initial; // undefined: baseline not read yet
  let lastSig = '';
  let running = false;
  let pending = false;
  let pendingForce = false;
  let debounce: NodeJS.Timeout | undefined;
  let debounceForce = false;
  let watcher: FSWatcher | undefined;
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => { markReady = resolve; });

  const isNotFound = (err: unknown): boolean => (err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR';

  const checkOnce = async (force: boolean): Promise<void> => {
    let sig: string;
    try {
      const st = await stat(path);
      sig = `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    } catch (err) {
      if (!isNotFound(err)) return report(err);
      sig = 'missing';
    }
    if (!force && sig === lastSig && last !== undefined) return;
    lastSig = sig;
    let text: string | null;
    try {
      text = sig === 'missing' ? null : await readFile(path, 'utf8');
    } catch (err) {
      if (!isNotFound(err)) return report(err);
      text = null;
    }
    if (stopped) return;
    if (last === undefined) {
      last = text;
      return;
    }
    if (text === last) return;
    last = text;
    try {
      onChange(text);
    } catch (err) {
      report(err);
    }
  };

  const check = (force: boolean): void => {
    pending = true;
    pendingForce ||= force;
    if (running || stopped) return;
    running = true;
    void (async () => {
      try {
        while (pending && !stopped) {
          const f = pendingForce;
          pending = pendingForce = false;
          await checkOnce(f);
        }
      } finally {
        running = false;
        markReady(); // the first loop has compared or set the baseline
      }
    })();
  };

  const arm = (): void => {
    if (!useFsWatch || watcher !== undefined || stopped) return;
    try {
      const w = watch(dir, { persistent: false }, (_event, filename) => {
        // Our name (or unknown): re-read. Another name may be a symlink swap that changes
        // what our path resolves to (kubelet's ..data): a stat tells, so check without force.
        debounceForce ||= filename === null || filename === base;
        clearTimeout(debounce);
        debounce = setTimeout(() => {
          const force = debounceForce;
          debounceForce = false;
          check(force);
        }, debounceMs);
      });
      w.on('error', () => {
        w.close();
        if (watcher === w) watcher = undefined; // re-armed by the next poll
      });
      watcher = w;
    } catch {
      watcher = undefined; // directory missing or inotify unavailable: polling covers it
    }
  };

  arm();
  const poll = setInterval(() => {
    arm();
    check(false);
  }, intervalMs);
  if (!persistent) poll.unref(); // the poll timer alone decides whether we keep the process alive
  check(true);

  const stop = (): void => {
    stopped = true;
    clearInterval(poll);
    clearTimeout(debounce);
    watcher?.close();
    watcher = undefined;
    markReady();
  };
  return Object.assign(stop, { ready });
}
