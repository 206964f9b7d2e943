import { statSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';

/**
 * Watches the folders of the namespaces whose handles are held (inotify, through fs.watch) and says
 * which of them are gone: a held socket keeps its namespace alive, so its handles must close the
 * moment `ip netns delete` removes the file. Events are gathered for a moment and checked by stat:
 * gone, or the name now names another namespace (another inode). libuv reads the inotify queue on
 * every turn of the event loop and does not pass IN_Q_OVERFLOW on; an event lost that way (or an
 * unmount, which sends none) is caught by the reader's check at the next discovery. Any event is
 * also passed on (`onChanged`): a file that appeared may be a namespace to open ahead of the cycle.
 */
export class FolderWatch {
  readonly #onGone: (inodes: number[]) => void;
  readonly #onChanged: () => void;
  readonly #held: () => ReadonlyMap<number, { path: string; file: string | Buffer }>;
  readonly #watchers = new Map<string, FSWatcher>();
  /** Names that changed per folder since the last check; null: anything in that folder may have. */
  #changed = new Map<string, Set<string> | null>();
  #scheduled = false;

  constructor(held: () => ReadonlyMap<number, { path: string; file: string | Buffer }>, onGone: (inodes: number[]) => void, onChanged: () => void = () => {}) {
    this.#held = held;
    this.#onGone = onGone;
    this.#onChanged = onChanged;
  }

  /** Watches exactly these folders from now on. */
  watchFolders(dirs: Iterable<string>): void {
    const wanted = new Set(dirs);
    for (const [dir, watcher] of this.#watchers) {
      if (wanted.has(dir)) continue;
      watcher.close();
      this.#watchers.delete(dir);
    }
    for (const dir of wanted) {
      if (this.#watchers.has(dir)) continue;
      try {
        const watcher = watch(dir, { persistent: false }, (_event, name) => this.#note(dir, typeof name === 'string' ? name : null));
        // A folder that goes away ends its watch; the next discovery watches it again.
        watcher.on('error', () => {
          watcher.close();
          this.#watchers.delete(dir);
          this.#note(dir, null);
        });
        this.#watchers.set(dir, watcher);
      } catch {
        // a folder that cannot be watched: the check at each discovery still closes what went
      }
    }
  }

  close(): void {
    for (const watcher of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
  }

  #note(dir: string, name: string | null): void {
    const names = this.#changed.get(dir);
    if (name === null || (this.#changed.has(dir) && names === null)) this.#changed.set(dir, null);
    else if (names === undefined) this.#changed.set(dir, new Set([name]));
    else names?.add(name);
    if (this.#scheduled) return;
    this.#scheduled = true;
    // A burst of deletions (a whole folder's worth) is one pass over the held namespaces.
    setImmediate(() => this.#check());
  }

  #check(): void {
    this.#scheduled = false;
    const changed = this.#changed;
    this.#changed = new Map();
    const gone: number[] = [];
    for (const [inode, { path: shown, file }] of this.#held()) {
      const dir = path.dirname(shown);
      if (!changed.has(dir)) continue;
      const names = changed.get(dir);
      // A name that is not UTF-8 shows U+FFFD where the event's name has other text: checked on any event.
      const name = path.basename(shown);
      if (names !== null && names !== undefined && !names.has(name) && !name.includes('\uFFFD')) continue;
      if (!namesInode(file, inode)) gone.push(inode);
    }
    if (gone.length > 0) this.#onGone(gone);
    if (changed.size > 0) this.#onChanged();
  }
}

/** Whether `file` still names the namespace `inode`. */
function namesInode(file: string | Buffer, inode: number): boolean {
  try {
    return statSync(file).ino === inode;
  } catch {
    return false;
  }
}
