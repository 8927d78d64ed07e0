/**
 * @module The operator-editable calendar override file: holidays and 调休 make-up working days for years
 * the `chinese-days` package does not know yet (or corrections to years it does).
 *
 * Each year's arrangement is published by the State Council General Office, usually in November or
 * December of the year before (《国务院办公厅关于 YYYY 年部分节假日安排的通知》), under the
 * 《全国年节及纪念日放假办法》 (Measures on National Holidays, as amended 2024: 13 statutory days) and the
 * two-day weekend of 《国务院关于职工工作时间的规定》 art. 7. Until `chinese-days` is upgraded, the operator
 * copies the notice into this file:
 *
 * ```json
 * { "2027": { "note": "国办发明电〔2026〕x 号", "holidays": ["2027-01-01", "2027-02-06"], "workdays": ["2027-02-14"] } }
 * ```
 *
 * Every date is filed under its own year (a notice for year Y that moves a working day into late December
 * of Y−1 is filed under Y−1). A year listed here counts as having calendar data, so it must list at least
 * one date: a year entry without dates would silence the "no data" warning and change nothing.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { FormattedIssue as FieldIssue } from '../../protocol/validation-error.ts';
import { formatZodIssues } from '../../protocol/validation-error.ts';

export type CalendarErrorCode =
  /** The override file is not valid JSON or does not match {@link CalendarOverrides}; `fields` says where. */
  | 'CALENDAR_OVERRIDES_INVALID'
  /** The override file named by the operator does not exist or cannot be read. */
  | 'CALENDAR_OVERRIDES_MISSING'
  /** A calendar method got an invalid argument (not a `YYYY-MM-DD` date, an invalid Date, a negative count). */
  | 'CALENDAR_ARGUMENT_INVALID';

/** A calendar error: a stable code, a message in zh-CN and in English, and field paths (as `AppError`). */
export class CalendarError extends Error {
  override readonly name = 'CalendarError';
  constructor(
    readonly code: CalendarErrorCode,
    readonly zh: string,
    readonly en: string,
    readonly fields: FieldIssue[] = [],
  ) {
    super(en);
  }
}

const CIVIL_DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Whether `s` is a real calendar date written `YYYY-MM-DD` (so 2027-02-29 and 2026-13-01 are not). */
export function isValidCivilDate(s: string): boolean {
  const m = CIVIL_DATE_RE.exec(s);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mo < 1 || mo > 12 || d < 1) return false;
  return d <= new Date(Date.UTC(y, mo, 0)).getUTCDate() && y >= 1;
}

/** A civil date `YYYY-MM-DD` (Asia/Shanghai), checked to exist. */
export const CivilDateSchema = z.string().refine(isValidCivilDate, {
  message: '日期须为有效的 YYYY-MM-DD / must be a valid date written YYYY-MM-DD',
});

const YearKey = z.string().regex(/^\d{4}$/, { message: '年份须为 4 位数字 / year must be 4 digits' });

export const YearOverride = z
  .object({
    /** Extra non-working days: statutory holidays and the weekdays they move (放假). */
    holidays: z.array(CivilDateSchema).max(366).optional(),
    /** Extra working days: the Saturdays/Sundays worked in exchange (调休上班). */
    workdays: z.array(CivilDateSchema).max(366).optional(),
    /** Free text for the operator, e.g. the notice's document number. */
    note: z.string().max(500).optional(),
  })
  .strict();
export type YearOverride = z.infer<typeof YearOverride>;

export const CalendarOverrides = z
  .record(YearKey, YearOverride, {
    error: (iss) =>
      iss.code === 'invalid_key' ? '键须为 4 位数字的年份 / keys must be 4-digit years' : iss.code === 'invalid_type' ? '须为以年份为键的对象 / must be an object keyed by year' : undefined,
  })
  .superRefine((years, ctx) => {
    for (const [year, o] of Object.entries(years)) {
      const holidays = new Set(o.holidays ?? []);
      if (holidays.size === 0 && (o.workdays ?? []).length === 0) {
        ctx.addIssue({
          code: 'custom',
          path: [year],
          message: `${year} 年未列出任何日期 / year ${year} lists no holidays or workdays`,
        });
      }
      for (const key of ['holidays', 'workdays'] as const) {
        (o[key] ?? []).forEach((date, i) => {
          if (isValidCivilDate(date) && date.slice(0, 4) !== year) {
            ctx.addIssue({
              code: 'custom',
              path: [year, key, i],
              message: `${date} 不属于 ${year} 年 / ${date} does not belong to year ${year}`,
            });
          }
          if (key === 'workdays' && holidays.has(date)) {
            ctx.addIssue({
              code: 'custom',
              path: [year, key, i],
              message: `${date} 不能既是节假日又是工作日 / ${date} cannot be both a holiday and a workday`,
            });
          }
        });
      }
    }
  });
export type CalendarOverrides = z.infer<typeof CalendarOverrides>;

/** Validates an override object (already parsed JSON); throws {@link CalendarError} with field paths. */
export function parseCalendarOverrides(value: unknown, source = 'calendar overrides'): CalendarOverrides {
  const parsed = CalendarOverrides.safeParse(value);
  if (parsed.success) return parsed.data;
  const fields = formatZodIssues(parsed.error);
  const where = fields.map((f) => `${f.path || '(root)'}: ${f.message}`).join('; ');
  throw new CalendarError('CALENDAR_OVERRIDES_INVALID', `节假日覆盖文件 ${source} 无效：${where}`, `invalid calendar override file ${source}: ${where}`, fields);
}

/** Reads and validates the JSON override file at `path`. A missing or unreadable file is an error. */
export function loadCalendarOverrides(path: string): CalendarOverrides {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new CalendarError('CALENDAR_OVERRIDES_MISSING', `无法读取节假日覆盖文件 ${path}（${reason}）`, `cannot read calendar override file ${path} (${reason})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new CalendarError('CALENDAR_OVERRIDES_INVALID', `节假日覆盖文件 ${path} 不是有效的 JSON：${reason}`, `calendar override file ${path} is not valid JSON: ${reason}`, [
      { path: '', code: 'invalid_json', message: reason },
    ]);
  }
  return parseCalendarOverrides(json, path);
}
