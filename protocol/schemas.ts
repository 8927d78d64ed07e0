// Registry of protocol schemas exported as JSON Schema by scripts/protocol-schema.ts (file name = key).
import type { z } from 'zod';
import { CatalogContent, CatalogEntryView, CatalogReview } from './catalog-entry.ts';

export const schemas: Record<string, z.ZodType> = {
  CatalogContent,
  CatalogReview,
  CatalogEntryView,
};
