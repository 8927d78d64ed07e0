/** @module Instants as administrators in China read them, in Asia/Shanghai time (for messages, not for storage). */

const SHANGHAI_OFFSET_MS = 8 * 3_600_000; // China Standard Time, no daylight saving since 1991

/** A time as administrators in China read it: "2026-12-03 17:00 (UTC+8)". */
export function formatShanghaiTime(t: string | number | Date): string {
  const ms = t instanceof Date ? t.getTime() : typeof t === 'number' ? t : Date.parse(t);
  if (!Number.isFinite(ms)) return String(t);
  const iso = new Date(ms + SHANGHAI_OFFSET_MS).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} (UTC+8)`;
}
