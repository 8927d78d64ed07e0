/**
 * @module Front-end repository test fixtures: a database with the front-end schema, a 10-column population
 * resource, and a streamed CSV generator with valid ID numbers and credit codes and a known share of bad
 * rows (shared by unit tests, the e2e test, the kill -9 helper and the benchmark).
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Clock } from '../../engine/clock.ts';
import { openDatabase, type Db, type Migration } from '../../engine/storage/db.ts';
import { NODE_MIGRATIONS } from '../../node/storage/migrations.ts';
import type { FrontendItem } from '../../node/staging/row-validator.ts';
import { citizenIdCheckChar, creditCodeCheckChar, CREDIT_CODE_CHARSET } from '../../protocol/ids.ts';

/** The node's own migrations (front-end tables, audit log, accounts …): tests run on the real schema. */
export const FRONTEND_TEST_MIGRATIONS: readonly Migration[] = NODE_MIGRATIONS;

export function openFrontendDb(file: string): Db {
  return openDatabase(file, FRONTEND_TEST_MIGRATIONS);
}

export const fixedClock = (iso = '2025-03-01T08:00:00.000Z'): Clock & { set(iso: string): void } => {
  let now = new Date(iso);
  return { now: () => now, set: (t: string) => (now = new Date(t)) };
};

/** 人口基础信息: ten columns of every kind the importer converts, keyed by citizen ID number. */
export const PERSON_ITEMS: FrontendItem[] = [
  { name: '公民身份号码', code: 'id_no', type: 'string', length: 18, primaryKey: true, required: true, identifier: 'citizen_id' },
  { name: '姓名', code: 'name', type: 'string', length: 50, required: true },
  { name: '性别', code: 'gender', type: 'string', length: 1 },
  { name: '出生日期', code: 'birth_date', type: 'date' },
  { name: '年龄', code: 'age', type: 'integer' },
  { name: '月收入', code: 'income', type: 'decimal', length: 12 },
  { name: '工作单位统一社会信用代码', code: 'employer', type: 'string', length: 18, identifier: 'credit_code' },
  { name: '登记时间', code: 'registered_at', type: 'datetime' },
  { name: '是否在册', code: 'active', type: 'boolean' },
  { name: '住址', code: 'address', type: 'string', length: 200 },
];

const DAY = 86_400_000;
const EPOCH_1950 = Date.UTC(1950, 0, 1);
const pad = (n: number, w: number): string => String(n).padStart(w, '0');

/** A valid citizen ID, distinct for every i < 36,500,000 (birth day × 3-digit sequence). */
export function citizenIdFor(i: number): string {
  const d = new Date(EPOCH_1950 + (i % 36_500) * DAY);
  const seq = Math.floor(i / 36_500) % 1000;
  const body = `410602${pad(d.getUTCFullYear(), 4)}${pad(d.getUTCMonth() + 1, 2)}${pad(d.getUTCDate(), 2)}${pad(seq, 3)}`;
  return body + citizenIdCheckChar(body);
}

/** A valid unified social credit code for organisation i. */
export function creditCodeFor(i: number): string {
  let id = '';
  let x = i;
  for (let k = 0; k < 9; k++) {
    id = CREDIT_CODE_CHARSET[x % 31]! + id;
    x = Math.floor(x / 31);
  }
  const body = `91410602${id}`;
  return body + creditCodeCheckChar(body);
}

/** The same ID with a wrong check character. */
export function breakCheckChar(id: string): string {
  const last = id[17]!;
  return id.slice(0, 17) + (last === '1' ? '2' : '1');
}

/** Raw CSV values of person i (strings, as a department's export would hold them). */
export function personValues(i: number): string[] {
  const birth = new Date(EPOCH_1950 + (i % 36_500) * DAY);
  return [
    citizenIdFor(i),
    `张${'伟芳娜敏静丽强磊军洋'[i % 10]}${i % 997}`,
    i % 2 === 0 ? '男' : '女',
    birth.toISOString().slice(0, 10),
    String(2025 - birth.getUTCFullYear()),
    `${(i * 37) % 100_000}.${pad(i % 100, 2)}`,
    creditCodeFor(i % 5000),
    `2024-${pad(1 + (i % 12), 2)}-${pad(1 + (i % 28), 2)} ${pad(i % 24, 2)}:${pad(i % 60, 2)}:00`,
    i % 3 === 0 ? '否' : '是',
    `河南省鹤壁市淇滨区九州路${i % 500}号${i % 30}栋`,
  ];
}

export type BadKind = 'citizen_id' | 'too_long' | 'missing_required';

/** Which rows are bad (1 in `every`), and how: one bad cell each. */
export function badKind(i: number, every: number): BadKind | null {
  if (every <= 0 || i % every !== every - 1) return null;
  return (['citizen_id', 'too_long', 'missing_required'] as const)[Math.floor(i / every) % 3]!;
}

export function personValuesWithFault(i: number, every: number): string[] {
  const v = personValues(i);
  const kind = badKind(i, every);
  if (kind === 'citizen_id') v[0] = breakCheckChar(v[0]!);
  else if (kind === 'too_long') v[1] = '长'.repeat(51);
  else if (kind === 'missing_required') v[1] = '';
  return v;
}

const csvCell = (s: string): string => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

export interface GeneratedCsv {
  rows: number;
  bad: number;
}

/**
 * Stream `rows` person rows to `file` as UTF-8 CSV (header by code, or by Chinese name), one bad row in
 * `badEvery` (0: none). Never holds more than a 1 MiB buffer.
 */
export async function writePersonCsv(file: string, rows: number, opts: { badEvery?: number; chineseHeader?: boolean; bom?: boolean } = {}): Promise<GeneratedCsv> {
  const out = createWriteStream(file);
  const every = opts.badEvery ?? 0;
  let buf = (opts.bom ? '\uFEFF' : '') + PERSON_ITEMS.map((i) => (opts.chineseHeader ? i.name : i.code)).join(',') + '\n';
  let bad = 0;
  for (let i = 0; i < rows; i++) {
    if (badKind(i, every) !== null) bad++;
    buf += personValuesWithFault(i, every).map(csvCell).join(',') + '\n';
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'finish');
  return { rows, bad };
}
