/**
 * @module Cascaded access, the hub's routing decisions (PROTOCOL.md §Sharing), pure: from a verified
 * `access.request`, the grant, the consumer's registration, the latest revocation list and the clock,
 * decide whether the request may go to the provider; and when the provider does not answer, whether the
 * hub's packages may answer it instead. No NATS, no storage: the router (access-router.ts) gathers the
 * state and acts on the decision, the transport (hub/bus/access-transport.ts) moves the bytes.
 */
import { maskedFilterItems } from '../../protocol/desensitization.ts';
import { checkGrantUsable, type SignedGrant, type SignedRevocationList } from '../../protocol/grant.ts';
import { askedItems, type AccessRequest } from '../../protocol/sharing-messages.ts';
import type { ErrorCode } from '../../engine/errors.ts';

/** Request/reply to a provider's node; rejects when nobody answers within `timeoutMs`. */
export interface Forwarder {
  forward(subject: string, bytes: Uint8Array, timeoutMs: number): Promise<Uint8Array>;
}

/** A refusal with its code and both languages of the message (engine/errors.ts AppError). */
export interface Refusal {
  action: 'refuse';
  code: ErrorCode;
  zh: string;
  en: string;
}

/** The consumer's node as the hub forwards it to the provider. */
export interface RoutedConsumer {
  nodeId: string;
  county: string;
  boxKey: string;
}

export type AdmitDecision = { action: 'forward'; grant: SignedGrant; consumer: RoutedConsumer } | Refusal;

export type OfflineDecision = { action: 'fallback' } | Refusal;

/** What the decision looks at; all of it read by the caller at the moment the request arrived. */
export interface AdmitState {
  /** The grant the request names, if the hub issued it. */
  grant: SignedGrant | undefined;
  /** The consumer node's registration (its envelope verified against it). */
  consumer: { county: string; encryptionKey: string | null };
  /** The latest revocation list the hub signed, if any. */
  revocations: SignedRevocationList | null;
  now: Date;
}

/**
 * May this request go to the provider? The hub's own check (defence in depth: the provider decides again,
 * offline-capable): the grant exists, names the requesting department, is usable by the clock and the
 * revocation list for this consumer node, method and items; the consumer has an encryption key.
 */
export function admit(from: string, req: AccessRequest, s: AdmitState): AdmitDecision {
  const signed = s.grant;
  if (!signed) return refuse('GRANT_UNKNOWN', `没有授权 ${req.grantId}`, `no grant ${req.grantId}`);
  if (signed.grant.consumer.department !== req.actor.department) {
    return refuse('GRANT_WRONG_CONSUMER', `授权 ${req.grantId} 不属于部门 ${req.actor.department}`, `grant ${req.grantId} was not issued to department ${req.actor.department}`);
  }
  const usable = checkGrantUsable(signed, { now: s.now, revocations: s.revocations, method: req.ask.method, items: [...askedItems(req.ask, signed.grant.items)], consumerNodeId: from });
  if (!usable.ok) return refuse(usable.code, usable.zh, usable.en);
  if (!s.consumer.encryptionKey) return refuse('CONSUMER_KEY_MISSING', `${from} 没有登记加密公钥`, `${from} has no registered encryption key`);
  return { action: 'forward', grant: signed, consumer: { nodeId: from, county: s.consumer.county, boxKey: s.consumer.encryptionKey } };
}

/**
 * The provider did not answer: a query under a grant that also allows batch may be answered from the
 * hub's packages (unless it filters a desensitized item by prefix or range); anything else is refused.
 */
export function whenOffline(req: AccessRequest, signed: SignedGrant): OfflineDecision {
  const g = signed.grant;
  if (req.ask.method === 'query' && g.methods.includes('batch')) {
    // The provider's rule, applied here too: prefix or range conditions on a desensitized item would
    // recover its value a character at a time (node/sharing/serve.ts FILTER_ITEM_MASKED).
    const masked = maskedFilterItems(req.ask.where, g.desensitization);
    if (masked.length) {
      return refuse(
        'FILTER_ITEM_MASKED',
        `信息项 ${masked.join('、')} 须脱敏，查询条件不得对其使用前缀或范围比较`,
        `data items ${masked.join(', ')} are desensitized: no prefix or range conditions on them`,
      );
    }
    return { action: 'fallback' };
  }
  return providerOffline(signed);
}

/** The refusal when neither the provider nor the hub's packages answered. */
export function providerOffline(signed: SignedGrant): Refusal {
  const county = signed.grant.provider.county;
  return refuse(
    'PROVIDER_OFFLINE',
    `提供方 ${county} 节点离线，且授权不含批量方式或枢纽没有该资源的数据包`,
    `the provider ${county} is offline and the grant does not allow batch or the hub holds no package of the resource`,
  );
}

function refuse(code: ErrorCode, zh: string, en: string): Refusal {
  return { action: 'refuse', code, zh, en };
}
