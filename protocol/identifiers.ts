/** @module Identifier schemas with no other protocol dependencies, so every message module can use them without import cycles. */
import { z } from 'zod';
import { ADMIN_CODE_RE } from './subjects.ts';

/** Catalog entry ids are `<county code>-<uuid>`: the owning county is part of the id and never changes. */
export const ENTRY_ID_RE = /^[1-9][0-9]{5}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const countyCode = z.string().regex(ADMIN_CODE_RE, '行政区划代码应为6位数字 / 6-digit administrative division code');
export const entryId = z.string().regex(ENTRY_ID_RE, 'entry id <county>-<uuid>');

/** The owning county of an entry id. */
export function countyOfEntry(id: string): string {
  return id.slice(0, 6);
}
