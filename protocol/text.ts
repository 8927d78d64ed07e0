/**
 * @module Text that every replica stores alike (PROTOCOL.md §7.4 "Text").
 *
 * A JavaScript string may hold a lone UTF-16 surrogate (JSON `"\uD800"` parses to one), which is not
 * Unicode text: each encoder treats it its own way — Yjs's and TextEncoder's UTF-8 turn it into U+FFFD,
 * JSON.stringify keeps the escape, SQLite stores U+FFFD, a legacy Yjs ContentJSON struct carries it
 * through. The writer's in-memory document would then hold one value and every replica another, and
 * digests and content hashes would disagree. So replicated user text is refused at every boundary that
 * parses it (HTTP bodies and incoming messages) instead of being normalised silently.
 */
import { z } from 'zod';

/** Matches a lone surrogate: with the `u` flag a well-formed pair is one code point, not a Surrogate. */
const LONE_SURROGATE = /\p{Surrogate}/u;

export const LONE_SURROGATE_MESSAGE = '含有不成对的 UTF-16 代理项（不是有效的 Unicode 文本） / contains a lone UTF-16 surrogate (not valid Unicode text)';

/** True when `s` is well-formed Unicode (no lone surrogate); String.prototype.isWellFormed for Node 20 and older TS libs. */
export function isWellFormedText(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}

/**
 * A string schema that refuses lone surrogates (zod issue `custom`, zh / en message, at the field's
 * path). Chain length and other checks after it: `safeString().min(1).max(200)`.
 */
export function safeString(): z.ZodString {
  return z.string().refine(isWellFormedText, LONE_SURROGATE_MESSAGE);
}

/** Free text of at most `max` UTF-16 units, well-formed. */
export const safeText = (max: number): z.ZodString => safeString().max(max);
