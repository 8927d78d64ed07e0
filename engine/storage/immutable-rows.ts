/**
 * @module Parsed JSON of rows that never change once written (signed grants): each is read and parsed
 * once, then served from memory on the hot path of every cascaded access. Nothing read inside a
 * transaction is kept, since that transaction may still roll back.
 */
import type { Db } from './db.ts';

export class ImmutableRowCache<T> {
  private readonly parsed = new Map<string, T>();

  constructor(
    private readonly db: Db,
    /** The row's JSON text, or undefined when there is no such row. */
    private readonly read: (key: string) => string | undefined,
    private readonly max = 10_000,
  ) {}

  get(key: string): T | undefined {
    const hit = this.parsed.get(key);
    if (hit) return hit;
    const text = this.read(key);
    if (text === undefined) return undefined;
    const value = JSON.parse(text) as T;
    if (!this.db.inTransaction) {
      if (this.parsed.size >= this.max) this.parsed.clear();
      this.parsed.set(key, value);
    }
    return value;
  }
}
