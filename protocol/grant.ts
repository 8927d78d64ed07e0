/**
 * @module Sharing grants (共享授权): what the municipal hub signs after approving an application (R5;
 * Jincheng §30–31), and the signed revocation list with which it withdraws them. Pure: schemas,
 * canonical encoding, Ed25519 signatures and the usability rule; no I/O, no clock (callers pass `now`).
 *
 * A grant names one consumer (node, county, department), one resource of one provider county, the data
 * items, an optional row filter (protocol/row-filter.ts), the methods (query, verify = cross-verification,
 * batch), purpose and scenario (Jincheng §30(1); minimum necessary and scenario-based, Jiyuan §7), a
 * desensitization profile for every item (protocol/desensitization.ts, applied by the provider before
 * data leaves it) and a validity period. Grant lengths are a policy setting (Policy.maxGrantDays, at most
 * 3 years by Jincheng §31) that the hub enforces when it issues; `policy` names the preset it used.
 *
 * Signatures, version 1 (as for data package headers, the bytes are the canonical JSON of the parsed value):
 *   grant            Ed25519(hub key,  "jilian/grant/v1\0"             ‖ UTF-8(canonicalJson(grant)))
 *   revocation list  Ed25519(hub key,  "jilian/grant-revocations/v1\0" ‖ UTF-8(canonicalJson(list)))
 * The distinct contexts keep a signature over one kind of object from ever verifying as the other.
 *
 * Revocation lists are complete, not deltas: each one (serial + 1) replaces the previous. It lists
 * revoked, suspended and "expired_unused" (withdrawn after long non-use, Jincheng §31) grants; a
 * suspension (Jiyuan §36, Jincheng §40) is lifted by a newer list without the entry. The hub keeps a
 * revoked grant listed until its validUntil has passed, after which expiry refuses it anyway, so the
 * list stays bounded. `verifyRevocationList` refuses a lower serial than the one held (rollback) and a
 * different list under the same serial (a hub that signed two histories).
 *
 * FRESHNESS RULE — which revocation list a provider may rely on. The provider serves a grant only while
 * it holds a verified revocation list L from the grant's issuer with
 *
 *     L.issuedAt − maxClockSkewMs  ≤  now  ≤  min(L.issuedAt + maxRevocationAgeMs,  L.nextUpdate + revocationGraceMs)
 *
 * (defaults 5 min, 24 h, 1 h). The hub publishes a new list immediately on every revocation or
 * suspension and otherwise hourly, each with nextUpdate = issuedAt + 24 h (REVOCATION_NEXT_UPDATE_MS):
 * as in an X.509 CRL, nextUpdate is the latest time by which a newer list will exist, not the cadence.
 *
 * Why the minimum of both bounds and not "fresh OR before nextUpdate + grace": each bound belongs to one
 * party and may only tighten the other's. maxRevocationAgeMs is the provider's tolerance for being cut off
 * (lower it for L4 data); nextUpdate lets the hub tighten every provider at once (in an incident it
 * publishes with nextUpdate = issuedAt + 1 h, and all providers then need a list at most 2 h old). With
 * OR, a hub announcing a distant nextUpdate would override a provider's stricter setting. The grace of one
 * publishing interval means a single missed publication never stops service.
 *
 * Trade-off. A provider cut off from the hub keeps serving for at most B = min(maxRevocationAgeMs,
 * L.nextUpdate + grace − L.issuedAt) after the issue time of the last list it got — 24 h by default — and
 * then refuses every grant with REVOCATIONS_STALE until a new list arrives. Fail closed: no list, a list of
 * another issuer, or a list dated more than maxClockSkewMs ahead of the provider's clock count as stale.
 * In return a revocation takes effect at a connected provider as soon as the list published for it arrives
 * (seconds), and at ANY provider — also one whose updates an attacker suppresses — within B of the
 * revocation, because any list it can still hold without the entry was issued before the revocation
 * (and older lists cannot be replayed: serials only increase). A larger B buys availability during outages
 * with a longer window for a revoked grant; 24 h keeps services running over a night's outage while
 * bounding use after a revocation (Jiyuan §36, Jincheng §40) to one day.
 *
 * Independent of the hub: validity (validFrom ≤ now < validUntil) is judged by the provider's own clock, so
 * an expired grant is refused with or without a list; and revoked / suspended entries are honoured even from
 * a stale list (a stale list can only lack revocations, never wrongly contain one). The verify rate limit
 * (verifyRatePerMinute) is stateful and enforced by the provider's rate limiter, not here.
 */
import { z } from 'zod';
import { sig64 } from './base64-schemas.ts';
import { canonicalJson } from './canonical-json.ts';
import { Provider, RESOURCE_CODE_RE, type SharingMethod } from './catalog-entry.ts';
import { DesensitizationProfile } from './desensitization.ts';
import { GrantError } from './errors.ts';
import { countyCode, countyOfEntry, entryId } from './identifiers.ts';
import { itemCode, RowFilter } from './row-filter.ts';
import { fromBase64, sodium, toBase64 } from './sodium.ts';
import { NODE_ID_RE } from './subjects.ts';
import { safeString } from './text.ts';
import { formatZodIssues } from './validation-error.ts';

export const GRANT_SIGNING_CONTEXT = 'jilian/grant/v1\0';
export const REVOCATIONS_SIGNING_CONTEXT = 'jilian/grant-revocations/v1\0';

const HOUR = 60 * 60 * 1000;
/** Provider default: a revocation list older than this is never relied on. */
export const DEFAULT_MAX_REVOCATION_AGE_MS = 24 * HOUR;
/** Provider default: how long after a list's nextUpdate it is still relied on (one publishing interval). */
export const DEFAULT_REVOCATION_GRACE_MS = HOUR;
/** Provider default: a list may be dated this far ahead of the provider's clock. */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;
/** Hub: republish the list at least this often (and at once on every change). */
export const REVOCATION_PUBLISH_INTERVAL_MS = HOUR;
/** Hub: nextUpdate = issuedAt + this, in normal operation. */
export const REVOCATION_NEXT_UPDATE_MS = 24 * HOUR;
/** Largest nextUpdate − issuedAt a list may state. */
export const MAX_REVOCATION_NEXT_UPDATE_MS = 7 * 24 * HOUR;
export const MAX_GRANT_ITEMS = 500;
export const MAX_REVOCATION_ENTRIES = 100_000;

/** 授权共享方式: query (API 查询), verify (核验/比对, Jiyuan §33), batch (库表或文件批量交换). */
export const GRANT_METHODS = ['query', 'verify', 'batch'] as const;
export type GrantMethod = (typeof GRANT_METHODS)[number];
export const GRANT_METHOD_LABELS: Record<GrantMethod, string> = { query: '接口查询', verify: '数据核验(比对)', batch: '批量交换(库表/文件)' };
/** The catalog sharing methods (catalog-entry.ts SHARING_METHODS) an entry must publish for a grant method to make sense. */
export const GRANT_METHOD_SHARING: Record<GrantMethod, readonly SharingMethod[]> = {
  query: ['api'],
  verify: ['verification'],
  batch: ['table', 'file'],
};

export const REVOCATION_KINDS = ['revoked', 'suspended', 'expired_unused'] as const;
export type RevocationKind = (typeof REVOCATION_KINDS)[number];

// ------------------------------------------------------------------------------ errors

// The grant error class and its codes live with the other protocol errors (errors.ts).
export { GRANT_ERROR_CODES, GrantError, type GrantErrorCode } from './errors.ts';

// ------------------------------------------------------------------------------ schemas

/** RFC 9562 version 7, lower case (protocol/uuid7.ts). */
export const UUID7_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const uuid7 = z.string().regex(UUID7_RE, 'lower-case UUID version 7');
const nodeId = z.string().regex(NODE_ID_RE);
/** The department code regex of catalog entries (Provider.code). */
export const departmentCode = Provider.shape.code;
/** RFC 3339 with Z or an offset (+08:00), like the application's period (protocol/application.ts); compared as instants. */
const datetime = z.iso.datetime({ offset: true });
/** No trim transform: the parsed value must be the signed value, byte for byte. */
const nonBlank = (max: number) =>
  safeString()
    .max(max)
    .refine((s) => s.trim() !== '', '不能为空 / must not be blank');

type Ctx = z.core.$RefinementCtx<unknown>;
const issue = (ctx: Ctx, path: PropertyKey[], message: string): void => ctx.addIssue({ code: 'custom', path, message });

export const Grant = z
  .strictObject({
    grantId: uuid7.describe('授权编号 / grant id'),
    applicationId: z.string().min(1).max(128).describe('申请编号 / the application this grant answers (protocol/application.ts id)'),
    consumer: z.strictObject({ nodeId, county: countyCode, department: departmentCode }).describe('使用方 / consumer'),
    provider: z.strictObject({ county: countyCode, department: departmentCode.optional() }).describe('提供方 / provider'),
    resource: entryId.describe('目录条目 / catalog entry id'),
    resourceCode: z.string().regex(RESOURCE_CODE_RE).nullable().describe('统一资源编码 / unified resource code'),
    items: z.array(itemCode).min(1).max(MAX_GRANT_ITEMS).describe('授权信息项 / data items granted'),
    rowFilter: RowFilter.nullable().describe('行级过滤 / rows granted; null: all rows'),
    methods: z.array(z.enum(GRANT_METHODS)).min(1).max(GRANT_METHODS.length).describe('共享方式 / methods granted'),
    purpose: nonBlank(500).describe('用途 / purpose (Jincheng §30(1))'),
    scenario: nonBlank(500).describe('应用场景 / scenario (Jincheng §30(1), Jiyuan §7)'),
    desensitization: z.record(itemCode, DesensitizationProfile).describe('脱敏规则 / profile per granted item'),
    validFrom: datetime.describe('生效时间 / valid from (inclusive)'),
    validUntil: datetime.describe('失效时间 / valid until (exclusive)'),
    verifyRatePerMinute: z.number().int().min(0).max(100_000).describe('核验频率上限(次/分钟) / cross-verification rate limit'),
    issuedAt: datetime.describe('签发时间 / issued at'),
    issuer: nodeId.describe('签发枢纽 / issuing hub node'),
    policy: z.string().min(1).max(64).describe('政策预设 / policy preset the hub applied (protocol/policy.ts)'),
  })
  .superRefine((g, ctx) => {
    const c = ctx as Ctx;
    const seen = new Set<string>();
    g.items.forEach((it, i) => {
      if (seen.has(it)) issue(c, ['items', i], `信息项重复 / duplicate item ${it}`);
      seen.add(it);
    });
    if (new Set(g.methods).size !== g.methods.length) issue(c, ['methods'], '共享方式重复 / duplicate method');
    // Every granted item has an explicit profile and no profile names an item that is not granted: a
    // forgotten item must not leave unmasked by default.
    for (const it of seen) if (!Object.hasOwn(g.desensitization, it)) issue(c, ['desensitization', it], `缺少信息项 ${it} 的脱敏规则 / no profile for item ${it}`);
    for (const k of Object.keys(g.desensitization)) if (!seen.has(k)) issue(c, ['desensitization', k], `${k} 不是授权信息项 / ${k} is not a granted item`);
    const from = Date.parse(g.validFrom);
    const until = Date.parse(g.validUntil);
    if (!(until > from)) issue(c, ['validUntil'], '失效时间须晚于生效时间 / validUntil must be after validFrom');
    if (!(Date.parse(g.issuedAt) < until)) issue(c, ['issuedAt'], '签发时间须早于失效时间 / issuedAt must be before validUntil');
    if (g.provider.county !== countyOfEntry(g.resource)) issue(c, ['provider', 'county'], '提供方区县须与目录条目一致 / provider county must own the resource');
    if (g.methods.includes('verify') && g.verifyRatePerMinute < 1) issue(c, ['verifyRatePerMinute'], '核验授权须有频率上限 / verify needs a rate of at least 1');
  })
  .describe('共享授权 / sharing grant, signed by the municipal hub');
export type Grant = z.infer<typeof Grant>;
export type GrantInput = z.input<typeof Grant>;

export const SignedGrant = z.strictObject({ grant: Grant, signature: sig64 });
export type SignedGrant = z.infer<typeof SignedGrant>;

export const RevocationEntry = z.strictObject({
  grantId: uuid7,
  kind: z.enum(REVOCATION_KINDS),
  reason: nonBlank(500).describe('理由 / reason (refusals and withdrawals carry reasons)'),
  at: datetime.describe('撤销/暂停时间 / when the hub decided it'),
});
export type RevocationEntry = z.infer<typeof RevocationEntry>;

export const RevocationList = z
  .strictObject({
    issuer: nodeId,
    serial: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).describe('序号, 单调递增 / monotonic serial'),
    issuedAt: datetime,
    nextUpdate: datetime.describe('最迟下次发布时间 / latest time by which a newer list exists'),
    entries: z.array(RevocationEntry).max(MAX_REVOCATION_ENTRIES),
  })
  .superRefine((l, ctx) => {
    const c = ctx as Ctx;
    const issued = Date.parse(l.issuedAt);
    const next = Date.parse(l.nextUpdate);
    if (!(next > issued)) issue(c, ['nextUpdate'], 'nextUpdate 须晚于 issuedAt / nextUpdate must be after issuedAt');
    if (next - issued > MAX_REVOCATION_NEXT_UPDATE_MS) issue(c, ['nextUpdate'], 'nextUpdate 过远 / nextUpdate is more than 7 days after issuedAt');
    const seen = new Set<string>();
    l.entries.forEach((e, i) => {
      if (seen.has(e.grantId)) issue(c, ['entries', i, 'grantId'], `授权重复 / grant ${e.grantId} listed twice`);
      seen.add(e.grantId);
      if (Date.parse(e.at) > issued) issue(c, ['entries', i, 'at'], 'at 不得晚于 issuedAt / an entry cannot postdate its list');
    });
  })
  .describe('授权撤销清单 / grant revocation list, signed by the municipal hub');
export type RevocationList = z.infer<typeof RevocationList>;

export const SignedRevocationList = z.strictObject({ list: RevocationList, signature: sig64 });
export type SignedRevocationList = z.infer<typeof SignedRevocationList>;

// ------------------------------------------------------------------------------ signatures

/** The hub's 64-byte Ed25519 secret key, or an object that signs with it (engine/identity.ts `Identity`). */
export type HubSigner = Uint8Array | { signDetached(message: Uint8Array): Uint8Array };
/** The hub's accepted Ed25519 public key(s): during a key rotation there are two (key-directory.ts acceptedKeys). */
export type HubKeys = Uint8Array | readonly Uint8Array[];

const encoder = new TextEncoder();

function signedBytes(context: string, value: unknown): Uint8Array {
  return encoder.encode(context + canonicalJson(value));
}

/** The exact bytes the hub signs for a (parsed) grant. */
export function grantSignedBytes(grant: Grant): Uint8Array {
  return signedBytes(GRANT_SIGNING_CONTEXT, grant);
}

/** The exact bytes the hub signs for a (parsed) revocation list. */
export function revocationListSignedBytes(list: RevocationList): Uint8Array {
  return signedBytes(REVOCATIONS_SIGNING_CONTEXT, list);
}

function sign(message: Uint8Array, signer: HubSigner): string {
  return toBase64(signer instanceof Uint8Array ? sodium().crypto_sign_detached(message, signer) : signer.signDetached(message));
}

function keyList(hubKeys: HubKeys): readonly Uint8Array[] {
  const keys = hubKeys instanceof Uint8Array ? [hubKeys] : hubKeys;
  if (keys.length === 0) throw new GrantError('HUB_KEY_MISSING', '未配置授权中心公钥', 'no hub public key to verify with');
  return keys;
}

/** True if any key verifies; a key of the wrong length simply does not. */
function verifiesWithAny(signature: string, message: Uint8Array, keys: readonly Uint8Array[]): boolean {
  const sig = fromBase64(signature);
  return keys.some((k) => {
    try {
      return k.length === 32 && sodium().crypto_sign_verify_detached(sig, message, k);
    } catch {
      return false;
    }
  });
}

/** Validate and sign a grant. Throws GrantError GRANT_MALFORMED if it would not verify. */
export function signGrant(grant: GrantInput, hub: HubSigner): SignedGrant {
  const parsed = Grant.safeParse(grant);
  if (!parsed.success) throw new GrantError('GRANT_MALFORMED', '授权内容无效', 'grant is invalid', { issues: formatZodIssues(parsed.error) });
  return { grant: parsed.data, signature: sign(grantSignedBytes(parsed.data), hub) };
}

/**
 * Parse and authenticate a signed grant: GRANT_MALFORMED, HUB_KEY_MISSING, GRANT_BAD_SIGNATURE, and
 * GRANT_WRONG_ISSUER when `issuer` is given (the hub node id of the key directory) and differs. The signature
 * is checked before the issuer, so unauthenticated content never decides the error. Validity in time and
 * revocation are `checkGrantUsable`'s business.
 */
export function verifyGrant(signed: unknown, hubKeys: HubKeys, options: { issuer?: string } = {}): Grant {
  const parsed = SignedGrant.safeParse(signed);
  if (!parsed.success) throw new GrantError('GRANT_MALFORMED', '授权格式无效', 'signed grant is malformed', { issues: formatZodIssues(parsed.error) });
  const { grant, signature } = parsed.data;
  if (!verifiesWithAny(signature, grantSignedBytes(grant), keyList(hubKeys))) {
    throw new GrantError('GRANT_BAD_SIGNATURE', `授权 ${grant.grantId} 签名无效`, `signature of grant ${grant.grantId} does not verify`, { grantId: grant.grantId });
  }
  if (options.issuer !== undefined && grant.issuer !== options.issuer) {
    throw new GrantError('GRANT_WRONG_ISSUER', `授权签发方 ${grant.issuer} 不是 ${options.issuer}`, `grant issuer ${grant.issuer} is not ${options.issuer}`, {
      grantId: grant.grantId,
      issuer: grant.issuer,
    });
  }
  return grant;
}

/** Validate and sign a revocation list. Throws GrantError REVOCATIONS_MALFORMED if it would not verify. */
export function signRevocationList(list: z.input<typeof RevocationList>, hub: HubSigner): SignedRevocationList {
  const parsed = RevocationList.safeParse(list);
  if (!parsed.success) throw new GrantError('REVOCATIONS_MALFORMED', '撤销清单无效', 'revocation list is invalid', { issues: formatZodIssues(parsed.error) });
  return { list: parsed.data, signature: sign(revocationListSignedBytes(parsed.data), hub) };
}

/**
 * Parse and authenticate a signed revocation list: REVOCATIONS_MALFORMED, HUB_KEY_MISSING,
 * REVOCATIONS_BAD_SIGNATURE, REVOCATIONS_WRONG_ISSUER (with `issuer`), and against the list the caller
 * holds (`held`): REVOCATIONS_ROLLBACK for a lower serial, REVOCATIONS_CONFLICT for the same serial with
 * other content. The same list again verifies (idempotent redelivery).
 */
export function verifyRevocationList(signed: unknown, hubKeys: HubKeys, options: { issuer?: string; held?: RevocationList | null } = {}): RevocationList {
  const parsed = SignedRevocationList.safeParse(signed);
  if (!parsed.success) {
    throw new GrantError('REVOCATIONS_MALFORMED', '撤销清单格式无效', 'signed revocation list is malformed', { issues: formatZodIssues(parsed.error) });
  }
  const { list, signature } = parsed.data;
  if (!verifiesWithAny(signature, revocationListSignedBytes(list), keyList(hubKeys))) {
    throw new GrantError('REVOCATIONS_BAD_SIGNATURE', `撤销清单 ${list.serial} 签名无效`, `signature of revocation list ${list.serial} does not verify`, { serial: list.serial });
  }
  if (options.issuer !== undefined && list.issuer !== options.issuer) {
    throw new GrantError('REVOCATIONS_WRONG_ISSUER', `撤销清单签发方 ${list.issuer} 不是 ${options.issuer}`, `revocation list issuer ${list.issuer} is not ${options.issuer}`, {
      issuer: list.issuer,
    });
  }
  const held = options.held;
  if (held && held.issuer === list.issuer) {
    if (list.serial < held.serial) {
      throw new GrantError('REVOCATIONS_ROLLBACK', `撤销清单序号 ${list.serial} 低于已持有的 ${held.serial}`, `revocation list ${list.serial} is older than the held ${held.serial}`, {
        serial: list.serial,
        held: held.serial,
      });
    }
    if (list.serial === held.serial && canonicalJson(list) !== canonicalJson(held)) {
      throw new GrantError('REVOCATIONS_CONFLICT', `同一序号 ${list.serial} 的撤销清单内容不同`, `two different revocation lists with serial ${list.serial}`, { serial: list.serial });
    }
  }
  return list;
}

// ------------------------------------------------------------------------------ usability

export const GRANT_USABILITY_CODES = [
  'GRANT_NOT_YET_VALID',
  'GRANT_EXPIRED',
  'GRANT_REVOKED',
  'GRANT_SUSPENDED',
  'GRANT_METHOD_NOT_ALLOWED',
  'GRANT_ITEM_NOT_ALLOWED',
  'REVOCATIONS_STALE',
  'GRANT_WRONG_CONSUMER',
  'GRANT_WRONG_RESOURCE',
] as const;
export type GrantUsabilityCode = (typeof GRANT_USABILITY_CODES)[number];

export type GrantUsability =
  | { ok: true }
  | {
      ok: false;
      code: GrantUsabilityCode;
      zh: string;
      en: string;
      /** GRANT_ITEM_NOT_ALLOWED: the requested items the grant does not cover. */
      items?: string[];
      /** GRANT_REVOKED / GRANT_SUSPENDED: the list entry's kind and reason. */
      kind?: RevocationKind;
      reason?: string;
    };

export interface FreshnessOptions {
  /** The provider's bound on a list's age (default 24 h). */
  maxRevocationAgeMs?: number;
  /** How long after the list's nextUpdate it is still relied on (default 1 h). */
  revocationGraceMs?: number;
  /** How far a list's issuedAt may be ahead of the provider's clock (default 5 min). */
  maxClockSkewMs?: number;
}

export interface UsabilityOptions extends FreshnessOptions {
  /** The provider's clock. */
  now: Date;
  /** The newest VERIFIED revocation list held (`verifyRevocationList`), or null if none yet. */
  revocations: RevocationList | SignedRevocationList | null;
  /** The method the request uses. */
  method: GrantMethod;
  /** Every data item the request reads: returned columns AND those its own filter or verification compares. */
  items: readonly string[];
  /** If given, the requester's node id (the envelope sender) must be the grant's consumer. */
  consumerNodeId?: string;
  /** If given, the requested entry must be the grant's resource. */
  resource?: string;
}

/** [from, until] in epoch ms during which `list` may be relied on (the freshness rule in the module comment). */
export function revocationsUsableWindow(list: RevocationList, options: FreshnessOptions = {}): { from: number; until: number } {
  const maxAge = options.maxRevocationAgeMs ?? DEFAULT_MAX_REVOCATION_AGE_MS;
  const grace = options.revocationGraceMs ?? DEFAULT_REVOCATION_GRACE_MS;
  const skew = options.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS;
  const issued = Date.parse(list.issuedAt);
  return { from: issued - skew, until: Math.min(issued + maxAge, Date.parse(list.nextUpdate) + grace) };
}

// Lists are immutable once verified; index each once instead of scanning up to 100,000 entries per request.
const indexes = new WeakMap<RevocationList, Map<string, RevocationEntry>>();
function entryFor(list: RevocationList, grantId: string): RevocationEntry | undefined {
  let index = indexes.get(list);
  if (!index) {
    index = new Map(list.entries.map((e) => [e.grantId, e]));
    indexes.set(list, index);
  }
  return index.get(grantId);
}

const refuse = (code: GrantUsabilityCode, zh: string, en: string, extra: Partial<Extract<GrantUsability, { ok: false }>> = {}): GrantUsability => ({
  ok: false,
  code,
  zh,
  en,
  ...extra,
});

/**
 * Whether a provider may serve this request under this grant now. The grant must already be verified
 * (`verifyGrant`); this function checks, in order: consumer and resource (when given), validity period
 * (provider clock), the held revocation list's entry for the grant (even a stale list's), the list's
 * freshness (module comment), the method, and the items. Pure; throws RangeError only for an invalid `now`.
 */
export function checkGrantUsable(grantOrSigned: Grant | SignedGrant, options: UsabilityOptions): GrantUsability {
  const grant = 'grant' in grantOrSigned ? grantOrSigned.grant : grantOrSigned;
  const now = options.now.getTime();
  if (!Number.isFinite(now)) throw new RangeError('checkGrantUsable: invalid now');

  if (options.consumerNodeId !== undefined && options.consumerNodeId !== grant.consumer.nodeId) {
    return refuse('GRANT_WRONG_CONSUMER', `授权 ${grant.grantId} 不属于 ${options.consumerNodeId}`, `grant ${grant.grantId} was not issued to ${options.consumerNodeId}`);
  }
  if (options.resource !== undefined && options.resource !== grant.resource) {
    return refuse('GRANT_WRONG_RESOURCE', `授权 ${grant.grantId} 不适用于资源 ${options.resource}`, `grant ${grant.grantId} does not cover resource ${options.resource}`);
  }
  if (now < Date.parse(grant.validFrom)) {
    return refuse('GRANT_NOT_YET_VALID', `授权尚未生效（生效时间 ${grant.validFrom}）`, `grant is not valid before ${grant.validFrom}`);
  }
  if (now >= Date.parse(grant.validUntil)) {
    return refuse('GRANT_EXPIRED', `授权已过期（有效期至 ${grant.validUntil}）`, `grant expired at ${grant.validUntil}`);
  }

  const held = options.revocations === null ? null : 'list' in options.revocations ? options.revocations.list : options.revocations;
  const list = held !== null && held.issuer === grant.issuer ? held : null;
  const entry = list === null ? undefined : entryFor(list, grant.grantId);
  if (entry !== undefined) {
    const extra = { kind: entry.kind, reason: entry.reason };
    if (entry.kind === 'suspended') return refuse('GRANT_SUSPENDED', `授权已暂停：${entry.reason}`, `grant is suspended: ${entry.reason}`, extra);
    if (entry.kind === 'expired_unused') {
      // Jincheng §31: grants unused for more than three months may be withdrawn.
      return refuse('GRANT_REVOKED', `授权因长期未使用已被收回：${entry.reason}`, `grant was withdrawn for non-use: ${entry.reason}`, extra);
    }
    return refuse('GRANT_REVOKED', `授权已撤销：${entry.reason}`, `grant was revoked: ${entry.reason}`, extra);
  }

  if (list === null) {
    const zh = held === null ? '尚未收到授权撤销清单，暂停提供数据' : `撤销清单签发方 ${held.issuer} 与授权签发方 ${grant.issuer} 不符，暂停提供数据`;
    const en = held === null ? 'no revocation list held yet; refusing until one arrives' : `the held revocation list is from ${held.issuer}, not ${grant.issuer}; refusing`;
    return refuse('REVOCATIONS_STALE', zh, en);
  }
  const window = revocationsUsableWindow(list, options);
  if (now < window.from) {
    return refuse('REVOCATIONS_STALE', `撤销清单签发时间 ${list.issuedAt} 晚于本机时间，请检查时钟`, `revocation list issued at ${list.issuedAt} is ahead of this clock; check the clocks`);
  }
  if (now > window.until) {
    const until = new Date(window.until).toISOString();
    return refuse('REVOCATIONS_STALE', `撤销清单（${list.issuedAt} 签发）已于 ${until} 过期，暂停提供数据`, `revocation list issued at ${list.issuedAt} was stale after ${until}; refusing`);
  }

  if (!grant.methods.includes(options.method)) {
    return refuse('GRANT_METHOD_NOT_ALLOWED', `授权不包含共享方式 ${options.method}`, `grant does not allow method ${options.method}`);
  }
  const allowed = new Set(grant.items);
  const outside = [...new Set(options.items.filter((it) => !allowed.has(it)))];
  if (outside.length > 0) {
    return refuse('GRANT_ITEM_NOT_ALLOWED', `授权不包含信息项 ${outside.join('、')}`, `grant does not cover data items ${outside.join(', ')}`, { items: outside });
  }
  return { ok: true };
}
