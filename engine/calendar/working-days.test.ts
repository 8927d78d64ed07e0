/** @module Tests of the statutory working-day calendar: holidays and 调休, deadlines, Shanghai dates, overrides. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { CalendarError, loadCalendarOverrides, parseCalendarOverrides, type CalendarOverrides } from './overrides.ts';
import { civilDateOf, endOfCivilDay, StatutoryCalendar, type CalendarWarning } from './working-days.ts';

/** An instant written in Shanghai wall-clock time. */
const sh = (wall: string): Date => new Date(`${wall}+08:00`);
const days = (from: string, to: string): string[] => {
  const out: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) {
    out.push(new Date(t).toISOString().slice(0, 10));
  }
  return out;
};

/** A calendar that records its warnings (and fails the test if it would print one unexpectedly). */
const recording = (overrides?: CalendarOverrides) => {
  const warnings: CalendarWarning[] = [];
  const cal = new StatutoryCalendar({ overrides, warn: (w) => warnings.push(w) });
  return { cal, warnings };
};

/** The package's own JSON data, read independently of its functions. */
const LIBRARY: { holidays: Record<string, string>; workdays: Record<string, string> } = createRequire(import.meta.url)('chinese-days/dist/chinese-days.json');

describe('StatutoryCalendar: chinese-days data', () => {
  it('National Day 2025: 1–8 October off, Sunday 28 September and Saturday 11 October worked', () => {
    const { cal, warnings } = recording();
    for (const d of days('2025-10-01', '2025-10-08')) assert.equal(cal.isWorkingDay(d), false, d);
    assert.equal(cal.isWorkingDay('2025-09-28'), true, 'Sunday make-up day');
    assert.equal(cal.isWorkingDay('2025-10-11'), true, 'Saturday make-up day');
    assert.equal(cal.isWorkingDay('2025-09-27'), false, 'ordinary Saturday');
    assert.equal(cal.isWorkingDay('2025-10-12'), false, 'ordinary Sunday');
    assert.equal(cal.isWorkingDay('2025-09-30'), true);
    assert.equal(cal.isWorkingDay('2025-10-09'), true);
    assert.deepEqual(warnings, []);
  });

  it('Spring Festival 2026: 15–23 February off, Saturdays 14 and 28 February worked', () => {
    const { cal } = recording();
    for (const d of days('2026-02-15', '2026-02-23')) assert.equal(cal.isWorkingDay(d), false, d);
    assert.equal(cal.isWorkingDay('2026-02-14'), true);
    assert.equal(cal.isWorkingDay('2026-02-28'), true);
    assert.equal(cal.isWorkingDay('2026-02-13'), true, 'Friday before');
    assert.equal(cal.isWorkingDay('2026-02-24'), true, 'Tuesday after');
    assert.equal(cal.isWorkingDay('2026-02-21'), false, 'Saturday inside the holiday');
    assert.equal(cal.isWorkingDay('2026-03-07'), false, 'ordinary Saturday');
  });

  it('agrees with the package JSON on every day of 2004–2026', () => {
    const { cal, warnings } = recording();
    for (const d of days('2004-01-01', '2026-12-31')) {
      const weekday = new Date(`${d}T00:00:00Z`).getUTCDay();
      const expected = d in LIBRARY.workdays || (weekday >= 1 && weekday <= 5 && !(d in LIBRARY.holidays));
      if (cal.isWorkingDay(d) !== expected) assert.fail(`${d}: expected ${expected ? 'working' : 'rest'} day`);
    }
    assert.deepEqual(warnings, []);
  });

  it('yearsCovered lists exactly the years chinese-days has, 2004–2026 for 1.5.7', () => {
    const libraryYears = [...new Set(Object.keys(LIBRARY.holidays).map((d) => Number(d.slice(0, 4))))].sort();
    assert.deepEqual(
      libraryYears,
      days('2004-01-01', '2026-01-01')
        .filter((d) => d.endsWith('-01-01'))
        .map((d) => Number(d.slice(0, 4))),
    );
    const { cal } = recording();
    assert.deepEqual(cal.yearsCovered(), libraryYears);
    assert.equal(cal.hasCalendarData(2026), true);
    assert.equal(cal.hasCalendarData(2027), false);
    assert.equal(cal.hasCalendarData(2003), false);
  });

  it('reads the package the same way whatever the process time zone', () => {
    const moduleUrl = new URL('./working-days.ts', import.meta.url).href;
    const script =
      `const { StatutoryCalendar } = await import(${JSON.stringify(moduleUrl)});` +
      `const c = new StatutoryCalendar({ warn: () => {} });` +
      `console.log(JSON.stringify(['2025-09-30','2025-10-01','2025-10-08','2025-10-09','2025-10-11','2026-02-14','2026-02-15'].map((d) => c.isWorkingDay(d))));`;
    const cwd = fileURLToPath(new URL('../..', import.meta.url));
    for (const TZ of ['America/Los_Angeles', 'Pacific/Kiritimati', 'UTC']) {
      const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd,
        env: { ...process.env, TZ },
        encoding: 'utf8',
      });
      assert.deepEqual(JSON.parse(out), [true, false, false, true, true, true, false], TZ);
    }
  });

  it('agrees with the package’s own isWorkday on every day of 2004–2026 (run in Asia/Shanghai, where it is reliable)', () => {
    const moduleUrl = new URL('./working-days.ts', import.meta.url).href;
    const script = `
      const { StatutoryCalendar } = await import(${JSON.stringify(moduleUrl)});
      const { default: chineseDays } = await import('chinese-days');
      const c = new StatutoryCalendar({ warn: (w) => { throw new Error('warned for ' + w.year); } });
      const diffs = [];
      let n = 0;
      for (let t = Date.UTC(2004, 0, 1); t <= Date.UTC(2026, 11, 31); t += 86400000) {
        const d = new Date(t).toISOString().slice(0, 10);
        const lib = chineseDays.isWorkday(new Date(+d.slice(0, 4), +d.slice(5, 7) - 1, +d.slice(8, 10), 12));
        if (lib !== c.isWorkingDay(d)) diffs.push(d);
        n++;
      }
      console.log(JSON.stringify({ n, diffs }));`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env: { ...process.env, TZ: 'Asia/Shanghai' },
      encoding: 'utf8',
    });
    assert.deepEqual(JSON.parse(out), { n: 8401, diffs: [] });
  });
});

describe('StatutoryCalendar: deadlines', () => {
  const { cal } = recording();

  it('"within 5 working days" of 30 September 2025, 10:00 runs across National Day to 14 October', () => {
    // After 30 Sep (Tue): 1–8 Oct off; 9 Oct Thu = 1st, 10 Oct Fri = 2nd, 11 Oct Sat (make-up) = 3rd,
    // 12 Oct Sun off, 13 Oct Mon = 4th, 14 Oct Tue = 5th.
    const start = sh('2025-09-30T10:00:00');
    assert.equal(cal.deadlineAfter(start, 5).toISOString(), sh('2025-10-14T23:59:59.999').toISOString());
    assert.equal(cal.deadlineAfter(start, 5).toISOString(), '2025-10-14T15:59:59.999Z');
    assert.deepEqual(cal.deadlineAfter(start, 4), sh('2025-10-13T23:59:59.999'));
    assert.deepEqual(cal.deadlineAfter(start, 3), sh('2025-10-11T23:59:59.999'), 'the make-up Saturday counts');
    assert.deepEqual(cal.deadlineAfter(start, 1), sh('2025-10-09T23:59:59.999'));
    assert.deepEqual(cal.deadlineAfter(start, 0), sh('2025-09-30T23:59:59.999'), 'n = 0: end of the same day');
  });

  it('a period starting on a holiday or weekend counts from the next working day', () => {
    assert.deepEqual(cal.deadlineAfter(sh('2025-10-03T12:00:00'), 1), sh('2025-10-09T23:59:59.999'));
    assert.deepEqual(cal.deadlineAfter(sh('2025-10-12T12:00:00'), 2), sh('2025-10-14T23:59:59.999'));
    assert.deepEqual(cal.deadlineAfter(sh('2025-10-12T12:00:00'), 0), sh('2025-10-12T23:59:59.999'));
  });

  it('crosses the year boundary: after 31 Dec 2025 the next working day is Sunday 4 Jan 2026 (make-up)', () => {
    assert.deepEqual(cal.deadlineAfter(sh('2025-12-31T17:00:00'), 1), sh('2026-01-04T23:59:59.999'));
    assert.deepEqual(cal.deadlineAfter(sh('2025-12-31T17:00:00'), 2), sh('2026-01-05T23:59:59.999'));
  });

  it('long periods skip whole years and agree with workingDaysBetween', () => {
    const start = sh('2024-03-15T09:00:00');
    const end = cal.deadlineAfter(start, 400);
    assert.equal(cal.workingDaysBetween(start, end), 400);
    assert.equal(cal.isWorkingDay(civilDateOf(end)), true);
    assert.equal(cal.workingDaysBetween(start, new Date(end.getTime() - 86_400_000)), 399);
  });

  it('deadlineAfter and workingDaysBetween agree with day-by-day counting', () => {
    for (const d of days('2024-12-20', '2026-10-31').filter((_, i) => i % 3 === 0)) {
      let count = 0;
      let day = d;
      for (const n of [1, 2, 5, 10, 15]) {
        while (count < n) {
          day = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
          if (cal.isWorkingDay(day)) count++;
        }
        const start = sh(`${d}T08:30:00`);
        assert.deepEqual(cal.deadlineAfter(start, n), endOfCivilDay(day), `${d} + ${n}`);
        assert.equal(cal.workingDaysBetween(start, sh(`${day}T01:00:00`)), n, `${d} → ${day}`);
      }
    }
  });

  it('rejects a negative or fractional count and an invalid Date', () => {
    const start = sh('2025-09-30T10:00:00');
    for (const n of [-1, 1.5, Number.NaN, Infinity]) {
      assert.throws(
        () => cal.deadlineAfter(start, n),
        (e) => e instanceof CalendarError && e.code === 'CALENDAR_ARGUMENT_INVALID',
      );
    }
    assert.throws(
      () => cal.deadlineAfter(new Date('nope'), 1),
      (e) => e instanceof CalendarError && e.code === 'CALENDAR_ARGUMENT_INVALID',
    );
  });
});

describe('StatutoryCalendar: Asia/Shanghai civil dates', () => {
  const { cal } = recording();

  it('maps instants around 16:00 UTC (Shanghai midnight) and 00:00 UTC to the Shanghai date', () => {
    assert.equal(civilDateOf(new Date('2025-09-27T15:59:59.999Z')), '2025-09-27');
    assert.equal(civilDateOf(new Date('2025-09-27T16:00:00.000Z')), '2025-09-28');
    assert.equal(civilDateOf(new Date('2025-09-28T00:00:00.000Z')), '2025-09-28', 'UTC midnight is 08:00 in Shanghai');
    assert.equal(civilDateOf(new Date('2025-12-31T16:00:00.000Z')), '2026-01-01');
    assert.equal(civilDateOf(new Date('2025-12-31T15:59:59.999Z')), '2025-12-31');
  });

  it('deadlines and counts use the Shanghai date of the instant', () => {
    // 15:59Z on 27 Sep is Saturday 23:59 in Shanghai; one minute later it is Sunday 28 Sep, a make-up working day.
    const sat = new Date('2025-09-27T15:59:00.000Z');
    const sun = new Date('2025-09-27T16:01:00.000Z');
    assert.equal(cal.deadlineAfter(sat, 1).toISOString(), '2025-09-28T15:59:59.999Z');
    assert.equal(cal.deadlineAfter(sun, 1).toISOString(), '2025-09-29T15:59:59.999Z');
    assert.equal(cal.deadlineAfter(sun, 0).toISOString(), '2025-09-28T15:59:59.999Z');
    assert.equal(cal.workingDaysBetween(sat, sun), 1);
    assert.equal(cal.workingDaysBetween(new Date('2025-09-27T16:00:00.000Z'), sun), 0, 'same Shanghai day');
  });

  it('endOfCivilDay is 23:59:59.999 +08:00', () => {
    assert.equal(endOfCivilDay('2025-10-14').toISOString(), '2025-10-14T15:59:59.999Z');
    assert.equal(civilDateOf(endOfCivilDay('2025-10-14')), '2025-10-14');
    assert.equal(civilDateOf(new Date(endOfCivilDay('2025-10-14').getTime() + 1)), '2025-10-15');
  });

  it('rejects dates that are not valid YYYY-MM-DD', () => {
    for (const bad of ['2025-02-29', '2025-13-01', '2025-9-30', '2025-09-30T00:00', '']) {
      assert.throws(
        () => cal.isWorkingDay(bad),
        (e) => e instanceof CalendarError && e.code === 'CALENDAR_ARGUMENT_INVALID',
        bad,
      );
    }
    assert.equal(cal.isWorkingDay('2024-02-29'), true, 'leap day 2024 (Thursday)');
  });
});

describe('StatutoryCalendar: workingDaysBetween', () => {
  const { cal } = recording();

  it('counts working days strictly after from, up to and including to', () => {
    assert.equal(cal.workingDaysBetween(sh('2025-11-03T09:00:00'), sh('2025-11-07T09:00:00')), 4, 'Mon → Fri');
    assert.equal(cal.workingDaysBetween(sh('2025-11-03T09:00:00'), sh('2025-11-09T09:00:00')), 4, 'Mon → Sun');
    assert.equal(cal.workingDaysBetween(sh('2025-11-03T09:00:00'), sh('2025-11-10T00:00:01')), 5, 'Mon → next Mon');
    assert.equal(cal.workingDaysBetween(sh('2025-09-30T10:00:00'), sh('2025-10-08T18:00:00')), 0, 'National Day');
    assert.equal(cal.workingDaysBetween(sh('2025-09-30T10:00:00'), sh('2025-10-14T09:00:00')), 5);
    assert.equal(cal.workingDaysBetween(sh('2025-12-31T10:00:00'), sh('2026-01-04T09:00:00')), 1, 'across the year');
  });

  it('is 0 when to is on or before from’s date', () => {
    const t = sh('2025-11-05T09:00:00');
    assert.equal(cal.workingDaysBetween(t, t), 0);
    assert.equal(cal.workingDaysBetween(t, sh('2025-11-05T23:59:59')), 0);
    assert.equal(cal.workingDaysBetween(t, sh('2025-11-03T09:00:00')), 0);
  });

  it('counts a whole year: 2026 has 365 − 104 weekend days − holidays on weekdays + make-up days', () => {
    const all = days('2026-01-01', '2026-12-31');
    const weekday = (d: string) => [1, 2, 3, 4, 5].includes(new Date(`${d}T00:00:00Z`).getUTCDay());
    const expected = all.filter(weekday).length - all.filter((d) => weekday(d) && d in LIBRARY.holidays).length + all.filter((d) => !weekday(d) && d in LIBRARY.workdays).length;
    assert.equal(cal.workingDaysBetween(sh('2025-12-31T12:00:00'), sh('2026-12-31T12:00:00')), expected);
  });
});

describe('StatutoryCalendar: years without data', () => {
  it('2031 falls back to Monday–Friday and warns exactly once', () => {
    const { cal, warnings } = recording();
    assert.equal(cal.isWorkingDay('2031-01-01'), true, 'Wednesday; New Year’s Day is unknown without data');
    assert.equal(cal.isWorkingDay('2031-01-04'), false, 'Saturday');
    assert.equal(cal.isWorkingDay('2031-01-05'), false, 'Sunday');
    assert.equal(cal.isWorkingDay('2031-10-01'), true, 'Wednesday');
    assert.deepEqual(cal.deadlineAfter(sh('2031-01-03T10:00:00'), 1), sh('2031-01-06T23:59:59.999'), 'Fri → Mon');
    assert.equal(cal.workingDaysBetween(sh('2031-01-01T10:00:00'), sh('2031-01-31T10:00:00')), 22);
    assert.equal(warnings.length, 1);
    const [w] = warnings;
    assert.equal(w?.event, 'calendar.no_data');
    assert.equal(w?.year, 2031);
    assert.match(w?.zh ?? '', /2031 年的法定节假日安排未知/);
    assert.match(w?.zh ?? '', /覆盖文件/);
    assert.match(w?.en ?? '', /statutory holidays for 2031 are unknown/);
    assert.match(w?.en ?? '', /deadlines may be wrong/);
    assert.match(w?.en ?? '', /override file/);
    assert.deepEqual(cal.yearsCovered().includes(2031), false);
  });

  it('a deadline running into a year without data warns for that year', () => {
    const { cal, warnings } = recording();
    cal.deadlineAfter(sh('2026-12-30T10:00:00'), 10);
    cal.deadlineAfter(sh('2026-12-30T10:00:00'), 10);
    assert.deepEqual(
      warnings.map((w) => w.year),
      [2027],
    );
    cal.isWorkingDay('2028-03-01');
    assert.deepEqual(
      warnings.map((w) => w.year),
      [2027, 2028],
    );
  });

  it('yearsCovered and hasCalendarData do not warn', () => {
    const { cal, warnings } = recording();
    cal.yearsCovered();
    cal.hasCalendarData(2031);
    assert.deepEqual(warnings, []);
  });

  it('warns on stderr when no warn callback is given', () => {
    const original = console.error;
    const lines: string[] = [];
    console.error = (...args: unknown[]) => void lines.push(args.join(' '));
    try {
      const cal = new StatutoryCalendar();
      cal.isWorkingDay('2033-05-02');
      cal.isWorkingDay('2033-05-03');
    } finally {
      console.error = original;
    }
    assert.equal(lines.length, 1);
    assert.match(lines[0] ?? '', /WARNING calendar\.no_data 2033/);
  });
});

describe('calendar overrides', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'jilian-calendar-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const write = (name: string, content: unknown): string => {
    const file = join(dir, name);
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
    return file;
  };
  const invalidAt = (paths: string[]) => (e: unknown) => {
    assert.ok(e instanceof CalendarError, String(e));
    assert.equal(e.code, 'CALENDAR_OVERRIDES_INVALID');
    assert.deepEqual(
      e.fields.map((f) => f.path),
      paths,
    );
    assert.ok(e.zh.length > 0 && e.en.length > 0);
    return true;
  };

  // A made-up 2027 arrangement (Spring Festival 2027 falls on Saturday 6 February): 6–14 Feb off, Saturday 20 Feb worked.
  const OVERRIDES_2027 = {
    '2027': {
      note: 'test arrangement, not the real notice',
      holidays: ['2027-01-01', ...days('2027-02-06', '2027-02-14')],
      workdays: ['2027-02-20'],
    },
  };

  it('a 2027 override file makes 2027 follow it and silences the warning', () => {
    const overrides = loadCalendarOverrides(write('2027.json', OVERRIDES_2027));
    const { cal, warnings } = recording(overrides);
    assert.equal(cal.isWorkingDay('2027-01-01'), false, 'Friday, listed holiday');
    assert.equal(cal.isWorkingDay('2027-02-08'), false, 'Monday inside the holiday');
    assert.equal(cal.isWorkingDay('2027-02-15'), true, 'Monday after');
    assert.equal(cal.isWorkingDay('2027-02-20'), true, 'make-up Saturday');
    assert.equal(cal.isWorkingDay('2027-03-06'), false, 'ordinary Saturday');
    assert.equal(cal.isWorkingDay('2027-10-01'), true, 'not listed: weekday rule (Friday)');
    assert.deepEqual(cal.deadlineAfter(sh('2027-02-05T16:00:00'), 1), sh('2027-02-15T23:59:59.999'));
    assert.deepEqual(cal.deadlineAfter(sh('2027-02-05T16:00:00'), 5), sh('2027-02-19T23:59:59.999'));
    assert.deepEqual(cal.deadlineAfter(sh('2027-02-05T16:00:00'), 6), sh('2027-02-20T23:59:59.999'));
    assert.deepEqual(warnings, []);
    assert.deepEqual(cal.yearsCovered(), [
      ...days('2004-01-01', '2026-01-01')
        .filter((d) => d.endsWith('-01-01'))
        .map((d) => Number(d.slice(0, 4))),
      2027,
    ]);
    assert.equal(cal.hasCalendarData(2027), true);
  });

  it('an override wins over the package date by date', () => {
    const { cal } = recording(parseCalendarOverrides({ '2026': { workdays: ['2026-02-23'], holidays: ['2026-03-02'] } }));
    assert.equal(cal.isWorkingDay('2026-02-23'), true);
    assert.equal(cal.isWorkingDay('2026-03-02'), false);
    assert.equal(cal.isWorkingDay('2026-02-22'), false, 'the rest of the package data stays');
    assert.equal(cal.isWorkingDay('2026-02-28'), true);
  });

  it('rejects invalid dates, foreign years, unknown fields and bad keys, with field paths', () => {
    assert.throws(
      () => loadCalendarOverrides(write('bad1.json', { '2027': { holidays: ['2027-02-30', '2027-02-06', 5], extra: 1 } })),
      invalidAt(['2027.holidays.0', '2027.holidays.2', '2027.extra']),
    );
    assert.throws(() => loadCalendarOverrides(write('bad2.json', { '27': { holidays: ['2027-01-01'] } })), invalidAt(['27']));
    assert.throws(() => loadCalendarOverrides(write('bad3.json', { '2027': { holidays: ['2027-01-01', '2026-12-31'] } })), invalidAt(['2027.holidays.1']));
    assert.throws(() => loadCalendarOverrides(write('bad4.json', { '2027': { holidays: ['2027-02-06'], workdays: ['2027-02-07', '2027-02-06'] } })), invalidAt(['2027.workdays.1']));
    assert.throws(() => loadCalendarOverrides(write('bad5.json', { '2027': { note: 'nothing yet' } })), invalidAt(['2027']));
    assert.throws(() => loadCalendarOverrides(write('bad6.json', ['2027-01-01'])), invalidAt(['']));
    assert.throws(() => loadCalendarOverrides(write('bad7.json', '{"2027": {')), invalidAt(['']));
  });

  it('a missing file is an error', () => {
    assert.throws(
      () => loadCalendarOverrides(join(dir, 'absent.json')),
      (e) => e instanceof CalendarError && e.code === 'CALENDAR_OVERRIDES_MISSING' && /absent\.json/.test(e.en),
    );
  });

  it('the constructor validates overrides passed directly', () => {
    assert.throws(() => new StatutoryCalendar({ overrides: { '2027': { holidays: ['2027-02-30'] } } }), invalidAt(['2027.holidays.0']));
  });
});
