// Directory watching for `npm run dev`: one fs.watch per directory holding a file of interest
// (directories, not files, because editors often save by writing a new file and renaming it
// over the old one, which a watch on the old file would not follow). Changes come in batches:
// `onChanges(paths, firstAt)` gets every path `accepts` that changed until things stayed quiet
// for `quietMs`, with the time of the first change, and is never called again before its
// promise settles (what changes meanwhile makes the next batch).
import { watch } from "node:fs";
import { join } from "node:path";

export function createWatcher({ accepts, onChanges, quietMs = 60, onError = () => {} }) {
  const watchers = new Map();
  let pending = new Set();
  let firstAt;
  let timer;
  let busy = false;
  let closed = false;

  async function flush() {
    timer = undefined;
    if (busy || closed || pending.size === 0) return;
    busy = true;
    const paths = pending;
    const since = firstAt;
    pending = new Set();
    firstAt = undefined;
    try {
      await onChanges(paths, since);
    } catch (error) {
      onError(error);
    } finally {
      busy = false;
      if (pending.size > 0 && !closed) timer ??= setTimeout(flush, quietMs);
    }
  }

  function changed(path) {
    if (!accepts(path)) return;
    pending.add(path);
    firstAt ??= Date.now();
    clearTimeout(timer);
    timer = setTimeout(flush, quietMs);
  }

  return {
    /** Starts watching these directories (those already watched are left as they are). */
    add(dirs) {
      for (const dir of dirs) {
        if (watchers.has(dir) || closed) continue;
        try {
          const watcher = watch(dir, (_event, name) => name && changed(join(dir, name.toString())));
          // A directory removed under us: stop watching it; a file in it that is imported again brings it back.
          watcher.on("error", () => {
            watcher.close();
            watchers.delete(dir);
          });
          watchers.set(dir, watcher);
        } catch {
          // Gone before it could be watched: nothing of interest is in it.
        }
      }
    },
    close() {
      closed = true;
      clearTimeout(timer);
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
    },
  };
}
