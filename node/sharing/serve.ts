/**
 * @module The provider node's execution of cascaded access requests (PROTOCOL.md §Sharing), pure of
 * transport: given the front-end table of the granted resource, a grant that the caller has already
 * verified and found usable (protocol/grant.ts `verifyGrant`, `checkGrantUsable`; the verify rate limit
 * is `GrantRateLimiter`'s), and the consumer's ask, produce the plaintext answer to seal.
 *
 *   executeQuery   rows of the grant (row filter AND the consumer's `where`), live only, projected to the
 *                  requested granted items, converted to JSON like packages (booleans true/false, binary
 *                  base64) and desensitized per item with the grant's profiles (fail closed: an item
 *                  without a profile is hidden).
 *   executeVerify  核验: for the record(s) of `subject` inside the grant's rows, whether each claim holds.
 *                  Claims are converted with the importer's converters and compared IN SQL with the true
 *                  stored values (`col IS ?`), so no stored value is ever read into this process, let
 *                  alone returned or logged. A record outside the grant's rows is "not found".
 *
 * Refusals (AppError), authorisation before existence so a consumer cannot probe the schema of items it
 * was not granted:
 *   INVALID_REQUEST         the ask does not parse, or grant and ask filters together exceed SQLite's 32,766 parameters
 *   GRANT_WRONG_RESOURCE    the grant is for another entry than this table
 *   GRANT_METHOD_NOT_ALLOWED the grant does not include the method
 *   GRANT_ITEM_NOT_ALLOWED  an item requested, filtered on or claimed is not granted (names the items)
 *   FILTER_ITEM_MASKED      `where` uses prefix / gte / lte on an item whose profile is not 'none': an ordered
 *                           or prefix condition is an oracle that recovers a masked value in a few dozen
 *                           queries (protocol/row-filter.ts). eq / ne / in only confirm guesses, as verify does.
 *   VERIFY_SUBJECT_INVALID  the subject item is not granted, or neither a key column nor an identifier item; or
 *                           the subject is an identifier item (citizen ID, credit code) and its value is not a
 *                           valid one after normalisation (`normalizeVerifyAsk`, path `subject.value`)
 *   ITEM_NOT_IN_TABLE       an item the request or the grant's row filter reads is no longer in the table
 *
 * Identifier subjects are normalised (trimmed, ASCII upper case: a typed lower-case "x" check character) and
 * validated with the import's own check (protocol/ids.ts `parseIdentifier`), so an invalid number is refused
 * instead of answered "not found", and a lower-case one finds its record. The consumer's node does the same
 * before sending (node/sharing/access-client.ts); this is the provider's own check. Claims of identifier
 * items are normalised the same way (an invalid one simply cannot match).
 *
 * Verify with several records for the subject (a non-key identifier such as an employer's credit code, or
 * one column of a compound key): the answer is that of the best-matching record (most claims hold; the
 * first by rowid on a tie), so the per-claim answers always describe one and the same record.
 *
 * Performance: filterToSql's exact fragments cannot use an index, so an eq / in condition on the leading key
 * column also gets an indexable `key IN (…)` (same rows, other plan): lookups by ID are index seeks. Other
 * selective conditions scan until `limit + 1` rows match.
 *
 * Statements are prepared once per (database, SQL text) — the SQL text encodes the table, the columns and
 * the filter shape, never a value — and kept in a small LRU per database.
 */
import type { Statement } from 'better-sqlite3';
import type { z } from 'zod';
import type { Db } from '../../engine/storage/db.ts';
import { AppError } from '../../engine/errors.ts';
import type { DesensitizationProfile } from '../../protocol/desensitization.ts';
import { desensitizeRow, maskedFilterItems } from '../../protocol/desensitization.ts';
import type { Grant } from '../../protocol/grant.ts';
import { filterItems, filterToSql, type RowFilter } from '../../protocol/row-filter.ts';
import { normalizeIdentifier, parseIdentifier } from '../../protocol/ids.ts';
import { AccessQuery, AccessVerify, type QueryResult, type VerifyResult } from '../../protocol/sharing-messages.ts';
import { formatZodIssues } from '../../protocol/validation-error.ts';
import { compileValidator, type FrontendItem, type RowValidator, type SqlValue } from '../staging/row-validator.ts';
import { q, type FrontendTable } from '../staging/table-schema.ts';

/** Prepared statements kept per database (least recently used evicted). */
export const STATEMENT_CACHE_SIZE = 128;

type JsonScalar = string | number | boolean | null;

// ------------------------------------------------------------------------------ caches

const statements = new WeakMap<Db, Map<string, Statement>>();

/** The prepared statement for `sql` on `db`, from the LRU when it is there. */
function prepared(db: Db, sql: string, configure: (s: Statement) => Statement): Statement {
  let cache = statements.get(db);
  if (!cache) {
    cache = new Map();
    statements.set(db, cache);
  }
  const hit = cache.get(sql);
  if (hit) {
    cache.delete(sql);
    cache.set(sql, hit);
    return hit;
  }
  const stmt = configure(db.prepare(sql));
  cache.set(sql, stmt);
  if (cache.size > STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
  return stmt;
}

interface TableInfo {
  byCode: Map<string, { index: number; item: FrontendItem }>;
  validator: RowValidator;
}

const tableInfos = new Map<string, TableInfo>();
const MAX_TABLE_INFOS = 256;

/** Item index and compiled converters of a table, keyed by its name and exact items (a migration changes the key). */
function infoOf(table: FrontendTable): TableInfo {
  const key = `${table.tableName}\n${JSON.stringify(table.items)}`;
  let info = tableInfos.get(key);
  if (!info) {
    info = {
      byCode: new Map(table.items.map((item, index) => [item.code, { index, item }])),
      validator: compileValidator(table.items),
    };
    tableInfos.set(key, info);
    if (tableInfos.size > MAX_TABLE_INFOS) tableInfos.delete(tableInfos.keys().next().value!);
  }
  return info;
}

// ------------------------------------------------------------------------------ checks

function parseAsk<S extends z.ZodType>(schema: S, ask: unknown): z.infer<S> {
  const parsed = schema.safeParse(ask);
  if (!parsed.success) {
    throw new AppError(
      'INVALID_REQUEST',
      '访问请求格式无效',
      'the access request is malformed',
      formatZodIssues(parsed.error).map((i) => ({ path: i.path, code: i.code, message: i.message })),
    );
  }
  return parsed.data as z.infer<S>;
}

function assertGrantFor(table: FrontendTable, grant: Grant, method: 'query' | 'verify'): void {
  if (grant.resource !== table.entryId) {
    throw new AppError('GRANT_WRONG_RESOURCE', `授权 ${grant.grantId} 不适用于资源 ${table.entryId}`, `grant ${grant.grantId} does not cover resource ${table.entryId}`);
  }
  if (!grant.methods.includes(method)) {
    throw new AppError('GRANT_METHOD_NOT_ALLOWED', `授权不包含共享方式 ${method}`, `grant does not allow method ${method}`);
  }
}

function notAllowed(items: readonly string[], path: string): AppError {
  return new AppError(
    'GRANT_ITEM_NOT_ALLOWED',
    `授权不包含信息项 ${items.join('、')}`,
    `grant does not cover data items ${items.join(', ')}`,
    items.map((item) => ({ path, code: 'not_granted', message: item })),
  );
}

function assertGranted(grant: Grant, items: Iterable<string>, path: string): void {
  const granted = new Set(grant.items);
  const outside = [...new Set([...items].filter((i) => !granted.has(i)))];
  if (outside.length > 0) throw notAllowed(outside, path);
}

function assertInTable(info: TableInfo, table: FrontendTable, items: Iterable<string>): void {
  const missing = [...new Set([...items].filter((i) => !info.byCode.has(i)))];
  if (missing.length > 0) {
    throw new AppError(
      'ITEM_NOT_IN_TABLE',
      `资源 ${table.entryId} 的前置库表中已没有信息项 ${missing.join('、')}（目录已变更），请重新申请授权`,
      `data items ${missing.join(', ')} are no longer in the table of ${table.entryId} (the catalog changed); apply for a new grant`,
      missing.map((item) => ({ path: 'items', code: 'not_in_table', message: item })),
    );
  }
}

/** The profile of a granted item; one without a profile (an unparsed grant) is hidden, never passed through. */
function profileOf(grant: Grant, item: string): DesensitizationProfile {
  return Object.hasOwn(grant.desensitization, item) ? grant.desensitization[item]! : 'hide';
}

const sqlOf = (filter: RowFilter | null) => filterToSql(filter ?? { all: [] }, q);

/** SQLite's default limit of bound parameters per statement (SQLITE_MAX_VARIABLE_NUMBER). */
const MAX_SQL_PARAMS = 32_766;

/**
 * An indexable pre-filter for the first eq / in condition on the leading key column (its primary-key index):
 * filterToSql's fragments strip affinity (`+X`) and so can never use an index, which makes a lookup by ID a
 * full scan. `X = ?` / `X IN (…)` is implied by the exact fragment (same class and equal ⇒ equal under the
 * column's affinity and default BINARY collation), so ANDing it changes no result, only the plan.
 */
function keyPrefilter(table: FrontendTable, filters: readonly (RowFilter | null)[]): { sql: string; params: (string | number)[] } {
  const key = table.keyCodes[0];
  for (const f of filters) {
    const c = f?.all.find((x) => x.item === key && (x.op === 'eq' || x.op === 'in'));
    if (!c || key === undefined) continue;
    const values = (Array.isArray(c.value) ? c.value : [c.value]).map((v) => (typeof v === 'boolean' ? (v ? 1 : 0) : v));
    return { sql: ` AND ${q(key)} IN (${values.map(() => '?').join(', ')})`, params: values };
  }
  return { sql: '', params: [] };
}

function assertParamCount(n: number): void {
  if (n > MAX_SQL_PARAMS) {
    throw new AppError('INVALID_REQUEST', '查询条件过多（授权与请求的过滤值合计过多）', 'too many filter values (grant and request together)');
  }
}

// ------------------------------------------------------------------------------ query

/** Stored (SQLite) value → JSON value, as packages carry it (node/packages/packager.ts readRows). */
function toJson(type: FrontendItem['type'], v: unknown): JsonScalar {
  if (v === null || v === undefined) return null;
  switch (type) {
    case 'boolean':
      return v === 1 || v === 1n;
    case 'binary':
      return Buffer.isBuffer(v) ? v.toString('base64') : null;
    case 'integer':
      // Read with safeIntegers: exact beyond 2^53, where a JSON number would silently round.
      if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
      return v as number;
    default:
      return typeof v === 'bigint' ? v.toString() : (v as string | number);
  }
}

/**
 * Answer a query under `grant` (already verified and usable). `ask` is parsed here (defaults applied), so
 * the wire value may be passed as is.
 */
export function executeQuery(db: Db, table: FrontendTable, grant: Grant, askInput: z.input<typeof AccessQuery>): QueryResult {
  const ask = parseAsk(AccessQuery, askInput);
  assertGrantFor(table, grant, 'query');
  const items = [...new Set(ask.items ?? grant.items)];
  assertGranted(grant, items, 'items');
  const whereItems = ask.where ? filterItems(ask.where) : [];
  assertGranted(grant, whereItems, 'where');
  if (ask.where) {
    const masked = maskedFilterItems(ask.where, grant.desensitization);
    if (masked.length > 0) {
      throw new AppError(
        'FILTER_ITEM_MASKED',
        `信息项 ${masked.join('、')} 须脱敏，查询条件不得对其使用前缀或范围比较（仅可用 eq / ne / in）`,
        `data items ${masked.join(', ')} are desensitized: the query may not use prefix or range conditions on them (only eq / ne / in)`,
        masked.map((item) => ({ path: 'where', code: 'masked_item', message: item })),
      );
    }
  }
  const info = infoOf(table);
  assertInTable(info, table, [...items, ...whereItems, ...(grant.rowFilter ? filterItems(grant.rowFilter) : [])]);

  const rows = sqlOf(grant.rowFilter);
  const where = sqlOf(ask.where);
  const pre = keyPrefilter(table, [ask.where, grant.rowFilter]);
  const params = [...pre.params, ...rows.params, ...where.params, ask.limit + 1];
  assertParamCount(params.length);
  const sql = `SELECT ${items.map(q).join(', ')} FROM ${q(table.tableName)}` + ` WHERE "_deleted" = 0${pre.sql} AND (${rows.sql}) AND (${where.sql}) ORDER BY _rowid_ LIMIT ?`;
  const stmt = prepared(db, sql, (s) => s.raw(true).safeIntegers(true));
  const raw = stmt.all(...params) as unknown[][];
  const truncated = raw.length > ask.limit;
  if (truncated) raw.length = ask.limit;

  const types = items.map((i) => info.byCode.get(i)!.item.type);
  const profiles: Record<string, DesensitizationProfile> = Object.create(null) as Record<string, DesensitizationProfile>;
  for (const i of items) profiles[i] = profileOf(grant, i);
  const out = raw.map((r) => {
    const row: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    for (let k = 0; k < items.length; k++) row[items[k]!] = toJson(types[k]!, r[k]);
    return desensitizeRow(row, profiles) as Record<string, JsonScalar>;
  });
  return { items, rows: out, truncated };
}

// ------------------------------------------------------------------------------ verify

/**
 * Answer a verification under `grant` (already verified, usable and rate-limited). Returns only
 * found / match / no_match; stored values are compared in SQL and never read.
 */
export function executeVerify(db: Db, table: FrontendTable, grant: Grant, askInput: z.input<typeof AccessVerify>): VerifyResult {
  const parsed = parseAsk(AccessVerify, askInput);
  assertGrantFor(table, grant, 'verify');
  const subjectItem = parsed.subject.item;
  if (!grant.items.includes(subjectItem)) throw subjectInvalid(subjectItem, 'not granted');
  const claimItems = Object.keys(parsed.claims);
  assertGranted(grant, claimItems, 'claims');
  const info = infoOf(table);
  assertInTable(info, table, [subjectItem, ...claimItems, ...(grant.rowFilter ? filterItems(grant.rowFilter) : [])]);
  const subject = info.byCode.get(subjectItem)!;
  if (!(subject.item.primaryKey === true || table.keyCodes.includes(subjectItem) || subject.item.identifier === 'citizen_id' || subject.item.identifier === 'credit_code')) {
    throw subjectInvalid(subjectItem, 'not a key or identifier');
  }
  const ask = normalizeVerifyAsk(table.items, parsed);

  const none = (): VerifyResult => ({ found: false, results: Object.fromEntries(claimItems.map((c) => [c, 'no_match' as const])) });
  const subjectValue = convert(info, subject.index, ask.subject.value);
  if (subjectValue === undefined || subjectValue === null) return none();

  // Claims that do not convert can never match: they stay out of the SQL and answer no_match.
  const compared: string[] = [];
  const bound: SqlValue[] = [];
  for (const c of claimItems) {
    const v = convert(info, info.byCode.get(c)!.index, ask.claims[c]);
    if (v === undefined) continue;
    compared.push(c);
    bound.push(v);
  }
  const rows = sqlOf(grant.rowFilter);
  // Inner aliases start with '_' (item codes start with a letter), and the outer query sees only them.
  const matches = compared.map((c, k) => `(${q(c)} IS ?) AS "_m${k}"`);
  const score = compared.length === 0 ? '' : `(${compared.map((_, k) => `"_m${k}"`).join(' + ')}) DESC, `;
  const sql =
    `SELECT * FROM (SELECT ${['1 AS "_found"', ...matches, '_rowid_ AS "_r"'].join(', ')} FROM ${q(table.tableName)}` +
    ` WHERE "_deleted" = 0 AND ${q(subjectItem)} = ? AND (${rows.sql})) ORDER BY ${score}"_r" LIMIT 1`;
  const params = [...bound, subjectValue, ...rows.params];
  assertParamCount(params.length);
  const stmt = prepared(db, sql, (s) => s.raw(true));
  const hit = stmt.get(...params) as number[] | undefined;
  if (hit === undefined) return none();
  const held = new Map(compared.map((c, k) => [c, hit[k + 1] === 1]));
  return { found: true, results: Object.fromEntries(claimItems.map((c) => [c, held.get(c) === true ? ('match' as const) : ('no_match' as const)])) };
}

/** Data item fields `normalizeVerifyAsk` reads (front-end table items or catalog data items). */
export type VerifyItem = { code: string; identifier?: string | null };

/**
 * The ask with an identifier subject normalised and validated (protocol/ids.ts `parseIdentifier`, the
 * import's check) and string claims of identifier items normalised; throws VERIFY_SUBJECT_INVALID (400, path
 * `subject.value`) for an invalid identifier. Subjects of other items, and items not in `items`, are left
 * alone. Used by the consumer's node against its catalog copy and by the provider against its table.
 */
export function normalizeVerifyAsk<A extends AccessVerify>(items: readonly VerifyItem[], ask: A): A {
  const kindOf = (code: string) => {
    const k = items.find((i) => i.code === code)?.identifier;
    return k === 'citizen_id' || k === 'credit_code' ? k : null;
  };
  const kind = kindOf(ask.subject.item);
  let subject = ask.subject;
  if (kind !== null) {
    const p = parseIdentifier(kind, ask.subject.value);
    if (!p.ok) {
      throw new AppError('VERIFY_SUBJECT_INVALID', `核验主体 ${ask.subject.item} 的值${p.zh}`, `the value of verification subject ${ask.subject.item} is ${p.en}`, [
        { path: 'subject.value', code: 'invalid_identifier', message: `${p.zh} / ${p.en}` },
      ]);
    }
    subject = { item: ask.subject.item, value: p.value };
  }
  let claims = ask.claims;
  for (const [c, v] of Object.entries(ask.claims)) {
    if (typeof v !== 'string' || kindOf(c) === null) continue;
    const n = normalizeIdentifier(v);
    if (n !== v) claims = { ...claims, [c]: n };
  }
  return subject === ask.subject && claims === ask.claims ? ask : { ...ask, subject, claims };
}

function subjectInvalid(item: string, why: string): AppError {
  return new AppError(
    'VERIFY_SUBJECT_INVALID',
    `核验主体信息项 ${item} 须为已授权的主键或身份标识（身份证号、统一社会信用代码）信息项`,
    `verification subject ${item} must be a granted key or identifier (citizen ID, credit code) item (${why})`,
    [{ path: 'subject.item', code: 'invalid_subject', message: item }],
  );
}

/**
 * A claim (or subject) value in the stored form, by the importer's converter for the item; null for a
 * missing value (absent, null, '' — and blank for non-text items, as an import stores them); undefined
 * when it does not convert (no stored value can equal it).
 */
function convert(info: TableInfo, index: number, raw: unknown): SqlValue | undefined {
  const c = info.validator.convertCell(index, raw);
  return 'value' in c ? c.value : undefined;
}
