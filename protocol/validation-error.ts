/**
 * @module zod issues as { path, code, message } rows for API error bodies, CLI output and logs, in
 * zh-CN and English. zod v4 ships both locales (`z.locales.zhCN`, `z.locales.en`); every issue is
 * rendered with both, "中文 / English", after the fact, so it works on any ZodError without a global
 * `z.config`. A message a schema set itself (a regex's explanation, a refine, a rule id) is kept as
 * written; schemas in this repo write those in both languages.
 */
import { z } from 'zod';

export interface FormattedIssue {
  /** Dotted path such as `dataItems.2.length`; empty string for the root. */
  path: string;
  code: string;
  message: string;
}

export interface BilingualIssue extends FormattedIssue {
  zh: string;
  en: string;
}

const seg = (p: PropertyKey): string => (typeof p === 'symbol' ? (p.description ?? '') : String(p));

/** One row per issue; an unknown-keys issue yields one row per key, with the key in the path. */
export function formatZodIssues(error: z.ZodError): FormattedIssue[] {
  return bilingualIssues(error).map(({ path, code, message }) => ({ path, code, message }));
}

type Issue = z.core.$ZodIssue;
type LocaleError = (issue: never) => string | { message: string } | undefined | null;

const zhCN = z.locales.zhCN().localeError as unknown as LocaleError;
const en = z.locales.en().localeError as unknown as LocaleError;

const text = (fn: LocaleError, issue: unknown): string => {
  const out = fn(issue as never);
  return typeof out === 'string' ? out : (out?.message ?? '');
};

/** A value whose zod type name is `name`: the input an `invalid_type` issue no longer carries after parsing. */
function sampleOf(name: string): unknown {
  const samples: Record<string, unknown> = {
    undefined: undefined,
    null: null,
    string: '',
    number: 0,
    nan: Number.NaN,
    boolean: false,
    bigint: 0n,
    symbol: Symbol('x'),
    function: () => undefined,
    array: [],
    object: {},
  };
  return name in samples ? samples[name] : Object.create({ constructor: { name } });
}

/** zh and en of one issue, or null when its message is not zod's default (the schema wrote its own). */
function render(issue: Issue): { zh: string; en: string } | null {
  let subject: Issue = issue;
  if (issue.code === 'invalid_type' && !('input' in issue)) {
    const m = /received (\S+)$/.exec(issue.message);
    if (!m) return null;
    subject = { ...issue, input: sampleOf(m[1]!) } as Issue;
  }
  const english = text(en, subject);
  if (english !== issue.message) return null;
  if (issue.code === 'invalid_type' && (subject as { input?: unknown }).input === undefined) {
    return { zh: '缺少必填字段', en: 'required field missing' };
  }
  return { zh: text(zhCN, subject) || '无效输入', en: english };
}

/** One row per issue (an unknown-keys issue: one per key), message "中文 / English". */
export function bilingualIssues(error: z.ZodError): BilingualIssue[] {
  return error.issues.flatMap((issue): BilingualIssue[] => {
    const base = issue.path.map(seg);
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        path: [...base, key].join('.'),
        code: issue.code,
        zh: `未知字段 "${key}"`,
        en: `unknown field "${key}"`,
        message: `未知字段 / unknown field "${key}"`,
      }));
    }
    const both = render(issue as Issue);
    const path = base.join('.');
    if (!both) return [{ path, code: issue.code, zh: issue.message, en: issue.message, message: issue.message }];
    return [{ path, code: issue.code, ...both, message: `${both.zh} / ${both.en}` }];
  });
}
