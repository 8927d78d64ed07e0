/**
 * @module UUID version 7 (RFC 9562 §5.7): 48-bit Unix milliseconds, then random bits. Entry ids
 * use it so new rows land at the end of SQLite's b-trees instead of at random pages, which keeps
 * bulk inserts cheap on every replica.
 */
import { sodium } from './sodium.ts';

// Random bytes come from a pool refilled 4 KiB at a time: one CSPRNG call per id costs more than the rest of the id.
const pool = new Uint8Array(4096);
let poolAt = pool.length;

function random16(): Uint8Array {
  if (poolAt + 16 > pool.length) {
    globalThis.crypto.getRandomValues(pool);
    poolAt = 0;
  }
  const out = pool.slice(poolAt, poolAt + 16);
  poolAt += 16;
  return out;
}

export function uuidv7(nowMs: number = Date.now()): string {
  const b = random16();
  let ms = Math.max(0, Math.floor(nowMs));
  for (let i = 5; i >= 0; i--) {
    b[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  b[6] = (b[6]! & 0x0f) | 0x70;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = sodium().to_hex(b);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
