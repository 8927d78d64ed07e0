/** @module Validation of untrusted input (request bodies and queries, stored JSON, options) against a zod schema. */
import type { z } from 'zod';
import { invalidInput, type ErrorCode } from './errors.ts';

/** Validate a value; failure becomes AppError `code` with zod's field paths and bilingual messages. */
export function validate<T extends z.ZodType>(schema: T, value: unknown, code: ErrorCode = 'INVALID_REQUEST'): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw invalidInput(parsed.error, code);
  return parsed.data;
}
