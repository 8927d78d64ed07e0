// Sharing application (共享申请) schemas: what a department submits from its node, the events that move an
// application on, and the view the hub replicates to the nodes involved (R5). The state machine itself is
// hub/sharing/workflow.ts; these are only the shapes that travel.
//
// Cross-field rules live in superRefine checks and are not expressed in the exported JSON Schema:
//   - requested data items are unique (minimum necessary, Jiyuan §7: 最少够用); methods are unique
//   - the period ends after it starts (Jincheng §31: 在授权期限内使用)
//   - refusals and rejections carry a reason and a legal basis (Jincheng §30(2): 应说明理由; Yaohai §14: 说明理由并提供依据)
//   - a granted application has its grant terms; every other state has none
import { z } from 'zod';
import { itemCode, RowFilter } from './row-filter.ts';

export { itemCode, RowFilter };
import { SHARING_ATTRIBUTES } from './catalog-entry.ts';
import { countyCode, entryId } from './identifiers.ts';
import { NODE_ID_RE } from './subjects.ts';
import { safeString } from './text.ts';

// ------------------------------------------------------------------------------- enum lists

/**
 * 使用方式. Jiyuan §33 prefers interfaces and cross-verification over bulk exchange, so `batch`
 * is listed last and a provider may narrow the methods when it approves.
 */
export const APPLICATION_METHODS = ['query', 'verify', 'batch'] as const;
/** States of a sharing application (Jincheng §30, Yaohai §14, Hebi §15–16). */
export const APPLICATION_STATES = ['compliance_review', 'provider_review', 'coordination', 'refused', 'granted', 'rejected', 'withdrawn', 'closed'] as const;
/** States no event leaves. `refused` is not among them: the consumer may still ask for coordination (Jincheng §30(3)). */
/** Who approves an application once it passed (or skipped) the compliance review (per city, `Policy.sharingFlow`). */
export const APPLICATION_APPROVERS = ['provider', 'authority'] as const;
export type ApplicationApprover = (typeof APPLICATION_APPROVERS)[number];
export const TERMINAL_APPLICATION_STATES = ['granted', 'rejected', 'withdrawn', 'closed'] as const;
/** Who acted in a transition: the consumer department, the provider department, the hub data authority, or the system (deadlines). */
export const APPLICATION_PARTIES = ['consumer', 'provider', 'hub', 'system'] as const;
/** Which answer a deadline waits for: the authority's 符合性审查 (Jincheng §30(1)(2)) or the provider's reply (Jincheng §30(2), Yaohai §14, Hebi §15). */
export const DEADLINE_KINDS = ['compliance_review', 'provider_reply'] as const;

export type ApplicationMethod = (typeof APPLICATION_METHODS)[number];
export type ApplicationState = (typeof APPLICATION_STATES)[number];
export type TerminalApplicationState = (typeof TERMINAL_APPLICATION_STATES)[number];
export type ApplicationParty = (typeof APPLICATION_PARTIES)[number];
export type DeadlineKind = (typeof DEADLINE_KINDS)[number];

export const APPLICATION_METHOD_LABELS: Record<ApplicationMethod, string> = {
  query: '查询(接口)',
  verify: '核验(比对)',
  batch: '批量交换',
};
export const APPLICATION_STATE_LABELS: Record<ApplicationState, string> = {
  compliance_review: '符合性审查中',
  provider_review: '提供部门审核中',
  coordination: '协调中',
  refused: '提供部门不予共享',
  granted: '已授权',
  rejected: '未通过符合性审查',
  withdrawn: '已撤回',
  closed: '已关闭',
};
export const APPLICATION_PARTY_LABELS: Record<ApplicationParty, string> = {
  consumer: '使用部门',
  provider: '提供部门',
  hub: '政务数据主管部门',
  system: '系统',
};
export const DEADLINE_KIND_LABELS: Record<DeadlineKind, string> = { compliance_review: '符合性审查', provider_reply: '提供部门答复' };

const enumDoc = (title: string, labels: Record<string, string>): string =>
  `${title} (${Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ')})`;

export function isTerminalState(s: ApplicationState): s is TerminalApplicationState {
  return (TERMINAL_APPLICATION_STATES as readonly string[]).includes(s);
}

// ------------------------------------------------------------------------------ building blocks

type Ctx = z.core.$RefinementCtx<unknown>;
const issue = (ctx: Ctx, path: PropertyKey[], message: string): void => ctx.addIssue({ code: 'custom', path, message });
function uniqueValues(ctx: Ctx, values: readonly unknown[], path: PropertyKey[], what: string): void {
  const seen = new Set<unknown>();
  values.forEach((v, i) => {
    if (seen.has(v)) issue(ctx, [...path, i], `${what}重复 / duplicate ${String(v)}`);
    seen.add(v);
  });
}

/** Same rule as Provider.code in catalog-entry.ts. */
export const departmentCode = z
  .string()
  .regex(/^[0-9A-Za-z][0-9A-Za-z_-]{1,31}$/, '部门代码格式错误 / department code must match ^[0-9A-Za-z][0-9A-Za-z_-]{1,31}$')
  .describe('部门代码 / department code');
/** Free text with at least one non-space character and no lone surrogate (protocol/text.ts). */
const statement = (max: number) => safeString().min(1).max(max).regex(/\S/, '不能为空白 / must not be blank');
const instant = () => z.iso.datetime({ offset: true });

/** Data item codes: at least one, each once (Jiyuan §7: 最少够用, only what the scenario needs). */
export const ItemList = z
  .array(itemCode)
  .min(1)
  .max(500)
  .superRefine((items, ctx) => uniqueValues(ctx as Ctx, items, [], '信息项'))
  .describe('信息项代码列表 / data item codes, non-empty and unique (minimum necessary, Jiyuan §7)');

export const MethodList = z
  .array(z.enum(APPLICATION_METHODS))
  .min(1)
  .max(APPLICATION_METHODS.length)
  .superRefine((m, ctx) => uniqueValues(ctx as Ctx, m, [], '使用方式'))
  .describe(enumDoc('使用方式 / methods of use, non-empty and unique (Jiyuan §33 prefers query and verify over batch)', APPLICATION_METHOD_LABELS));

export const ApplicationPeriod = z
  .strictObject({
    from: instant().describe('起始时间 ISO 8601 / start of use'),
    until: instant().describe('截止时间 ISO 8601 / end of use; granted for at most policy.maxGrantDays (Jincheng §31: 最长三年)'),
  })
  .superRefine((p, ctx) => {
    if (typeof p.from === 'string' && typeof p.until === 'string' && !(Date.parse(p.until) > Date.parse(p.from))) {
      issue(ctx as Ctx, ['until'], '截止时间须晚于起始时间 / until must be after from');
    }
  })
  .describe('使用期限 / period of use');
export type ApplicationPeriod = z.infer<typeof ApplicationPeriod>;

// ------------------------------------------------------------------------------ request

/** 共享申请: sent by the consumer department's node (Jincheng §30(1)(2): 明确使用用途、应用场景; Hebi §15: 共享范围、用途、数据项). */
export const ApplicationRequest = z
  .strictObject({
    resource: entryId.describe('申请的目录条目标识 / catalog entry id of the requested resource'),
    items: ItemList,
    purpose: statement(500).describe('使用用途 / purpose (Jincheng §30(1))'),
    scenario: statement(500).describe('应用场景 / scenario (Jincheng §30(1); Jiyuan §7 场景式共享)'),
    methods: MethodList,
    period: ApplicationPeriod,
  })
  .describe('共享申请 / sharing application submitted by the consumer department');
export type ApplicationRequest = z.infer<typeof ApplicationRequest>;

// ------------------------------------------------------------------------------ events

const reasonAndBasis = {
  reason: statement(2000).describe('理由 / reason'),
  basis: statement(2000).describe('依据(法律法规规章政策) / legal basis'),
};

/**
 * Events that move an application on. Who may send which is checked by the workflow: the hub reviewer
 * for compliance_* and coordination_resolve, the provider department for provider_*, the consumer
 * department for request_coordination and withdraw.
 */
export const ApplicationEvent = z
  .discriminatedUnion('type', [
    z.strictObject({ type: z.literal('compliance_approve'), note: statement(2000).optional().describe('备注 / note') }).describe('符合性审查通过 / compliance review passed (Jincheng §30(1)(2))'),
    z.strictObject({ type: z.literal('compliance_reject'), ...reasonAndBasis }).describe('符合性审查不通过 / compliance review failed, with reason and basis'),
    z
      .strictObject({
        type: z.literal('provider_approve'),
        items: ItemList.optional().describe('同意的信息项(可缩小) / approved items, a subset of the requested ones'),
        methods: MethodList.optional().describe('同意的使用方式(可缩小) / approved methods, a subset of the requested ones'),
        rowFilter: RowFilter.optional(),
        note: statement(2000).optional().describe('答复意见 / reply'),
      })
      .describe('提供部门同意 / the provider agrees (Jincheng §30(2))'),
    z.strictObject({ type: z.literal('provider_refuse'), ...reasonAndBasis }).describe('提供部门不予共享 / the provider refuses, with reason and basis (Jincheng §30(2), Yaohai §14)'),
    z
      .strictObject({ type: z.literal('request_coordination'), reason: statement(2000).optional().describe('确需使用的理由 / why the data is needed') })
      .describe('申请协调 / the consumer asks the authority to coordinate (Jincheng §30(3), Hebi §15–16)'),
    z
      .strictObject({
        type: z.literal('coordination_resolve'),
        outcome: z.enum(['granted', 'closed']).describe('协调结果 / outcome'),
        reason: statement(2000).describe('协调意见 / reason'),
        items: ItemList.optional().describe('授权的信息项(可缩小) / granted items, a subset of the requested ones'),
        methods: MethodList.optional().describe('授权的使用方式(可缩小) / granted methods'),
        rowFilter: RowFilter.optional(),
      })
      .describe('协调结果 / the authority resolves a coordination (Jincheng §30(3), Hebi §15–16)'),
    z.strictObject({ type: z.literal('withdraw'), reason: statement(2000).optional().describe('撤回理由 / reason') }).describe('撤回申请 / the consumer withdraws the application'),
  ])
  .describe('共享申请事件 / an event on a sharing application');
export type ApplicationEvent = z.infer<typeof ApplicationEvent>;
export type ApplicationEventType = ApplicationEvent['type'];

// ------------------------------------------------------------------------------ view

export const ApplicationTransition = z
  .strictObject({
    at: instant().describe('时间 ISO 8601 / time'),
    from: z.enum(APPLICATION_STATES).nullable().describe('原状态(提交时为空) / previous state, null at submission'),
    to: z.enum(APPLICATION_STATES).describe('新状态 / new state'),
    actor: z.string().min(1).max(128).describe('操作人标识(系统为 system) / account id, or system'),
    role: z.enum(APPLICATION_PARTIES).describe(enumDoc('操作方 / acting party', APPLICATION_PARTY_LABELS)),
    reason: statement(2000).optional().describe('理由 / reason'),
    basis: statement(2000).optional().describe('依据 / legal basis'),
  })
  .describe('状态变更记录 / one state transition');
export type ApplicationTransition = z.infer<typeof ApplicationTransition>;

export const ApplicationDeadline = z
  .strictObject({
    due: instant().describe('截止时间 ISO 8601(当日 23:59:59.999 北京时间) / due, end of the last working day in Asia/Shanghai'),
    kind: z.enum(DEADLINE_KINDS).describe(enumDoc('时限类型 / what is awaited', DEADLINE_KIND_LABELS)),
    workingDays: z.number().int().min(0).max(366).describe('时限(工作日) / the period in working days'),
  })
  .describe('当前办理时限 / current deadline');
export type ApplicationDeadline = z.infer<typeof ApplicationDeadline>;

/** What the hub grants: the requested terms, possibly narrowed by the provider, with the period clamped (Jincheng §31). */
export const GrantTerms = z
  .strictObject({
    items: ItemList,
    methods: MethodList,
    rowFilter: RowFilter.nullable(),
    validFrom: instant().describe('授权起始 / grant valid from'),
    validUntil: instant().describe('授权截止 / grant valid until'),
    clamped: z.boolean().describe('期限是否因最长授权期被缩短 / whether until was shortened to the longest grant (Jincheng §31)'),
    silentConsent: z.boolean().describe('是否视同同意 / granted by silent consent (Yaohai §14)'),
  })
  .describe('授权内容 / terms of the grant');
export type GrantTerms = z.infer<typeof GrantTerms>;

/** 共享申请视图: replicated by the hub to the consumer's and the provider's nodes. */
export const ApplicationView = z
  .strictObject({
    id: z.string().min(1).max(128).describe('申请标识 / application id'),
    consumer: z
      .strictObject({
        nodeId: z.string().regex(NODE_ID_RE).describe('提交申请的节点 / node the application came from'),
        county: countyCode.describe('使用部门所属区县 / consumer county'),
        department: departmentCode.describe('使用部门代码 / consumer department'),
      })
      .describe('使用部门 / consumer department'),
    provider: z
      .strictObject({
        county: countyCode.describe('提供部门所属区县 / provider county'),
        department: departmentCode.describe('提供部门代码 / provider department'),
      })
      .describe('提供部门 / provider department'),
    resource: entryId.describe('目录条目标识 / catalog entry id'),
    sharingAttribute: z.enum(SHARING_ATTRIBUTES).describe('申请时的共享属性 / sharing attribute at submission'),
    published: z.boolean().describe('数据是否已在共享交换平台共享 / already shared on the platform: selects the 5- or 10-working-day reply (Jincheng §30(2))'),
    request: ApplicationRequest,
    state: z.enum(APPLICATION_STATES).describe(enumDoc('状态 / state', APPLICATION_STATE_LABELS)),
    history: z.array(ApplicationTransition).min(1).describe('状态变更记录 / transitions, oldest first'),
    deadline: ApplicationDeadline.nullable(),
    overdue: z.boolean().describe('已超过办理时限 / the current deadline has passed'),
    terms: GrantTerms.nullable().describe('授权内容(仅 granted) / grant terms, only when granted'),
    grantId: z.string().min(1).max(128).nullable().describe('授权凭证标识 / id of the signed grant, once issued'),
    approver: z
      .enum(APPLICATION_APPROVERS)
      .optional()
      .describe(
        '审批方 / who approves after the compliance review: `provider` (Jincheng §30(2), Yaohai §14, Hebi §15) or `authority` (unconditional data; Jiaozuo §19(1); a resource authorised to the platform, Jincheng §29). Absent in applications from before issue 11: provider for conditional data, authority otherwise',
      ),
  })
  .superRefine((v, ctx) => {
    // Written defensively, like catalog-entry.ts: may run even when some fields failed.
    const history: ApplicationTransition[] = Array.isArray(v.history) ? v.history : [];
    const last = history[history.length - 1];
    if (last !== undefined && last.to !== v.state) issue(ctx as Ctx, ['state'], '状态应与最后一条变更记录一致 / state must match the last transition');
    if (v.request?.resource !== undefined && v.request.resource !== v.resource) issue(ctx as Ctx, ['request', 'resource'], '申请的资源应与 resource 一致 / request.resource must equal resource');
    if (v.terms !== undefined && (v.state === 'granted') !== (v.terms !== null)) issue(ctx as Ctx, ['terms'], '仅已授权的申请有授权内容 / terms are present iff granted');
    if (v.grantId !== null && v.state !== 'granted') issue(ctx as Ctx, ['grantId'], '仅已授权的申请有授权凭证 / only a granted application has a grant');
    history.forEach((t, i) => {
      if (typeof t === 'object' && t !== null && (t.to === 'refused' || t.to === 'rejected') && (t.reason === undefined || t.basis === undefined)) {
        issue(ctx as Ctx, ['history', i], '不予共享须说明理由和依据 / refusals carry a reason and a basis (Jincheng §30(2))');
      }
    });
  })
  .describe('共享申请视图 / a sharing application as the hub replicates it to the nodes involved');
export type ApplicationView = z.infer<typeof ApplicationView>;
