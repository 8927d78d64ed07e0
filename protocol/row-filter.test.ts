/** @module Row filters: schema limits, JS semantics, and SQL equivalence proven against SQLite (better-sqlite3, in memory). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { compareCodePoints, filterItems, filterToSql, matchesFilter, MAX_IN_VALUES, quoteItem, RowFilter, type Condition } from './row-filter.ts';

const f = (...all: Condition[]): RowFilter => ({ all });

describe('RowFilter schema', () => {
  it('accepts every operator with its value types', () => {
    const ok = RowFilter.safeParse(
      f(
        { item: 'county', op: 'eq', value: '410802' },
        { item: 'age', op: 'gte', value: 18 },
        { item: 'age', op: 'lte', value: 60 },
        { item: 'status', op: 'in', value: ['a', 1, true] },
        { item: 'name', op: 'prefix', value: '张' },
        { item: 'active', op: 'ne', value: false },
      ),
    );
    assert.equal(ok.success, true);
    assert.equal(RowFilter.safeParse({ all: [] }).success, true);
  });

  it('refuses item codes that are not DataItem codes (no SQL can hide in a column name)', () => {
    for (const item of ['Name', '1a', 'a-b', 'a"; DROP TABLE t; --', '__proto__', '', 'a'.repeat(64)]) {
      assert.equal(RowFilter.safeParse(f({ item, op: 'eq', value: 1 } as Condition)).success, false, item);
    }
    assert.throws(() => quoteItem('x" OR 1=1 --'), RangeError);
    assert.equal(quoteItem('id_no'), '"id_no"');
  });

  it('enforces limits and value types per operator', () => {
    const bad: unknown[] = [
      f(...Array.from({ length: 33 }, () => ({ item: 'a', op: 'eq', value: 1 }) as const)),
      f({ item: 'a', op: 'in', value: [] }),
      f({ item: 'a', op: 'in', value: Array.from({ length: MAX_IN_VALUES + 1 }, (_, i) => i) }),
      f({ item: 'a', op: 'prefix', value: '' }),
      { all: [{ item: 'a', op: 'prefix', value: 5 }] },
      { all: [{ item: 'a', op: 'gte', value: true }] },
      { all: [{ item: 'a', op: 'eq', value: null }] },
      { all: [{ item: 'a', op: 'eq', value: [1] }] },
      { all: [{ item: 'a', op: 'eq', value: Number.POSITIVE_INFINITY }] },
      { all: [{ item: 'a', op: 'eq', value: Number.NaN }] },
      { all: [{ item: 'a', op: 'like', value: 'x' }] },
      { all: [{ item: 'a', op: 'eq', value: 1, extra: 1 }] },
      { all: [], any: [] },
      { all: [{ item: 'a', op: 'eq', value: 'x'.repeat(1001) }] },
      { all: [{ item: 'a', op: 'eq', value: 'lone \uD800 surrogate' }] },
      { all: [{ item: 'a', op: 'eq', value: 'nul\u0000' }] },
    ];
    for (const b of bad) assert.equal(RowFilter.safeParse(b).success, false, JSON.stringify(b).slice(0, 80));
    assert.equal(RowFilter.safeParse(f({ item: 'a', op: 'in', value: Array.from({ length: MAX_IN_VALUES }, (_, i) => i) })).success, true);
    assert.throws(() => filterToSql({ all: [{ item: 'a', op: 'gte', value: true }] } as unknown as RowFilter));
  });

  it('lists the items a filter reads', () => {
    assert.deepEqual(filterItems(f({ item: 'b', op: 'gte', value: 1 }, { item: 'a', op: 'eq', value: 1 }, { item: 'b', op: 'lte', value: 9 })), ['b', 'a']);
  });
});

describe('matchesFilter semantics', () => {
  it('is a conjunction; the empty filter matches everything', () => {
    const row = { county: '410802', age: 30 };
    assert.equal(matchesFilter(row, { all: [] }), true);
    assert.equal(matchesFilter(row, f({ item: 'county', op: 'eq', value: '410802' }, { item: 'age', op: 'gte', value: 18 })), true);
    assert.equal(matchesFilter(row, f({ item: 'county', op: 'eq', value: '410802' }, { item: 'age', op: 'gte', value: 31 })), false);
  });

  it('missing, null, undefined and NaN satisfy no condition, not even ne', () => {
    for (const row of [{}, { a: null }, { a: undefined }, { a: Number.NaN }]) {
      for (const c of [
        { item: 'a', op: 'eq', value: 1 },
        { item: 'a', op: 'ne', value: 1 },
        { item: 'a', op: 'in', value: [1, 'x'] },
        { item: 'a', op: 'gte', value: 0 },
        { item: 'a', op: 'lte', value: 'z' },
        { item: 'a', op: 'prefix', value: 'x' },
      ] as Condition[]) {
        assert.equal(matchesFilter(row, f(c)), false, `${JSON.stringify(row)} ${c.op}`);
      }
    }
  });

  it('never reads inherited properties (item "constructor" on a row without it)', () => {
    assert.equal(matchesFilter({}, f({ item: 'constructor', op: 'ne', value: 'x' })), false);
    assert.equal(matchesFilter({ constructor: 'x' }, f({ item: 'constructor', op: 'eq', value: 'x' })), true);
  });

  it('classes never mix: 5 ne "5", 10 gte 9 but not "10" gte 9', () => {
    assert.equal(matchesFilter({ a: 5 }, f({ item: 'a', op: 'eq', value: '5' })), false);
    assert.equal(matchesFilter({ a: 5 }, f({ item: 'a', op: 'ne', value: '5' })), true);
    assert.equal(matchesFilter({ a: 10 }, f({ item: 'a', op: 'gte', value: 9 })), true);
    assert.equal(matchesFilter({ a: '10' }, f({ item: 'a', op: 'gte', value: 9 })), false);
    assert.equal(matchesFilter({ a: '10' }, f({ item: 'a', op: 'gte', value: '9' })), false); // text order
    assert.equal(matchesFilter({ a: 12345 }, f({ item: 'a', op: 'prefix', value: '12' })), false);
    assert.equal(matchesFilter({ a: new Uint8Array([97]) }, f({ item: 'a', op: 'ne', value: 'a' })), true);
    assert.equal(matchesFilter({ a: new Uint8Array([97]) }, f({ item: 'a', op: 'eq', value: 'a' })), false);
  });

  it('booleans are the integers 1 and 0; bigints compare exactly with numbers', () => {
    assert.equal(matchesFilter({ a: true }, f({ item: 'a', op: 'eq', value: 1 })), true);
    assert.equal(matchesFilter({ a: 0 }, f({ item: 'a', op: 'eq', value: false })), true);
    assert.equal(matchesFilter({ a: 1.0 }, f({ item: 'a', op: 'in', value: [true] })), true);
    assert.equal(matchesFilter({ a: 10n }, f({ item: 'a', op: 'eq', value: 10 })), true);
    assert.equal(matchesFilter({ a: 10n }, f({ item: 'a', op: 'gte', value: 9.5 })), true);
    assert.equal(matchesFilter({ a: 2n ** 60n }, f({ item: 'a', op: 'lte', value: 2 ** 53 })), false);
  });

  it('orders text by code point, not UTF-16 unit', () => {
    // '𠀀' is U+20000, a surrogate pair D840 DC00: UTF-16 order puts it before U+E000, code point order after.
    assert.ok('𠀀' < '\uE000');
    assert.equal(compareCodePoints('𠀀', '\uE000'), 1);
    assert.equal(compareCodePoints('a𠀀', 'a𠀀'), 0);
    assert.equal(compareCodePoints('ab', 'abc'), -1);
    assert.equal(matchesFilter({ a: '𠀀' }, f({ item: 'a', op: 'gte', value: '\uE000' })), true);
    assert.equal(matchesFilter({ a: '𠀀甲' }, f({ item: 'a', op: 'prefix', value: '𠀀' })), true);
  });
});

// ------------------------------------------------------------------------------ SQL equivalence

/** Values chosen to hit affinity conversion, collation, class ordering, UTF-8 order and injection text. */
const ROW_VALUES: unknown[] = [
  null,
  0,
  1,
  5,
  5.5,
  -3,
  10,
  9,
  1e3,
  2 ** 53,
  '5',
  '05',
  ' 5',
  '5.0',
  '1e3',
  '10',
  '9',
  'abc',
  'ABC',
  'Abc',
  'ab',
  'abcdef',
  '',
  'ab%',
  'a_c',
  'a%c',
  '𠀀',
  '𠀀甲',
  '\uE000',
  '张三',
  '张三丰',
  '410802199001011234',
  "'; DROP TABLE t; --",
  "x' OR '1'='1",
  Buffer.from('abc'),
  Buffer.from([0x35]),
];

const FILTER_SCALARS: (string | number | boolean)[] = [
  0,
  1,
  5,
  5.5,
  -3,
  9,
  10,
  1000,
  true,
  false,
  '5',
  '05',
  '1e3',
  '10',
  '9',
  'abc',
  'ABC',
  'ab',
  '',
  'a%',
  'a_',
  '%',
  '_',
  '𠀀',
  '\uE000',
  '张',
  '张三',
  "'; DROP TABLE t; --",
  "x' OR '1'='1",
  "' OR 1=1 --",
];

function conditionsFor(item: string): Condition[] {
  const out: Condition[] = [];
  for (const v of FILTER_SCALARS) {
    out.push({ item, op: 'eq', value: v }, { item, op: 'ne', value: v });
    if (typeof v !== 'boolean') out.push({ item, op: 'gte', value: v }, { item, op: 'lte', value: v });
    if (typeof v === 'string' && v !== '') out.push({ item, op: 'prefix', value: v });
  }
  out.push({ item, op: 'in', value: [5, 'abc', true, '𠀀'] }, { item, op: 'in', value: ['5', 'ABC', "' OR 1=1 --"] });
  return out;
}

function openDb(): Database.Database {
  const db = new Database(':memory:');
  // One column per affinity, one with a NOCASE collation, one untyped; a JSON document column for json_extract.
  db.exec(`CREATE TABLE t (
    id INTEGER PRIMARY KEY,
    txt TEXT COLLATE NOCASE,
    int_col INTEGER,
    num_col NUMERIC,
    real_col REAL,
    blob_col BLOB,
    any_col,
    rtrim_col TEXT COLLATE RTRIM
  )`);
  const ins = db.prepare('INSERT INTO t (txt, int_col, num_col, real_col, blob_col, any_col, rtrim_col) VALUES (?, ?, ?, ?, ?, ?, ?)');
  for (const v of ROW_VALUES) ins.run(v, v, v, v, v, v, typeof v === 'string' ? `${v}  ` : v);
  // Mixed rows: each column a different value, so conjunctions across columns are exercised too.
  ROW_VALUES.forEach((_, i) => {
    const pick = (k: number) => ROW_VALUES[(i * 7 + k * 3) % ROW_VALUES.length];
    ins.run(pick(1), pick(2), pick(3), pick(4), pick(5), pick(6), pick(7));
  });
  return db;
}

const COLUMNS = ['txt', 'int_col', 'num_col', 'real_col', 'blob_col', 'any_col', 'rtrim_col'];

describe('filterToSql ≡ matchesFilter on SQLite', () => {
  const db = openDb();
  // The rows as SQLite stores them (after affinity conversion): that is what matchesFilter must agree on.
  const rows = db.prepare('SELECT * FROM t ORDER BY id').all() as Record<string, unknown>[];

  function check(filter: RowFilter): void {
    const { sql, params } = filterToSql(filter);
    const got = (db.prepare(`SELECT id FROM t WHERE ${sql} ORDER BY id`).all(...params) as { id: number }[]).map((r) => r.id);
    const want = rows.filter((r) => matchesFilter(r, filter)).map((r) => r.id as number);
    assert.deepEqual(got, want, `${JSON.stringify(filter)}\n${sql}\n${JSON.stringify(params)}`);
  }

  it('agrees for every single condition on every column affinity and collation', () => {
    let n = 0;
    for (const col of COLUMNS) {
      for (const c of conditionsFor(col)) {
        check(f(c));
        n++;
      }
    }
    assert.ok(n > 900, String(n));
  });

  it('agrees for conjunctions across columns', () => {
    const conds = COLUMNS.flatMap((c) => conditionsFor(c));
    for (let i = 0; i < 400; i++) {
      const a = conds[(i * 7919) % conds.length]!;
      const b = conds[(i * 104729 + 13) % conds.length]!;
      const c = conds[(i * 31 + 5) % conds.length]!;
      check(f(a, b));
      check(f(a, b, c));
    }
    check({ all: [] });
  });

  it('agrees on JSON documents through json_extract (JSON true/false are 1/0 there)', () => {
    const jdb = new Database(':memory:');
    jdb.exec('CREATE TABLE d (id INTEGER PRIMARY KEY, doc TEXT NOT NULL)');
    const docs = [
      { a: 5, b: 'abc' },
      { a: '5', b: 'ABC' },
      { a: true, b: '𠀀' },
      { a: false, b: '\uE000' },
      { a: null, b: "'; DROP TABLE d; --" },
      { b: 'ab' },
      { a: 1, b: '张三' },
      { a: 0, b: '' },
      { a: 5.5, b: 'abcdef' },
      { a: 10, b: '10' },
    ];
    const ins = jdb.prepare('INSERT INTO d (doc) VALUES (?)');
    for (const d of docs) ins.run(JSON.stringify(d));
    const jrows = (jdb.prepare('SELECT id, doc FROM d ORDER BY id').all() as { id: number; doc: string }[]).map((r) => ({ id: r.id, ...JSON.parse(r.doc) }));
    const column = (code: string) => `json_extract(doc, '$.${code}')`;
    for (const item of ['a', 'b', 'missing']) {
      for (const c of conditionsFor(item)) {
        const filter = f(c);
        const { sql, params } = filterToSql(filter, column);
        const got = (jdb.prepare(`SELECT id FROM d WHERE ${sql} ORDER BY id`).all(...params) as { id: number }[]).map((r) => r.id);
        const want = jrows.filter((r) => matchesFilter(r, filter)).map((r) => r.id);
        assert.deepEqual(got, want, `${JSON.stringify(filter)} ${sql}`);
      }
    }
  });

  it('never interpolates values: injection text is a bound parameter and the table survives', () => {
    const evil = ["'; DROP TABLE t; --", "x' OR '1'='1", '" OR 1=1 --', ') OR (1=1', '?', '$1', ':a', '@a'];
    for (const v of evil) {
      for (const op of ['eq', 'ne', 'prefix', 'gte', 'lte'] as const) {
        const filter = f({ item: 'txt', op, value: v } as Condition);
        const { sql, params } = filterToSql(filter);
        if (v !== '?') assert.ok(!sql.includes(v), sql);
        assert.equal(sql.split('?').length - 1, params.length);
        assert.ok(params.includes(v));
        check(filter);
      }
      check(f({ item: 'txt', op: 'in', value: [v, v + v] }));
    }
    assert.equal(matchesFilter({ txt: 'anything' }, f({ item: 'txt', op: 'eq', value: "x' OR '1'='1" })), false);
    assert.equal((db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, rows.length);
  });

  it('produces the documented SQL shapes', () => {
    assert.deepEqual(filterToSql({ all: [] }), { sql: '1 = 1', params: [] });
    const { sql, params } = filterToSql(f({ item: 'name', op: 'prefix', value: '𠀀张' }, { item: 'age', op: 'gte', value: 18 }, { item: 'ok', op: 'eq', value: true }));
    assert.equal(sql, `((typeof("name") = 'text' AND substr(("name"), 1, ?) = ? COLLATE BINARY)) AND ((typeof("age") IN ('integer', 'real') AND +("age") >= ?)) AND ((+("ok") COLLATE BINARY) = ?)`);
    assert.deepEqual(params, [2, '𠀀张', 18, 1]); // prefix length in code points; boolean bound as 1
  });

  it('runs the largest filter the schema allows (32 × 1000 parameters)', () => {
    const big = f(...Array.from({ length: 32 }, (_, k) => ({ item: 'int_col', op: 'in', value: Array.from({ length: 1000 }, (_, i) => i * 32 + k) }) as Condition));
    const { params } = filterToSql(big);
    assert.equal(params.length, 32_000);
    check(big);
  });
});
