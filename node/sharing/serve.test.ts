/** @module Provider-side execution of access requests: projection, refusals, row filters, desensitization, tombstones, limits, injection, verify. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Db } from '../../engine/storage/db.ts';
import { AppError } from '../../engine/errors.ts';
import { Grant, type GrantInput } from '../../protocol/grant.ts';
import { QueryResult, VerifyResult } from '../../protocol/sharing-messages.ts';
import { loadSodium } from '../../protocol/sodium.ts';
import { citizenIdFor, creditCodeFor, fixedClock, openFrontendDb, PERSON_ITEMS, personValues } from '../../test/helpers/frontend.ts';
import { FrontendImporter } from '../staging/importer.ts';
import { compileValidator, type FrontendItem } from '../staging/row-validator.ts';
import { parseIdentifier } from '../../protocol/ids.ts';
import type { SourceRow } from '../staging/readers/source.ts';
import { getTable, type FrontendTable } from '../staging/table-schema.ts';
import { executeQuery, executeVerify } from './serve.ts';

const ENTRY = '410602-01950000-0000-7000-8000-000000000001';
const OTHER_ENTRY = '410602-01950000-0000-7000-8000-000000000002';
const INJECTION = `x'); DROP TABLE frontend_tables; --`;
const QUOTE_OR = `' OR '1'='1`;

let dir: string;
let n = 0;
let db: Db;
let table: FrontendTable;

async function* rowsOf(records: (unknown[] | SourceRow)[]): AsyncGenerator<SourceRow> {
  let i = 1;
  for (const r of records) yield Array.isArray(r) ? { rowNumber: ++i, record: r } : r;
}

async function load(d: Db, entryId: string, items: readonly FrontendItem[], records: (unknown[] | SourceRow)[]): Promise<void> {
  const s = await new FrontendImporter(d, fixedClock()).run({ entryId, items, source: rowsOf(records), importId: `imp-${n++}` });
  assert.equal(s.rejected, 0, 'fixture rows are valid');
}

function grant(over: Partial<GrantInput> = {}): Grant {
  return Grant.parse({
    grantId: '01950000-0000-7000-8000-0000000000a1',
    applicationId: 'app-2025-000001',
    consumer: { nodeId: 'county-410811', county: '410811', department: 'jc-mzj' },
    provider: { county: '410602', department: 'hb-gaj' },
    resource: ENTRY,
    resourceCode: null,
    items: ['id_no', 'name', 'gender', 'birth_date', 'age', 'income', 'employer', 'active'],
    // Only men: persons with an even index.
    rowFilter: { all: [{ item: 'gender', op: 'eq', value: '男' }] },
    methods: ['query', 'verify'],
    purpose: '最低生活保障资格审核',
    scenario: '民政部门审核低保申请人户籍与身份信息',
    desensitization: { id_no: 'citizen_id', name: 'name', gender: 'none', birth_date: 'none', age: 'none', income: 'none', employer: 'none', active: 'none' },
    validFrom: '2025-01-01T00:00:00Z',
    validUntil: '2026-01-01T00:00:00Z',
    verifyRatePerMinute: 60,
    issuedAt: '2024-12-31T00:00:00Z',
    issuer: 'hub-410600',
    policy: 'jincheng',
    ...over,
  });
}

function throwsCode(fn: () => unknown, code: string, mentions: string[] = []): AppError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof AppError, `expected AppError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.ok(caught.zh.length > 0 && caught.en.length > 0);
  for (const m of mentions) {
    assert.ok(caught.zh.includes(m) && caught.en.includes(m), `error names ${m}: ${caught.en}`);
  }
  return caught;
}

const query = (ask: Record<string, unknown> = {}, g: Grant = grant()) => {
  const r = executeQuery(db, table, g, { method: 'query', ...ask });
  QueryResult.parse(r);
  return r;
};
const verify = (subject: { item: string; value: string }, claims: Record<string, string | number | boolean | null>, g: Grant = grant()) => {
  const r = executeVerify(db, table, g, { method: 'verify', subject, claims });
  VerifyResult.parse(r);
  return r;
};
const byId = (i: number) => ({ item: 'id_no', value: citizenIdFor(i) });

/** Persons 0..29; 30 with an SQL injection as name; 31 without age; 5000 shares person 0's employer. Person 2 deleted. */
const PEOPLE = 30;
const injected = (() => {
  const v = personValues(30);
  v[1] = INJECTION;
  return v;
})();
const noAge = (() => {
  const v = personValues(32);
  v[4] = '';
  return v;
})();

before(async () => {
  await loadSodium();
  dir = mkdtempSync(join(tmpdir(), 'jilian-serve-'));
  db = openFrontendDb(join(dir, 'serve.db'));
  await load(db, ENTRY, PERSON_ITEMS, [...Array.from({ length: PEOPLE }, (_, i) => personValues(i)), injected, noAge, personValues(5000)]);
  await load(db, ENTRY, PERSON_ITEMS, [{ rowNumber: 0, record: [citizenIdFor(2)], delete: true }]);
  table = getTable(db, ENTRY)!;
});
after(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Even persons of 0..29 except the deleted 2, plus 30, 32 and 5000. */
const LIVE_MEN = [...Array.from({ length: PEOPLE }, (_, i) => i).filter((i) => i % 2 === 0 && i !== 2), 30, 32, 5000];

describe('executeQuery', () => {
  it('projects to the requested granted items only, in the requested order', () => {
    const r = query({ items: ['age', 'name'] });
    assert.deepEqual(r.items, ['age', 'name']);
    for (const row of r.rows) assert.deepEqual(Object.keys(row), ['age', 'name']);
    const all = query();
    assert.deepEqual(all.items, grant().items);
    for (const row of all.rows) assert.deepEqual(Object.keys(row).sort(), [...grant().items].sort());
    const json = JSON.stringify(all);
    assert.ok(!json.includes('九州路'), 'the ungranted address never leaves');
    assert.ok(!json.includes('registered_at'));
  });

  it('refuses ungranted items in items and in where, naming them', () => {
    throwsCode(() => query({ items: ['name', 'address'] }), 'GRANT_ITEM_NOT_ALLOWED', ['address']);
    throwsCode(() => query({ items: ['registered_at', 'address'] }), 'GRANT_ITEM_NOT_ALLOWED', ['registered_at', 'address']);
    throwsCode(() => query({ items: ['name'], where: { all: [{ item: 'address', op: 'prefix', value: '河南' }] } }), 'GRANT_ITEM_NOT_ALLOWED', ['address']);
    // An item unknown to the table as well as to the grant is "not granted", not "not in table": no schema probing.
    throwsCode(() => query({ items: ['no_such_item'] }), 'GRANT_ITEM_NOT_ALLOWED', ['no_such_item']);
  });

  it('refuses prefix and range conditions on desensitized items, allows eq on them', () => {
    throwsCode(() => query({ where: { all: [{ item: 'id_no', op: 'prefix', value: '4106021950' }] } }), 'FILTER_ITEM_MASKED', ['id_no']);
    throwsCode(() => query({ where: { all: [{ item: 'name', op: 'gte', value: '张' }] } }), 'FILTER_ITEM_MASKED', ['name']);
    const r = query({ where: { all: [{ item: 'id_no', op: 'eq', value: citizenIdFor(4) }] } });
    assert.equal(r.rows.length, 1);
    // Ranges on items without a mask are fine.
    assert.ok(query({ where: { all: [{ item: 'age', op: 'gte', value: 70 }] } }).rows.length > 0);
  });

  it('respects the grant row filter, ANDed with the consumer where', () => {
    const r = query({ items: ['gender'], limit: 1000 });
    assert.equal(r.rows.length, LIVE_MEN.length);
    assert.ok(r.rows.every((row) => row.gender === '男'));
    assert.equal(query({ where: { all: [{ item: 'gender', op: 'eq', value: '女' }] } }).rows.length, 0);
    assert.equal(query({ where: { all: [{ item: 'id_no', op: 'eq', value: citizenIdFor(1) }] } }).rows.length, 0, 'a woman is outside the grant');
    const open = grant({ rowFilter: null });
    assert.equal(query({ limit: 1000 }, open).rows.length, PEOPLE - 1 + 3);
  });

  it('applies the desensitization profiles; converts stored values to JSON', () => {
    const r = query({ where: { all: [{ item: 'id_no', op: 'eq', value: citizenIdFor(4) }] } });
    const row = r.rows[0]!;
    const id = citizenIdFor(4);
    assert.equal(row.id_no, `${id.slice(0, 6)}********${id.slice(-4)}`);
    assert.equal(row.name, '张**');
    assert.equal(row.birth_date, '1950-01-05');
    assert.equal(row.age, 75);
    assert.equal(row.income, '148.04');
    assert.equal(row.active, true);
    assert.equal(row.employer, creditCodeFor(4));
    const json = JSON.stringify(query({ limit: 1000 }));
    for (const i of LIVE_MEN) assert.ok(!json.includes(citizenIdFor(i)), 'no full citizen ID leaves');
    assert.ok(!json.includes(INJECTION));
    // An item without a profile (an unparsed grant) is hidden, never passed through.
    const g = grant();
    const loose = { ...g, desensitization: { ...g.desensitization } } as Grant;
    delete (loose.desensitization as Record<string, string>).income;
    assert.ok(query({ items: ['income'] }, loose).rows.every((x) => x.income === null));
  });

  it('never shows tombstoned rows', () => {
    assert.equal(query({ where: { all: [{ item: 'id_no', op: 'eq', value: citizenIdFor(2) }] } }).rows.length, 0);
    // Persons 0..29 and 30 are 75; 2 is deleted (32 has no age, 5000 is 62).
    assert.equal(query({ where: { all: [{ item: 'age', op: 'eq', value: 75 }] }, limit: 1000 }, grant({ rowFilter: null })).rows.length, PEOPLE);
    assert.equal(verify(byId(2), { age: null }, grant({ rowFilter: null })).found, false);
    // A tombstone keeps only its key, so look it up by key with no row filter at all.
    assert.equal(query({ where: { all: [{ item: 'id_no', op: 'eq', value: citizenIdFor(2) }] } }, grant({ rowFilter: null })).rows.length, 0);
    assert.equal(query({ where: { all: [{ item: 'id_no', op: 'eq', value: citizenIdFor(4) }] } }, grant({ rowFilter: null })).rows.length, 1);
  });

  it('limits deterministically and reports truncation', () => {
    const all = query({ items: ['employer'], limit: LIVE_MEN.length });
    assert.equal(all.truncated, false);
    assert.equal(all.rows.length, LIVE_MEN.length);
    const part = query({ items: ['employer'], limit: LIVE_MEN.length - 1 });
    assert.equal(part.truncated, true);
    assert.deepEqual(part.rows, all.rows.slice(0, -1), 'rowid order');
    assert.deepEqual(query({ items: ['employer'], limit: 3 }), query({ items: ['employer'], limit: 3 }));
    assert.equal(query({ limit: 3 }).rows.length, 3);
  });

  it('treats SQL in values as data', () => {
    for (const value of [QUOTE_OR, `1; DROP TABLE ${table.tableName}; --`, `" OR ""="`, '%', '_']) {
      assert.equal(query({ where: { all: [{ item: 'gender', op: 'eq', value }] } }).rows.length, 0, value);
      assert.equal(query({ where: { all: [{ item: 'gender', op: 'in', value: [value, `${value}'`] }] } }).rows.length, 0, value);
    }
    const hit = query({ items: ['age'], where: { all: [{ item: 'name', op: 'eq', value: INJECTION }] } });
    assert.equal(hit.rows.length, 1);
    assert.equal(verify(byId(30), { name: INJECTION }).results.name, 'match');
    throwsCode(() => verify({ item: 'id_no', value: QUOTE_OR }, { name: QUOTE_OR }), 'VERIFY_SUBJECT_INVALID', ['id_no']);
    assert.equal((db.prepare('SELECT COUNT(*) AS c FROM frontend_tables').get() as { c: number }).c, 1);
    assert.equal(query({ limit: 1000 }).rows.length, LIVE_MEN.length);
  });

  it('looks rows up by key (indexed) with exactly the filter semantics', () => {
    const ids = [citizenIdFor(4), citizenIdFor(1), citizenIdFor(2), citizenIdFor(999), citizenIdFor(6)];
    const r = query({ items: ['age'], where: { all: [{ item: 'id_no', op: 'in', value: ids }] } });
    assert.equal(r.rows.length, 2, 'persons 4 and 6; 1 is outside the grant, 2 deleted, 999 absent');
    assert.equal(query({ where: { all: [{ item: 'id_no', op: 'eq', value: 5 }] } }).rows.length, 0);
    const keyed = grant({ rowFilter: { all: [{ item: 'id_no', op: 'in', value: [citizenIdFor(4), citizenIdFor(1)] }] } });
    assert.equal(query({}, keyed).rows.length, 2);
    assert.equal(query({ where: { all: [{ item: 'id_no', op: 'eq', value: citizenIdFor(6) }] } }, keyed).rows.length, 0, 'the grant filter still applies');
  });

  it('refuses filters too large to bind instead of failing in SQLite', () => {
    const big = (tag: string) => ({ all: Array.from({ length: 32 }, (_, k) => ({ item: 'gender', op: 'in' as const, value: ['男', ...Array.from({ length: 999 }, (_, j) => `${tag}${k}-${j}`)] })) });
    const g = grant({ rowFilter: big('g') });
    assert.equal(query({ items: ['gender'], limit: 1000 }, g).rows.length, LIVE_MEN.length);
    throwsCode(() => query({ items: ['gender'], where: big('w') }, g), 'INVALID_REQUEST');
  });

  it('refuses grant items that are no longer in the table, and grants of another resource or without the method', () => {
    const g = grant({ items: ['name', 'nickname'], desensitization: { name: 'name', nickname: 'none' } });
    throwsCode(() => query({}, g), 'ITEM_NOT_IN_TABLE', ['nickname']);
    assert.equal(query({ items: ['name'] }, g).rows.length, LIVE_MEN.length);
    throwsCode(() => query({ items: ['name'] }, grant({ rowFilter: { all: [{ item: 'district', op: 'eq', value: 'x' }] } })), 'ITEM_NOT_IN_TABLE', ['district']);
    throwsCode(() => query({}, grant({ resource: OTHER_ENTRY })), 'GRANT_WRONG_RESOURCE');
    throwsCode(() => query({}, grant({ methods: ['verify'] })), 'GRANT_METHOD_NOT_ALLOWED');
    throwsCode(() => executeQuery(db, table, grant(), { method: 'query', limit: 0 }), 'INVALID_REQUEST');
  });
});

describe('executeVerify', () => {
  it('matches true values, although the query output is masked', () => {
    const id = citizenIdFor(4);
    const r = verify(byId(4), { id_no: id, name: personValues(4)[1]!, gender: '男' });
    assert.deepEqual(r, { found: true, results: { id_no: 'match', name: 'match', gender: 'match' } });
    const masked = query({ where: { all: [{ item: 'id_no', op: 'eq', value: id }] } }).rows[0]!;
    assert.deepEqual(verify(byId(4), { id_no: masked.id_no as string, name: masked.name as string }).results, { id_no: 'no_match', name: 'no_match' });
  });

  it('never returns a stored value', () => {
    const v = personValues(10);
    const claims = { id_no: 'x', name: 'y', birth_date: '2000-01-01', age: 1, income: '1', employer: 'z', active: false, gender: '女' };
    const json = JSON.stringify(verify(byId(10), claims));
    assert.match(json, /^\{"found":true,"results":\{[^{}]*\}\}$/);
    for (const stored of [v[0], v[1], v[3], v[5], '370.1', v[6], v[7], v[9], '男']) assert.ok(!json.includes(stored!), `leaks ${stored}`);
    for (const word of Object.values(JSON.parse(json).results as Record<string, string>)) assert.ok(['match', 'no_match'].includes(word));
  });

  it('refuses ungranted claims and invalid subjects', () => {
    throwsCode(() => verify(byId(4), { address: '河南省' }), 'GRANT_ITEM_NOT_ALLOWED', ['address']);
    throwsCode(() => verify(byId(4), { name: 'x', registered_at: '2024-01-01' }), 'GRANT_ITEM_NOT_ALLOWED', ['registered_at']);
    throwsCode(() => verify({ item: 'address', value: '河南' }, { name: 'x' }), 'VERIFY_SUBJECT_INVALID', ['address']);
    throwsCode(() => verify({ item: 'name', value: '张伟0' }, { age: 75 }), 'VERIFY_SUBJECT_INVALID', ['name']);
    throwsCode(() => verify({ item: 'id_no', value: citizenIdFor(4) }, { age: 75 }, grant({ items: ['age'], desensitization: { age: 'none' } })), 'VERIFY_SUBJECT_INVALID', ['id_no']);
    throwsCode(() => verify(byId(4), { age: 75 }, grant({ methods: ['query'] })), 'GRANT_METHOD_NOT_ALLOWED');
    throwsCode(() => verify(byId(4), { age: 75 }, grant({ resource: OTHER_ENTRY })), 'GRANT_WRONG_RESOURCE');
  });

  it('a row outside the grant, a tombstone and a missing row look alike', () => {
    const claims = { name: personValues(1)[1]!, age: 75 };
    const none = { found: false, results: { name: 'no_match', age: 'no_match' } };
    assert.deepEqual(verify(byId(1), claims), none, 'a woman: outside the row filter');
    assert.deepEqual(verify(byId(2), { name: personValues(2)[1]!, age: 75 }), none, 'deleted');
    assert.deepEqual(verify(byId(999), claims), none, 'never imported');
    // Without the row filter the woman is found.
    assert.equal(verify(byId(1), claims, grant({ rowFilter: null })).found, true);
  });

  it('validates an identifier subject with the import check, and normalises case and white space (issue 10)', () => {
    const open = grant({ rowFilter: null });
    const x = citizenIdFor(3);
    assert.ok(x.endsWith('X'));
    const name = personValues(3)[1]!;
    const found = { found: true, results: { name: 'match' } };
    assert.deepEqual(verify({ item: 'id_no', value: x }, { name }, open), found);
    assert.deepEqual(verify({ item: 'id_no', value: `${x.slice(0, 17)}x` }, { name }, open), found, 'lower-case x is the same number');
    assert.deepEqual(verify({ item: 'id_no', value: ` ${x}\u3000` }, { name }, open), found, 'surrounding white space is dropped');
    // Invalid numbers are refused, not answered "not found": wrong check character, impossible date, bad shape.
    const body = citizenIdFor(4).slice(0, 17);
    const wrong = body + (citizenIdFor(4)[17] === '0' ? '1' : '0');
    for (const value of [wrong, '410602195002300001', 'not an id', '41060219500104000', `${x}0`]) {
      const e = throwsCode(() => verify({ item: 'id_no', value }, { name }, open), 'VERIFY_SUBJECT_INVALID', ['id_no']);
      assert.equal(e.fields[0]?.path, 'subject.value', value);
      assert.equal(e.fields[0]?.code, 'invalid_identifier');
      assert.match(e.zh, /公民身份号码/);
      assert.match(e.en, /citizen ID/);
      assert.ok(!e.zh.includes(value) && !e.en.includes(value), 'the value is not echoed');
    }
    // Credit-code subjects (a non-key identifier) likewise; a lower-case credit-code claim matches.
    const employer = personValues(0)[6]!;
    assert.match(employer, /[A-Z]/);
    assert.equal(verify({ item: 'employer', value: employer.toLowerCase() }, { age: personValues(0)[4]! }).found, true);
    throwsCode(() => verify({ item: 'employer', value: `${employer.slice(0, 17)}${employer[17] === '0' ? '1' : '0'}` }, { age: 1 }), 'VERIFY_SUBJECT_INVALID', ['employer']);
    assert.equal(verify(byId(0), { employer: ` ${employer.toLowerCase()} ` }).results.employer, 'match');
    assert.equal(verify({ item: 'id_no', value: x }, { id_no: x.toLowerCase() }, open).results.id_no, 'match');
  });

  it('the subject check is the import check: a normalised subject is valid exactly when the importer would store it', () => {
    const v = compileValidator(PERSON_ITEMS);
    const idIndex = PERSON_ITEMS.findIndex((i) => i.code === 'id_no');
    const ccIndex = PERSON_ITEMS.findIndex((i) => i.code === 'employer');
    const x = citizenIdFor(3);
    const cc = personValues(0)[6]!;
    const values = [x, citizenIdFor(4), `${x.slice(0, 17)}0`, '410602195002300001', '010602195001040001', 'abc', cc, `${cc.slice(0, 17)}I`, citizenIdFor(4).slice(0, 17)];
    for (const value of values) {
      for (const [index, kind] of [
        [idIndex, 'citizen_id'],
        [ccIndex, 'credit_code'],
      ] as const) {
        const imported = 'value' in v.convertCell(index, value);
        const p = parseIdentifier(kind, value);
        assert.equal(p.ok, imported, `${kind} ${value}`);
        if (p.ok) assert.equal(p.value, value);
      }
    }
  });

  it('normalizes claims with the import converters', () => {
    // Person 10: income '370.10' stored '370.1'; active 是 → 1; born 1950-01-11; age 75.
    const r = verify(byId(10), { income: '0370.10', age: '75', birth_date: '1950/1/11', active: '是' });
    assert.deepEqual(r.results, { income: 'match', age: 'match', birth_date: 'match', active: 'match' });
    for (const yes of [true, 1, 'true', 'TRUE', ' yes ', '1']) assert.equal(verify(byId(10), { active: yes }).results.active, 'match', String(yes));
    for (const no of [false, 0, '否', 'maybe', null]) assert.equal(verify(byId(10), { active: no }).results.active, 'no_match', String(no));
    assert.equal(verify(byId(10), { income: 370.1 }).results.income, 'match');
    assert.equal(verify(byId(10), { income: '3.701e2' }).results.income, 'match');
    assert.equal(verify(byId(10), { income: '370.11' }).results.income, 'no_match');
    assert.equal(verify(byId(10), { birth_date: '19500111' }).results.birth_date, 'match');
    assert.equal(verify(byId(10), { birth_date: '1950-01-12' }).results.birth_date, 'no_match');
    assert.equal(verify(byId(10), { birth_date: 'yesterday' }).results.birth_date, 'no_match');
    assert.equal(verify(byId(10), { age: 75.0 }).results.age, 'match');
    assert.equal(verify(byId(10), { age: 'seventy' }).results.age, 'no_match');
    // NULL: a null (or, as an import stores it, empty) claim matches a missing value and nothing else.
    assert.deepEqual(verify(byId(32), { age: null, name: null }).results, { age: 'match', name: 'no_match' });
    assert.equal(verify(byId(32), { age: '' }).results.age, 'match');
    assert.equal(verify(byId(10), { age: null }).results.age, 'no_match');
  });

  it('uses identifier items as subjects and answers for the best-matching record', () => {
    const employer = { item: 'employer', value: creditCodeFor(0) };
    // Persons 0 (张伟0, 75) and 5000 (张伟15, 62) work for the same employer.
    assert.equal(personValues(5000)[1], '张伟15');
    assert.equal(personValues(5000)[4], '62');
    assert.deepEqual(verify(employer, { name: '张伟15', age: 62 }).results, { name: 'match', age: 'match' });
    assert.deepEqual(verify(employer, { name: '张伟0', age: 75 }).results, { name: 'match', age: 'match' });
    assert.deepEqual(verify(employer, { name: '张伟0', age: 62 }).results, { name: 'match', age: 'no_match' }, 'tie: the first record');
    assert.deepEqual(verify(employer, { name: 'nobody', age: 62 }).results, { name: 'no_match', age: 'match' });
    assert.equal(verify({ item: 'employer', value: creditCodeFor(1) }, { gender: '男' }).found, false, 'employer of a woman only');
  });
});

describe('stored types', () => {
  const ITEMS: FrontendItem[] = [
    { name: '序号', code: 'seq', type: 'integer', primaryKey: true },
    { name: '标志', code: 'flag', type: 'boolean' },
    { name: '照片', code: 'photo', type: 'binary' },
    { name: '金额', code: 'amount', type: 'decimal' },
    { name: '大数', code: 'big', type: 'integer' },
    { name: '时间', code: 'at', type: 'datetime' },
  ];
  const TYPED = '410602-01950000-0000-7000-8000-000000000003';
  let t: FrontendTable;
  const g = () =>
    grant({
      resource: TYPED,
      items: ITEMS.map((i) => i.code),
      rowFilter: null,
      desensitization: Object.fromEntries(ITEMS.map((i) => [i.code, 'none'])),
    });

  before(async () => {
    await load(db, TYPED, ITEMS, [
      ['1', '是', 'aGVsbG8=', '007.50', '9007199254740993', '2024-03-01 08:00'],
      ['2', '否', '', '-0.0', '-5', '2024-03-01T00:00:00Z'],
    ]);
    t = getTable(db, TYPED)!;
  });

  it('converts to JSON like packages: booleans, base64, exact big integers', () => {
    const r = executeQuery(db, t, g(), { method: 'query' });
    assert.deepEqual(r.rows, [
      { seq: 1, flag: true, photo: 'aGVsbG8=', amount: '7.5', big: '9007199254740993', at: '2024-03-01T08:00:00+08:00' },
      { seq: 2, flag: false, photo: null, amount: '0', big: -5, at: '2024-03-01T08:00:00+08:00' },
    ]);
  });

  it('verifies on an integer key with converted claims', () => {
    const v = (value: string, claims: Record<string, string | number | boolean | null>) => executeVerify(db, t, g(), { method: 'verify', subject: { item: 'seq', value }, claims });
    assert.deepEqual(v('1', { flag: true, photo: 'aGVsbG8=', amount: '7.50', big: '9007199254740993', at: '2024-03-01T00:00:00.000Z' }).results, {
      flag: 'match',
      photo: 'match',
      amount: 'match',
      big: 'match',
      at: 'match',
    });
    assert.deepEqual(v(' 01 ', { big: '9007199254740992', photo: 'aGVsbG8h' }).results, { big: 'no_match', photo: 'no_match' });
    assert.deepEqual(v('2', { photo: null, amount: 0, flag: 'no' }).results, { photo: 'match', amount: 'match', flag: 'match' });
    assert.equal(v('3', { flag: true }).found, false);
    // The key lookup is indexed but keeps the filter's class rules: the text '1' is not the integer 1.
    const keyRows = (value: unknown) => executeQuery(db, t, g(), { method: 'query', items: ['seq'], where: { all: [{ item: 'seq', op: 'in', value }] } as never }).rows;
    assert.deepEqual(keyRows(['1']), []);
    assert.deepEqual(keyRows([1, 2]), [{ seq: 1 }, { seq: 2 }]);
    assert.deepEqual(keyRows([true]), [{ seq: 1 }], 'booleans are the integers 1 / 0, as in matchesFilter');
  });
});

describe('statement cache', () => {
  it('prepares each query shape once, however often it is asked (no per-call prepare on the hot path)', async () => {
    const PERF = '410602-01950000-0000-7000-8000-000000000004';
    const big = openFrontendDb(join(dir, 'perf.db'));
    try {
      await load(
        big,
        PERF,
        PERSON_ITEMS,
        Array.from({ length: 2_000 }, (_, i) => personValues(i)),
      );
      const pt = getTable(big, PERF)!;
      const pg = grant({ resource: PERF });
      // Count prepares on this connection: repeated asks of the same shapes must reuse the cached statements.
      let prepares = 0;
      const original = big.prepare.bind(big);
      (big as { prepare: typeof big.prepare }).prepare = ((sql: string) => {
        prepares++;
        return original(sql);
      }) as typeof big.prepare;
      const ask = (k: number) => {
        const r = executeQuery(big, pt, pg, { method: 'query', where: { all: [{ item: 'age', op: 'gte', value: 50 + (k % 20) }] }, limit: 100 });
        assert.equal(r.rows.length, 100);
        executeVerify(big, pt, pg, { method: 'verify', subject: { item: 'id_no', value: citizenIdFor(k * 2) }, claims: { name: personValues(k * 2)[1]!, age: 3 } });
      };
      ask(0);
      const afterFirst = prepares;
      for (let k = 1; k < 300; k++) ask(k);
      assert.equal(prepares, afterFirst, `${prepares - afterFirst} extra prepares over 299 repeated asks`);
    } finally {
      big.close();
    }
  });
});
