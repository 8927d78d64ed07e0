/** @module The read model of an entry: content + review folded into what APIs return (status and code derived). */
import { canonicalJson } from './canonical-json.ts';
import { countyOfEntry } from './messages.ts';
import { sodium, toHex } from './sodium.ts';

import type { EntryStatus } from './catalog-entry.ts';

export { ENTRY_STATUSES, type EntryStatus } from './catalog-entry.ts';

export interface EntryView {
  id: string;
  county: string;
  status: EntryStatus;
  /** Unified resource code assigned by the hub on approval (Jincheng §13); null before. */
  code: string | null;
  /** True when the content changed after the hub's last decision, so the decision is for an older version. */
  reviewStale: boolean;
  content: Record<string, unknown>;
  review: Record<string, unknown>;
}

/** Hex BLAKE2b-256 of the canonical JSON of the content: the hub records it with each decision. */
export function contentHash(content: Record<string, unknown>): string {
  return toHex(sodium().crypto_generichash(32, new TextEncoder().encode(canonicalJson(content)), null));
}

/** Fold an entry's two roots into its view. */
export function entryView(id: string, content: Record<string, unknown>, review: Record<string, unknown>): EntryView {
  const decided = review.status === 'approved' || review.status === 'rejected' ? review.status : 'pending';
  const status: EntryStatus = content.withdrawn === true ? 'withdrawn' : decided;
  const reviewStale = decided !== 'pending' && typeof review.contentHash === 'string' && review.contentHash !== contentHash(content);
  return {
    id,
    county: countyOfEntry(id),
    status,
    code: typeof review.code === 'string' ? review.code : null,
    reviewStale,
    content,
    review,
  };
}
