// Flattens zod issues into { path, code, message } rows for API error bodies and logs.
import type { z } from 'zod';

export interface FormattedIssue {
  /** Dotted path such as `dataItems.2.length`; empty string for the root. */
  path: string;
  code: string;
  message: string;
}

const seg = (p: PropertyKey): string => (typeof p === 'symbol' ? (p.description ?? '') : String(p));

/** One row per issue; an unknown-keys issue yields one row per key, with the key in the path. */
export function formatZodIssues(error: z.ZodError): FormattedIssue[] {
  return error.issues.flatMap((issue): FormattedIssue[] => {
    const base = issue.path.map(seg);
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        path: [...base, key].join('.'),
        code: issue.code,
        message: `未知字段 / unknown field "${key}"`,
      }));
    }
    return [{ path: base.join('.'), code: issue.code, message: issue.message }];
  });
}
