/**
 * @module The working-day calendar contract used by deadline logic (sharing workflow, corrections).
 * Dates are civil dates in Asia/Shanghai; an instant is mapped to its Shanghai date first.
 * Implementation: `working-days.ts` (Chinese statutory calendar via `chinese-days`, plus an
 * operator-editable override file).
 */

/** A civil date in Asia/Shanghai, `YYYY-MM-DD`. */
export type CivilDate = string;

export interface WorkingCalendar {
  /** Whether `date` (civil date, Asia/Shanghai) is a working day: holidays off, 调休 make-up Saturdays/Sundays on. */
  isWorkingDay(date: CivilDate): boolean;
  /**
   * The deadline for "within `n` working days" of `start`: the end (23:59:59.999 Asia/Shanghai) of the
   * n-th working day after the civil date of `start` (the period starts the next day, as Chinese
   * administrative periods do). n = 0: end of the start's own day.
   */
  deadlineAfter(start: Date, n: number): Date;
  /** Working days strictly after the civil date of `from`, up to and including the civil date of `to` (0 if to ≤ from). */
  workingDaysBetween(from: Date, to: Date): number;
}
