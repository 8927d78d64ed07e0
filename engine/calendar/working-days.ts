/**
 * @module The Chinese statutory working-day calendar (`WorkingCalendar`): Monday–Friday work, Saturday and
 * Sunday rest (《国务院关于职工工作时间的规定》 art. 7), statutory holidays off (《全国年节及纪念日放假办法》),
 * and each year's 调休 arrangement from the State Council General Office notice: the weekdays bridged into a
 * holiday are off, the Saturdays/Sundays worked in exchange are on. Regulation periods such as
 * "5 个工作日内" (Jincheng §32) are counted on this calendar.
 *
 * Data: the `chinese-days` package (its shipped JSON; it knows 2004 through its release's year, 2004–2026
 * for 1.5.7), then the operator's override file (`overrides.ts`), which wins date by date. A year neither knows is
 * counted Monday–Friday and reported once through `warn` (`calendar.no_data`), because every deadline in
 * it may then be a few days early or late.
 *
 * Civil dates: an instant's date is its date at a fixed UTC+08:00. China Standard Time has had no daylight
 * saving since 1991, so for every instant this calendar can serve (data from 2004) this equals
 * Asia/Shanghai, and it is plain arithmetic (no Intl per call). Days are handled as day numbers (days since
 * 1970-01-01 of the civil date); each year's working days and running counts are computed once and cached.
 */
import chineseDaysData from 'chinese-days/dist/chinese-days.json' with { type: 'json' };
import type { CivilDate, WorkingCalendar } from './calendar.ts';
import { CalendarError, isValidCivilDate, parseCalendarOverrides, type CalendarOverrides } from './overrides.ts';

const DAY_MS = 86_400_000;
/** China Standard Time, UTC+08:00, no DST since 1991 (see module comment). */
const SHANGHAI_OFFSET_MS = 8 * 3_600_000;
/** Civil dates are written with 4-digit years. */
const MIN_YEAR = 1000;
const MAX_YEAR = 9999;

export interface CalendarWarning {
  /** `calendar.no_data`: a date in a year without holiday data was used. */
  event: string;
  year: number;
  zh: string;
  en: string;
}

export interface StatutoryCalendarOptions {
  /** Parsed override file (`loadCalendarOverrides`); validated again here. */
  overrides?: CalendarOverrides;
  /** Called once per year (per calendar) when a year without any holiday data is used. Default: stderr. */
  warn?: (event: CalendarWarning) => void;
}

interface YearTable {
  year: number;
  /** Day number of 1 January. */
  first: number;
  /** 1 = working day, indexed by day of year (0-based). */
  working: Uint8Array;
  /** cum[i] = working days among the first i days of the year; cum[length] = the year's total. */
  cum: Uint16Array;
}

const invalid = (zh: string, en: string): CalendarError => new CalendarError('CALENDAR_ARGUMENT_INVALID', zh, en);

/** 0 = Sunday … 6 = Saturday (1970-01-01, day 0, was a Thursday). */
const weekdayOf = (day: number): number => (((day + 4) % 7) + 7) % 7;
const isWeekdayNumber = (day: number): boolean => {
  const w = weekdayOf(day);
  return w >= 1 && w <= 5;
};
const yearOfDay = (day: number): number => new Date(day * DAY_MS).getUTCFullYear();
const firstDayOfYear = (year: number): number => Date.UTC(year, 0, 1) / DAY_MS;
const civilOfDay = (day: number): CivilDate => new Date(day * DAY_MS).toISOString().slice(0, 10);

function checkYear(year: number): void {
  if (year < MIN_YEAR || year > MAX_YEAR) {
    throw invalid(`日期超出支持范围（${MIN_YEAR}–${MAX_YEAR} 年）`, `date outside the supported years ${MIN_YEAR}–${MAX_YEAR}`);
  }
}

/** Day number of the Shanghai civil date of an instant. */
function dayOfInstant(instant: Date): number {
  const t = instant instanceof Date ? instant.getTime() : NaN;
  if (Number.isNaN(t)) throw invalid('无效的时间', 'invalid Date');
  const day = Math.floor((t + SHANGHAI_OFFSET_MS) / DAY_MS);
  checkYear(yearOfDay(day));
  return day;
}

function dayOfCivil(date: CivilDate): number {
  if (typeof date !== 'string' || !isValidCivilDate(date)) {
    throw invalid(`日期须为有效的 YYYY-MM-DD：${String(date)}`, `date must be a valid YYYY-MM-DD: ${String(date)}`);
  }
  checkYear(Number(date.slice(0, 4)));
  return Date.UTC(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10))) / DAY_MS;
}

/** End (23:59:59.999 +08:00) of a day number, as an instant. */
const endOfDay = (day: number): Date => new Date((day + 1) * DAY_MS - SHANGHAI_OFFSET_MS - 1);

/** The Asia/Shanghai civil date (`YYYY-MM-DD`) of an instant. */
export function civilDateOf(instant: Date): CivilDate {
  return civilOfDay(dayOfInstant(instant));
}

/** The last millisecond (23:59:59.999 Asia/Shanghai) of a civil date. */
export function endOfCivilDay(date: CivilDate): Date {
  return endOfDay(dayOfCivil(date));
}

/**
 * `chinese-days` data, read from the JSON file the package ships (`dist/chinese-days.json`, built from the
 * same arrangement table as its functions) rather than through `getDayDetail`/`isWorkday`: those parse
 * `YYYY-MM-DD` as UTC midnight but format and look up with local-time getters, so in a process whose time
 * zone is west of UTC (TZ=America/Los_Angeles, say) every answer is shifted by a day. The JSON is plain
 * data: `holidays` (days off, including bridged weekdays) and `workdays` (调休 make-up days), keyed by date.
 */
const LIBRARY = chineseDaysData as { holidays: Record<CivilDate, string>; workdays: Record<CivilDate, string> };

/**
 * Library dates by year. A year has data when the package lists a holiday in it (every published year
 * has New Year's Day); a lone make-up workday, such as a 31 December worked for the next New Year, does not
 * make its year known.
 */
const libraryByYear = (() => {
  const byYear = new Map<number, { holidays: CivilDate[]; workdays: CivilDate[] }>();
  const entry = (date: CivilDate) => {
    const year = Number(date.slice(0, 4));
    let e = byYear.get(year);
    if (!e) byYear.set(year, (e = { holidays: [], workdays: [] }));
    return e;
  };
  for (const date of Object.keys(LIBRARY.holidays)) if (isValidCivilDate(date)) entry(date).holidays.push(date);
  for (const date of Object.keys(LIBRARY.workdays)) if (isValidCivilDate(date)) entry(date).workdays.push(date);
  return byYear;
})();
const libraryYearsCovered = [...libraryByYear]
  .filter(([, e]) => e.holidays.length > 0)
  .map(([y]) => y)
  .sort((a, b) => a - b);
const libraryHasYear = (year: number): boolean => (libraryByYear.get(year)?.holidays.length ?? 0) > 0;

const defaultWarn = (e: CalendarWarning): void => {
  console.error(`[jilian] WARNING ${e.event} ${e.year}: ${e.zh}\n[jilian] WARNING ${e.event} ${e.year}: ${e.en}`);
};

export class StatutoryCalendar implements WorkingCalendar {
  private readonly overrides = new Map<number, { holidays: Set<CivilDate>; workdays: Set<CivilDate> }>();
  private readonly warn: (event: CalendarWarning) => void;
  private readonly years = new Map<number, YearTable>();

  constructor(options: StatutoryCalendarOptions = {}) {
    const overrides = options.overrides === undefined ? {} : parseCalendarOverrides(options.overrides);
    for (const [year, o] of Object.entries(overrides)) {
      this.overrides.set(Number(year), { holidays: new Set(o.holidays ?? []), workdays: new Set(o.workdays ?? []) });
    }
    this.warn = options.warn ?? defaultWarn;
  }

  isWorkingDay(date: CivilDate): boolean {
    const day = dayOfCivil(date);
    const t = this.table(yearOfDay(day));
    return t.working[day - t.first] === 1;
  }

  deadlineAfter(start: Date, n: number): Date {
    if (!Number.isSafeInteger(n) || n < 0) {
      throw invalid(`工作日数须为非负整数：${n}`, `working-day count must be a non-negative integer: ${n}`);
    }
    const day = dayOfInstant(start);
    if (n === 0) return endOfDay(day);
    let t = this.table(yearOfDay(day));
    let after = day - t.first; // count working days at indexes > after
    let remaining = n;
    for (;;) {
      const left = t.cum[t.working.length]! - t.cum[after + 1]!;
      if (remaining <= left) break;
      remaining -= left;
      checkYear(t.year + 1);
      t = this.table(t.year + 1);
      after = -1;
    }
    let i = after;
    while (remaining > 0) {
      i++;
      if (t.working[i] === 1) remaining--;
    }
    return endOfDay(t.first + i);
  }

  workingDaysBetween(from: Date, to: Date): number {
    const a = dayOfInstant(from);
    const b = dayOfInstant(to);
    if (b <= a) return 0;
    let count = 0;
    for (let y = yearOfDay(a); y <= yearOfDay(b); y++) {
      const t = this.table(y);
      const lo = Math.max(a + 1, t.first) - t.first; // first index counted
      const hi = Math.min(b, t.first + t.working.length - 1) - t.first; // last index counted
      if (hi >= lo) count += t.cum[hi + 1]! - t.cum[lo]!;
    }
    return count;
  }

  /** Years with holiday data, ascending: those `chinese-days` knows plus those in the override file. */
  yearsCovered(): number[] {
    const years = new Set([...libraryYearsCovered, ...this.overrides.keys()]);
    return [...years].sort((x, y) => x - y);
  }

  /** Whether `year` has holiday data (library or override); without it dates fall back to Monday–Friday. */
  hasCalendarData(year: number): boolean {
    return this.overrides.has(year) || libraryHasYear(year);
  }

  /** The year's table: Monday–Friday, then the library's dates (or a warning), then the override's dates. */
  private table(year: number): YearTable {
    const cached = this.years.get(year);
    if (cached) return cached;
    const lib = libraryByYear.get(year);
    const o = this.overrides.get(year);
    if (!libraryHasYear(year) && !o) {
      this.warn({
        event: 'calendar.no_data',
        year,
        zh:
          `${year} 年的法定节假日安排未知（chinese-days 与节假日覆盖文件均无该年数据），暂按周一至周五为工作日计算，` +
          `相关截止日期可能有误。请按国务院办公厅节假日安排通知，将 ${year} 年加入节假日覆盖文件。`,
        en:
          `The statutory holidays for ${year} are unknown (neither chinese-days nor the calendar override file has ` +
          `that year); counting Monday–Friday as working days, so deadlines may be wrong. Add ${year} to the ` +
          `calendar override file from the State Council holiday notice.`,
      });
    }
    const first = firstDayOfYear(year);
    const working = new Uint8Array(firstDayOfYear(year + 1) - first);
    for (let i = 0; i < working.length; i++) working[i] = isWeekdayNumber(first + i) ? 1 : 0;
    // As `chinese-days` itself: a date it lists as a make-up workday is worked even if also listed as a holiday.
    const mark = (dates: Iterable<CivilDate>, value: 0 | 1) => {
      for (const date of dates) working[dayOfCivil(date) - first] = value;
    };
    if (lib) {
      mark(lib.holidays, 0);
      mark(lib.workdays, 1);
    }
    if (o) {
      mark(o.holidays, 0);
      mark(o.workdays, 1);
    }
    const cum = new Uint16Array(working.length + 1);
    for (let i = 0; i < working.length; i++) cum[i + 1] = cum[i]! + working[i]!;
    const t: YearTable = { year, first, working, cum };
    this.years.set(year, t);
    return t;
  }
}
