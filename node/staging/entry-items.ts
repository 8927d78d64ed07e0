/**
 * @module Which catalog entries have a front-end table, and their items: resources shared by database
 * table (前置库) or by file (Jincheng §17). API-only and verification-only resources are served from the
 * provider's own systems and hold no rows here.
 */
import { AppError } from '../../engine/errors.ts';
import type { FrontendItem } from './row-validator.ts';

/** The parts of an entry's content this module reads (an EntryView's `content`). */
export interface EntryContentLike {
  provider?: { code?: string };
  sharingMethods?: readonly string[];
  dataItems?: readonly FrontendItem[];
}

/** The data items of an entry shared by table or file; AppError otherwise. */
export function frontendItems(entryId: string, content: EntryContentLike): FrontendItem[] {
  const methods = content.sharingMethods ?? [];
  if (!methods.includes('table') && !methods.includes('file')) {
    throw new AppError('INVALID_REQUEST', `目录条目 ${entryId} 未以数据库表或文件方式共享，没有前置库表`, `entry ${entryId} is not shared by table or file, so it has no front-end table`);
  }
  return [...(content.dataItems ?? [])];
}

/** A department may import only into its own entries. */
export function assertProvider(entryId: string, content: EntryContentLike, department: string | null | undefined): void {
  if (!department || content.provider?.code !== department) {
    throw new AppError('FORBIDDEN', `目录条目 ${entryId} 不属于本部门`, `entry ${entryId} is not provided by your department`);
  }
}
