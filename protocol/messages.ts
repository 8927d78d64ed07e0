/** @module Message types: one zod schema per type tag (PROTOCOL.md §Messages). Tags are stable wire names. */
import { z } from 'zod';
import { AuditCheckpoint } from './audit-checkpoint.ts';
import { base64 } from './base64-schemas.ts';
import { KeyDirectory, KeyRotation } from './key-directory.ts';
import { countyCode, entryId } from './identifiers.ts';
import { PackageChunkGet, PackageGrant, PackageResume, PackageStatus, SignedPackageHeader } from './package-messages.ts';
import { AccessAnswer, AccessForward, AccessRequest, ApplicationDecide, ApplicationSubmit, ApplicationUpdate, GrantIssue, GrantRevocations } from './sharing-messages.ts';

export { countyCode, countyOfEntry, ENTRY_ID_RE, entryId } from './identifiers.ts';
export { base64 } from './base64-schemas.ts';

/** One Yjs update (v1 encoding) for one entry document. */
export const EntryUpdate = z
  .object({
    entryId,
    update: base64.min(1),
  })
  .strict();
export type EntryUpdate = z.infer<typeof EntryUpdate>;

/** `catalog.update` (tag 1): Yjs updates for one or more entries. Node → hub on UP, hub → nodes on DOWN. */
export const CatalogUpdate = z
  .object({
    /** The county whose node produced the change; for hub broadcasts the county the change came from, or "hub". */
    origin: z.union([countyCode, z.literal('hub')]),
    updates: z.array(EntryUpdate).min(1).max(5000),
  })
  .strict();
export type CatalogUpdate = z.infer<typeof CatalogUpdate>;

/** `catalog.sync.digest` (tag 2): node asks whether the hub's entries with from ≤ id < to hash the same. */
export const SyncDigestRequest = z
  .object({
    from: z.string().max(64),
    to: z.string().max(64).nullable(),
    count: z.number().int().nonnegative(),
    digest: z.string().regex(/^[0-9a-f]{64}$/),
  })
  .strict();
export type SyncDigestRequest = z.infer<typeof SyncDigestRequest>;

/** One entry's canonical state vector (see `canonicalStateVector`). */
export const EntryVector = z.object({ id: entryId, sv: z.string().max(4096) }).strict();
export type EntryVector = z.infer<typeof EntryVector>;

/**
 * `catalog.sync.digest.reply` (tag 3): equal, or the hub's vectors for the entries in the range.
 * At most 1000 vectors per reply: when there are more, `next` is the first id not listed and the
 * reply covers only from ≤ id < next; the node asks again from `next`.
 */
export const SyncDigestReply = z
  .object({
    match: z.boolean(),
    entries: z.array(EntryVector).max(1000),
    next: z.string().max(64).nullable(),
  })
  .strict();
export type SyncDigestReply = z.infer<typeof SyncDigestReply>;

/** `catalog.sync.pull` (tag 4): node sends its vectors (empty sv = unknown entry); hub answers with what it lacks. */
export const SyncPullRequest = z.object({ entries: z.array(EntryVector).min(1).max(500) }).strict();
export type SyncPullRequest = z.infer<typeof SyncPullRequest>;

/** `catalog.sync.pull.reply` (tag 5). */
export const SyncPullReply = z.object({ updates: z.array(EntryUpdate).max(500) }).strict();
export type SyncPullReply = z.infer<typeof SyncPullReply>;

/** `error` (tag 6): a request/reply failure. */
export const ErrorReply = z.object({ code: z.string().max(64), message: z.string().max(1000) }).strict();
export type ErrorReply = z.infer<typeof ErrorReply>;

/** Type tag → payload schema. The numeric tags are listed in PROTOCOL.md and never reused. */
export const MESSAGE_TYPES = {
  'keys.directory': KeyDirectory,
  'keys.rotate': KeyRotation,
  'audit.checkpoint': AuditCheckpoint,
  'package.offer': SignedPackageHeader,
  'package.resume': PackageResume,
  'package.status': PackageStatus,
  'package.grant': PackageGrant,
  'package.chunk.get': PackageChunkGet,
  'application.submit': ApplicationSubmit,
  'application.decide': ApplicationDecide,
  'application.update': ApplicationUpdate,
  'grant.issue': GrantIssue,
  'grant.revocations': GrantRevocations,
  'access.request': AccessRequest,
  'access.forward': AccessForward,
  'access.answer': AccessAnswer,
  'catalog.update': CatalogUpdate,
  'catalog.sync.digest': SyncDigestRequest,
  'catalog.sync.digest.reply': SyncDigestReply,
  'catalog.sync.pull': SyncPullRequest,
  'catalog.sync.pull.reply': SyncPullReply,
  error: ErrorReply,
} as const;
export type MessageType = keyof typeof MESSAGE_TYPES;
export type PayloadOf<T extends MessageType> = z.infer<(typeof MESSAGE_TYPES)[T]>;

/** Payload budget per `catalog.update` message, leaving room for the envelope under NATS's 1 MiB limit. */
export const MAX_UPDATE_PAYLOAD_BYTES = 512 * 1024;

/** Split updates into groups whose base64 text stays within the budget (an oversized single update travels alone). */
export function chunkUpdates(updates: EntryUpdate[], budget = MAX_UPDATE_PAYLOAD_BYTES): EntryUpdate[][] {
  const chunks: EntryUpdate[][] = [];
  let current: EntryUpdate[] = [];
  let size = 0;
  for (const u of updates) {
    const cost = u.update.length + u.entryId.length + 32;
    if (current.length > 0 && (size + cost > budget || current.length >= 5000)) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(u);
    size += cost;
  }
  if (current.length) chunks.push(current);
  return chunks;
}
