/** @module Fewer WAL checkpoints while imports run on a connection, restored when the last one ends. */
import type { Db } from '../../engine/storage/db.ts';

/**
 * WAL pages between automatic checkpoints while an import runs (128 MiB at 4 KiB pages; SQLite's default
 * is 1000). With a random-order key every batch rewrites many pages of the key index into the WAL; with
 * the default, each commit was followed by a checkpoint copying them all into the database again, which
 * made 5,000-record batches 3× slower than one transaction. Restored when the last running import ends.
 */
export const IMPORT_CHECKPOINT_PAGES = 32_768;

/** Imports running per connection, and the autocheckpoint setting to restore when none is left. */
const checkpointing = new WeakMap<Db, { running: number; saved: number }>();

export function relaxCheckpoints(db: Db): () => void {
  let state = checkpointing.get(db);
  if (!state) {
    state = { running: 0, saved: db.pragma('wal_autocheckpoint', { simple: true }) as number };
    checkpointing.set(db, state);
    db.pragma(`wal_autocheckpoint = ${IMPORT_CHECKPOINT_PAGES}`);
  }
  state.running++;
  const s = state;
  return () => {
    if (--s.running > 0) return;
    checkpointing.delete(db);
    db.pragma(`wal_autocheckpoint = ${s.saved}`);
    // Leave a short WAL behind: a passive checkpoint never waits for readers.
    db.pragma('wal_checkpoint(PASSIVE)');
  };
}
