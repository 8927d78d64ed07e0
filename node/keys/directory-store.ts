/** @module The node's copy of the hub-signed key directory (kept in `meta`): the newest version wins. */
import { acceptedKeys, KeyDirectory } from '../../protocol/key-directory.ts';
import { MetaStore, type Db } from '../../engine/storage/db.ts';

const KEY = 'keys.directory';

export class KeyDirectoryStore {
  private readonly meta: MetaStore;
  private cached: KeyDirectory | null | undefined;

  constructor(db: Db) {
    this.meta = new MetaStore(db);
  }

  current(): KeyDirectory | null {
    if (this.cached === undefined) {
      const text = this.meta.get(KEY);
      this.cached = text ? KeyDirectory.parse(JSON.parse(text)) : null;
    }
    return this.cached;
  }

  /** Keep `dir` if it is newer than what we have; returns whether it was taken. */
  accept(dir: KeyDirectory): boolean {
    const have = this.current();
    if (have && have.version >= dir.version) return false;
    this.meta.set(KEY, JSON.stringify(dir));
    this.cached = dir;
    return true;
  }

  /** Signing keys accepted for `nodeId` now (works offline: the directory is local). */
  keysOf(nodeId: string, now: Date): Uint8Array[] {
    const dir = this.current();
    return dir ? acceptedKeys(dir, nodeId, now) : [];
  }
}
