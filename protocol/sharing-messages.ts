/**
 * @module Wire payloads of the sharing workflow and of cascaded access (PROTOCOL.md §Sharing). Each
 * travels in a signed envelope; answers that carry data are sealed to the consumer node's X25519 key
 * (crypto_box_seal), so the hub that routes them cannot read them.
 *
 *   application.submit   node → hub (UP)           a department's application (the node assigns the id)
 *   application.decide   node → hub (UP)           a provider's or consumer's decision on an application
 *   application.update   hub → county (DOWN)       the application as the hub holds it (consumer's and provider's counties)
 *   grant.issue          hub → county (DOWN)       a signed grant (consumer's and provider's counties)
 *   grant.revocations    hub → all (DOWN)          the signed revocation list (complete; replaces the previous)
 *   access.request       consumer → hub (RPC)      query or verify under a grant
 *   access.forward       hub → provider (RPC)      the request with the signed grant and the consumer's key
 *   access.answer        provider → hub → consumer the sealed answer, signed by whoever produced it
 */
import { z } from 'zod';
import { ApplicationEvent, ApplicationRequest, ApplicationView } from './application.ts';
import { base64, key32 } from './base64-schemas.ts';
import { departmentCode, SignedGrant, SignedRevocationList, UUID7_RE } from './grant.ts';
import { countyCode } from './identifiers.ts';
import { itemCode, RowFilter } from './row-filter.ts';
import { NODE_ID_RE } from './subjects.ts';
import { safeText, safeString } from './text.ts';

const uuid7 = z.string().regex(UUID7_RE, 'lower-case UUID version 7');
const actor = z.strictObject({ id: safeString().min(1).max(200), department: departmentCode.describe('部门代码 / department code') });

/** `application.submit`. */
export const ApplicationSubmit = z.strictObject({
  applicationId: uuid7,
  actor,
  request: ApplicationRequest,
});
export type ApplicationSubmit = z.infer<typeof ApplicationSubmit>;

/** `application.decide`. */
export const ApplicationDecide = z.strictObject({
  applicationId: uuid7,
  actor,
  event: ApplicationEvent,
});
export type ApplicationDecide = z.infer<typeof ApplicationDecide>;

/** `application.update`: the hub's view, or a refusal of a submission that never became an application. */
export const ApplicationUpdate = z.strictObject({
  application: ApplicationView.nullable(),
  /** Set when the hub refused the submission or decision outright (its code and messages). */
  refused: z.strictObject({ applicationId: uuid7, code: z.string().max(64), zh: z.string().max(1000), en: z.string().max(1000) }).nullable(),
});
export type ApplicationUpdate = z.infer<typeof ApplicationUpdate>;

/** `grant.issue`. */
export const GrantIssue = z.strictObject({ grant: SignedGrant });
export type GrantIssue = z.infer<typeof GrantIssue>;

/** `grant.revocations`. */
export const GrantRevocations = z.strictObject({ list: SignedRevocationList });
export type GrantRevocations = z.infer<typeof GrantRevocations>;

/** Scalar a claim may hold. */
const claimValue = z.union([safeText(1000), z.number(), z.boolean(), z.null()]);

/** What a consumer asks under a grant. */
export const AccessQuery = z.strictObject({
  method: z.literal('query'),
  /** Items wanted; default all granted items. */
  items: z.array(itemCode).min(1).max(500).optional(),
  /** The consumer's own selection, combined (AND) with the grant's row filter; only granted items. */
  where: RowFilter.nullable().default(null),
  limit: z.number().int().min(1).max(1000).default(100),
});
export type AccessQuery = z.infer<typeof AccessQuery>;

/** 核验: does the record of `subject` hold these values? Answered per item with match / no_match. */
export const AccessVerify = z.strictObject({
  method: z.literal('verify'),
  subject: z.strictObject({ item: itemCode, value: safeString().min(1).max(64) }),
  claims: z.record(itemCode, claimValue).refine((c) => Object.keys(c).length >= 1 && Object.keys(c).length <= 50, '1–50 claims'),
});
export type AccessVerify = z.infer<typeof AccessVerify>;

export const AccessRequest = z.strictObject({
  requestId: uuid7,
  grantId: uuid7,
  /** The consumer department's operator (audited at every hop). */
  actor,
  ask: z.discriminatedUnion('method', [AccessQuery, AccessVerify]),
});
export type AccessRequest = z.infer<typeof AccessRequest>;

/**
 * Every item an ask touches — what it reads, filters on, compares or looks up — all of which must be
 * granted (filtering on an ungranted item would reveal it by inference).
 */
export function askedItems(ask: AccessRequest['ask'], grantItems: readonly string[]): string[] {
  if (ask.method === 'query') return [...new Set([...(ask.items ?? grantItems), ...(ask.where?.all.map((c) => c.item) ?? [])])];
  return [...new Set([ask.subject.item, ...Object.keys(ask.claims)])];
}

/** `access.forward`: the hub's routing of an `access.request` to the provider node. */
export const AccessForward = z.strictObject({
  request: AccessRequest,
  grant: SignedGrant,
  consumer: z.strictObject({ nodeId: z.string().regex(NODE_ID_RE), county: countyCode, boxKey: key32 }),
});
export type AccessForward = z.infer<typeof AccessForward>;

/** Plaintext of a query answer, sealed to the consumer. */
export const QueryResult = z.strictObject({
  items: z.array(itemCode),
  rows: z.array(z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]))).max(1000),
  truncated: z.boolean(),
});
export type QueryResult = z.infer<typeof QueryResult>;

export const VERIFY_OUTCOMES = ['match', 'no_match'] as const;
/** Plaintext of a verification answer: never a value, only whether each claim holds. */
export const VerifyResult = z.strictObject({
  found: z.boolean(),
  results: z.record(itemCode, z.enum(VERIFY_OUTCOMES)),
});
export type VerifyResult = z.infer<typeof VerifyResult>;

/** `access.answer`. */
export const AccessAnswer = z.strictObject({
  requestId: uuid7,
  grantId: uuid7,
  /** crypto_box_seal(JSON of QueryResult | VerifyResult, consumer box key). */
  sealed: base64,
  /** `provider`: answered live by the provider node; `hub_package`: from the hub's latest package (provider offline). */
  source: z.enum(['provider', 'hub_package']),
  /** With `hub_package`: the package version and its age when answered. */
  packageVersion: z.number().int().min(0).nullable(),
  packageAgeSeconds: z.number().min(0).nullable(),
});
export type AccessAnswer = z.infer<typeof AccessAnswer>;
