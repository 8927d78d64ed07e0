/**
 * @module The sharing-application workflow (R5) as pure domain logic: no I/O, no clock, no storage.
 * The hub calls `submit` when an application arrives, `apply` for every decision, and `tick` periodically
 * for deadlines; it persists the returned application and carries out the returned effects (issue a
 * signed grant, notify a party), ideally in the same transaction (outbox).
 *
 *   unconditional:  compliance_review ──approve──▶ granted                      (Jincheng §30(1))
 *   conditional:    compliance_review ──approve──▶ provider_review ─approve──▶ granted
 *                                                                   └refuse──▶ refused  (Jincheng §30(2))
 *                   provider_review ──silence (policy.silentConsent)──▶ granted  (Yaohai §14: 视同同意)
 *   not_shared:     coordination (at submission)                                 (Jincheng §30(3), Hebi §15)
 *   refused ──request_coordination──▶ coordination ──resolve──▶ granted | closed (Jincheng §30(3), Hebi §15–16)
 *   compliance_review ──reject (reason + basis)──▶ rejected
 *   any non-terminal state ──withdraw (consumer)──▶ withdrawn
 *
 * That is Jincheng's flow. Other cities (Policy.sharingFlow, see `submit`): unconditional data granted at
 * submission (Yaohai §14, Jiaozuo §19(1), Hebi §15); conditional applications straight to provider_review
 * (Yaohai §14, Hebi §15) or approved by the authority in compliance_review (Jiaozuo §19(1), and a resource
 * its provider authorised to the platform, Jincheng §29); not-shared data approved by the authority
 * (Jiaozuo §19(1)). `approver` on the application records who approves.
 *
 * Deadlines are counted in working days by a `WorkingCalendar`; their lengths come from the `Policy`.
 * A passed deadline only flags the application `overdue`, except where silent consent applies.
 */
import type { Role } from '../../engine/accounts/roles.ts';
import type { WorkingCalendar } from '../../engine/calendar/calendar.ts';
import { AppError, type FieldIssue } from '../../engine/errors.ts';
import {
  ApplicationEvent,
  ApplicationRequest,
  isTerminalState,
  type ApplicationApprover,
  type ApplicationDeadline,
  type ApplicationMethod,
  type ApplicationParty,
  type ApplicationState,
  type ApplicationTransition,
  type ApplicationView,
  type GrantTerms,
} from '../../protocol/application.ts';
import type { SharingAttribute } from '../../protocol/catalog-entry.ts';
import { countyOfEntry } from '../../protocol/identifiers.ts';
import { filterItems, type RowFilter } from '../../protocol/row-filter.ts';
import type { Policy } from '../../protocol/policy.ts';
import type { z } from 'zod';

/** The workflow's application is exactly what the hub replicates. */
export type Application = ApplicationView;
export type ApplicationEventInput = z.input<typeof ApplicationEvent>;

// ------------------------------------------------------------------------------ errors

export const WORKFLOW_ERROR_CODES = [
  'WORKFLOW_INVALID_REQUEST',
  'WORKFLOW_INVALID_EVENT',
  'WORKFLOW_INVALID_TRANSITION',
  'WORKFLOW_FORBIDDEN',
  'WORKFLOW_REASON_REQUIRED',
  'WORKFLOW_ITEMS_INVALID',
  'WORKFLOW_PERIOD_INVALID',
  'WORKFLOW_GRANT_MISMATCH',
] as const;
export type WorkflowErrorCode = (typeof WORKFLOW_ERROR_CODES)[number];

/** A refused submission or event: a stable code, zh-CN and English messages, field paths. An AppError, so HTTP routes render it as such. */
export class WorkflowError extends AppError {
  declare readonly code: WorkflowErrorCode;
  constructor(code: WorkflowErrorCode, zh: string, en: string, fields: FieldIssue[] = []) {
    super(code, zh, en, fields);
  }
}

// ------------------------------------------------------------------------------ context and effects

/** Who acts. `reviewer` is the hub data authority's reviewer; `dept_operator` acts for its county and department. */
export interface WorkflowActor {
  id: string;
  role: Role | 'system';
  county?: string;
  department?: string;
}

export interface WorkflowContext {
  now: Date;
  policy: Policy;
  calendar: WorkingCalendar;
  actor: WorkflowActor;
}

/** `tick` acts as the system; an actor, if given, is ignored. */
export type TickContext = Omit<WorkflowContext, 'actor'> & { actor?: WorkflowActor };

/** Issue a signed grant with these terms (the caller signs it and records its id with `attachGrant`). */
export interface IssueGrantEffect {
  kind: 'issue_grant';
  applicationId: string;
  consumer: Application['consumer'];
  provider: Application['provider'];
  resource: string;
  items: string[];
  methods: ApplicationMethod[];
  rowFilter: GrantTerms['rowFilter'];
  validFrom: string;
  validUntil: string;
  /** `until` was shortened to validFrom + policy.maxGrantDays (Jincheng §31). */
  clamped: boolean;
  silentConsent: boolean;
}
export interface NotifyEffect {
  kind: 'notify';
  to: 'consumer' | 'provider' | 'hub';
  zh: string;
  en: string;
}
export type WorkflowEffect = IssueGrantEffect | NotifyEffect;

export interface WorkflowResult {
  app: Application;
  effects: WorkflowEffect[];
}

/** The catalog entry as the hub knows it when the application arrives. */
export interface SubmitResource {
  /** Entry id `<county>-<uuid>`: the owning (provider's) county is its prefix. */
  id: string;
  /** Providing department's code (CatalogContent.provider.code). */
  department: string;
  sharingAttribute: SharingAttribute;
  /** Already shared on the platform (Jincheng §30(2): 5 working days) or within duty but not yet (10). */
  published: boolean;
  /** Codes of the entry's data items. */
  items: readonly string[];
  /** The provider authorised the platform for the whole resource (Jincheng §29); honoured where policy.sharingFlow.platformAuthorization. */
  platformAuthorized?: boolean;
}

export interface SubmitInput {
  id: string;
  consumer: { nodeId: string; county: string; department: string };
  resource: SubmitResource;
  /** Validated with `ApplicationRequest`. */
  request: unknown;
}

// ------------------------------------------------------------------------------ helpers

const DAY_MS = 86_400_000;
const SYSTEM: WorkflowActor = { id: 'system', role: 'system' };

const blank = (v: unknown): boolean => typeof v !== 'string' || v.trim() === '';

function zodFields(issues: readonly { path: PropertyKey[]; code: string; message: string }[]): FieldIssue[] {
  return issues.map((i) => ({ path: i.path.map(String).join('.'), code: i.code, message: i.message }));
}

function partyOf(actor: WorkflowActor, app: Application | null): ApplicationParty {
  if (actor.role === 'system') return 'system';
  if (actor.role === 'reviewer') return 'hub';
  if (app !== null && actor.county === app.provider.county && actor.department === app.provider.department) return 'provider';
  return 'consumer';
}

function isDepartment(actor: WorkflowActor, county: string, department: string): boolean {
  return actor.role === 'dept_operator' && actor.county === county && actor.department === department;
}

function requireHub(ctx: WorkflowContext, what: { zh: string; en: string }): void {
  // Jincheng §30(1)(2): the compliance review, and (§30(3), Hebi §15–16) coordination, belong to the data authority.
  if (ctx.actor.role !== 'reviewer') {
    throw new WorkflowError('WORKFLOW_FORBIDDEN', `仅政务数据主管部门审核员可${what.zh}`, `only the data authority's reviewer may ${what.en}`);
  }
}

function requireProvider(app: Application, ctx: WorkflowContext): void {
  if (!isDepartment(ctx.actor, app.provider.county, app.provider.department)) {
    throw new WorkflowError(
      'WORKFLOW_FORBIDDEN',
      `仅提供部门（${app.provider.county} ${app.provider.department}）可答复本申请`,
      `only the provider department (${app.provider.county} ${app.provider.department}) may answer this application`,
    );
  }
}

function requireConsumer(app: Pick<Application, 'consumer'>, ctx: WorkflowContext, what: { zh: string; en: string }): void {
  if (!isDepartment(ctx.actor, app.consumer.county, app.consumer.department)) {
    throw new WorkflowError(
      'WORKFLOW_FORBIDDEN',
      `仅使用部门（${app.consumer.county} ${app.consumer.department}）可${what.zh}`,
      `only the consumer department (${app.consumer.county} ${app.consumer.department}) may ${what.en}`,
    );
  }
}

function requireState(app: Application, allowed: readonly ApplicationState[], event: string): void {
  if (!allowed.includes(app.state)) {
    throw new WorkflowError('WORKFLOW_INVALID_TRANSITION', `申请处于“${app.state}”状态，不能执行 ${event}`, `event ${event} is not allowed in state ${app.state}`);
  }
}

/** The deadline a state starts, from the policy (null: the state waits for no one on a clock). */
function deadlineFor(state: ApplicationState, published: boolean, ctx: Pick<WorkflowContext, 'now' | 'policy' | 'calendar'>): ApplicationDeadline | null {
  let kind: ApplicationDeadline['kind'];
  let workingDays: number;
  if (state === 'compliance_review') {
    kind = 'compliance_review';
    workingDays = ctx.policy.reviewDeadlineWorkingDays; // Jincheng §30(1)(2): 2 个工作日内完成符合性审查
  } else if (state === 'provider_review') {
    kind = 'provider_reply';
    // Jincheng §30(2): 5 working days if already shared on the platform, 10 if not yet; Yaohai §14, Hebi §15: 5.
    workingDays = published ? ctx.policy.providerReplyWorkingDays.published : ctx.policy.providerReplyWorkingDays.unpublished;
  } else {
    return null; // coordination has no deadline in the regulations (Jincheng §30(3), Hebi §16)
  }
  return { due: ctx.calendar.deadlineAfter(ctx.now, workingDays).toISOString(), kind, workingDays };
}

interface TransitionNote {
  reason?: string | undefined;
  basis?: string | undefined;
}

/** `app` moved to `to` by `actor` at ctx.now; a new deadline starts and the overdue flag resets. */
function enter(app: Application, to: ApplicationState, actor: WorkflowActor, ctx: Pick<WorkflowContext, 'now' | 'policy' | 'calendar'>, note: TransitionNote = {}): Application {
  const t: ApplicationTransition = { at: ctx.now.toISOString(), from: app.state, to, actor: actor.id, role: partyOf(actor, app) };
  if (note.reason !== undefined) t.reason = note.reason;
  if (note.basis !== undefined) t.basis = note.basis;
  return { ...app, state: to, history: [...app.history, t], deadline: deadlineFor(to, app.published, ctx), overdue: false };
}

/** When the current state was entered (its deadline runs from then). */
function enteredAt(app: Application): Date {
  const last = app.history[app.history.length - 1];
  return new Date(last?.at ?? 0);
}

const notify = (to: NotifyEffect['to'], zh: string, en: string): NotifyEffect => ({ kind: 'notify', to, zh, en });

/** The provider's notice that `app` (just in provider_review) waits for its answer, with the deadline. */
function askProvider(app: Application): NotifyEffect {
  const days = app.deadline?.workingDays ?? 0;
  return notify(
    'provider',
    `请在 ${days} 个工作日内（${app.deadline?.due}前）答复共享申请 ${app.id}`,
    `please answer sharing application ${app.id} within ${days} working days (by ${app.deadline?.due})`,
  );
}

function subsetOf<T>(sub: readonly T[], whole: readonly T[]): T[] {
  const w = new Set(whole);
  return sub.filter((x) => !w.has(x));
}

/**
 * The grant terms: requested terms narrowed by `narrow`, the period starting no earlier than now and
 * clamped to policy.maxGrantDays (Jincheng §31: 最长授权期为三年，期满后应重新申请).
 */
export function grantTerms(
  request: ApplicationRequest,
  ctx: Pick<WorkflowContext, 'now' | 'policy'>,
  narrow: { items?: string[] | undefined; methods?: ApplicationMethod[] | undefined; rowFilter?: GrantTerms['rowFilter'] | undefined } = {},
  silentConsent = false,
): GrantTerms {
  const from = Math.max(Date.parse(request.period.from), ctx.now.getTime());
  const until = Date.parse(request.period.until);
  const maxUntil = from + ctx.policy.maxGrantDays * DAY_MS;
  const rowFilter = narrow.rowFilter != null && narrow.rowFilter.all.length > 0 ? narrow.rowFilter : null;
  return {
    items: narrow.items ?? [...request.items],
    methods: narrow.methods ?? [...request.methods],
    rowFilter,
    validFrom: new Date(from).toISOString(),
    validUntil: new Date(Math.min(until, maxUntil)).toISOString(),
    clamped: until > maxUntil,
    silentConsent,
  };
}

/** Checks a narrowing against the request (Jiyuan §7: the grant never exceeds what was asked for). */
function checkNarrowing(app: Application, narrow: { items?: string[] | undefined; methods?: ApplicationMethod[] | undefined; rowFilter?: RowFilter | undefined }): void {
  if (narrow.items !== undefined) {
    const extra = subsetOf(narrow.items, app.request.items);
    if (extra.length > 0) {
      throw new WorkflowError('WORKFLOW_ITEMS_INVALID', `授权的信息项须为申请信息项的子集：${extra.join('、')}`, `granted items must be a subset of the requested ones: ${extra.join(', ')}`);
    }
  }
  if (narrow.methods !== undefined) {
    const extra = subsetOf(narrow.methods, app.request.methods);
    if (extra.length > 0) {
      throw new WorkflowError('WORKFLOW_ITEMS_INVALID', `授权的使用方式须为申请方式的子集：${extra.join('、')}`, `granted methods must be a subset of the requested ones: ${extra.join(', ')}`);
    }
  }
  if (narrow.rowFilter !== undefined) {
    const extra = subsetOf(filterItems(narrow.rowFilter), narrow.items ?? app.request.items);
    if (extra.length > 0) {
      throw new WorkflowError('WORKFLOW_ITEMS_INVALID', `行过滤只能引用授权的信息项：${extra.join('、')}`, `the row filter may only use granted items: ${extra.join(', ')}`);
    }
  }
}

/** Moves to granted (or to closed, if the requested period is already over) and asks the caller to issue the grant. */
function grantOrClose(
  app: Application,
  actor: WorkflowActor,
  ctx: Pick<WorkflowContext, 'now' | 'policy' | 'calendar'>,
  terms: GrantTerms,
  note: TransitionNote,
  extra: WorkflowEffect[] = [],
): WorkflowResult {
  if (Date.parse(terms.validUntil) <= Date.parse(terms.validFrom)) {
    const closed = enter(app, 'closed', actor, ctx, { reason: `${note.reason ?? ''}${note.reason ? '；' : ''}申请的使用期限已过 / the requested period has ended` });
    return {
      app: closed,
      effects: [
        notify('consumer', `申请 ${app.id} 的使用期限已过，已关闭，请重新申请`, `application ${app.id} closed: its period has ended; please apply again`),
        notify('hub', `申请 ${app.id} 因使用期限已过而关闭`, `application ${app.id} closed: its period has ended`),
      ],
    };
  }
  const granted: Application = { ...enter(app, 'granted', actor, ctx, note), terms };
  const clampNote = terms.clamped
    ? { zh: `；授权期限按最长授权期缩短至 ${terms.validUntil}（晋城 §31）`, en: `; the period was shortened to ${terms.validUntil}, the longest grant (Jincheng §31)` }
    : { zh: '', en: '' };
  return {
    app: granted,
    effects: [
      {
        kind: 'issue_grant',
        applicationId: app.id,
        consumer: app.consumer,
        provider: app.provider,
        resource: app.resource,
        items: terms.items,
        methods: terms.methods,
        rowFilter: terms.rowFilter,
        validFrom: terms.validFrom,
        validUntil: terms.validUntil,
        clamped: terms.clamped,
        silentConsent: terms.silentConsent,
      },
      notify('consumer', `申请 ${app.id} 已获授权${clampNote.zh}`, `application ${app.id} was granted${clampNote.en}`),
      // Jincheng §30(1): 授权结果同步推送提供部门.
      notify('provider', `申请 ${app.id} 已授权 ${app.consumer.county} ${app.consumer.department} 使用`, `application ${app.id} was granted to ${app.consumer.county} ${app.consumer.department}`),
      ...extra,
    ],
  };
}

// ------------------------------------------------------------------------------ submit

/** Who approves `res` under `policy` once the compliance review passed (Policy.sharingFlow). */
function approverFor(res: SubmitResource, policy: Policy): ApplicationApprover {
  if (res.sharingAttribute === 'unconditional') return 'authority'; // Jincheng §29: 无条件共享的 … 由平台直接授权
  if (res.sharingAttribute === 'not_shared') return 'authority'; // coordination or (Jiaozuo §19(1)) approval: the authority decides
  // Jincheng §29: a provider may authorise the platform for a whole resource (整体授权给市数据共享交换平台).
  if (policy.sharingFlow.platformAuthorization && res.platformAuthorized === true) return 'authority';
  return policy.sharingFlow.conditional === 'authority' ? 'authority' : 'provider'; // Jiaozuo §19(1): 经 … 审核批准后予以使用
}

/** The effective approver of an application (absent in applications replicated before issue 11). */
export function approverOf(app: Application): ApplicationApprover {
  return app.approver ?? (app.sharingAttribute === 'conditional' ? 'provider' : 'authority');
}

/**
 * A new application from the consumer department (Jincheng §30(1)(2): purpose and scenario stated).
 * Where it starts depends on the city's flow (`policy.sharingFlow`):
 *   unconditional: compliance_review (Jincheng §30(1)), or granted at once with purpose and scenario
 *                  recorded (`direct`: Yaohai §14, Jiaozuo §19(1), Hebi §15);
 *   conditional:   compliance_review, then the provider (Jincheng §30(2)); straight to provider_review
 *                  (`provider`: Yaohai §14, Hebi §15); compliance_review where the authority approves
 *                  (`authority`: Jiaozuo §19(1); a resource authorised to the platform, Jincheng §29);
 *   not_shared:    coordination (Jincheng §30(3), Hebi §15), or the authority's approval (Jiaozuo §19(1)).
 * Effects: a grant to issue (direct access) and notices to the parties.
 */
export function submit(input: SubmitInput, ctx: WorkflowContext): WorkflowResult {
  requireConsumer(input, ctx, { zh: '以本部门名义提交申请', en: 'apply on behalf of this department' });
  const parsed = ApplicationRequest.safeParse(input.request);
  if (!parsed.success) {
    const fields = zodFields(parsed.error.issues);
    const itemsBad = parsed.error.issues.some((i) => i.path[0] === 'items');
    const where = fields.map((f) => `${f.path || '(root)'}: ${f.message}`).join('; ');
    throw itemsBad
      ? new WorkflowError('WORKFLOW_ITEMS_INVALID', `申请的信息项无效：${where}`, `invalid requested items: ${where}`, fields)
      : new WorkflowError('WORKFLOW_INVALID_REQUEST', `申请内容无效：${where}`, `invalid application: ${where}`, fields);
  }
  const request = parsed.data;
  const res = input.resource;
  if (request.resource !== res.id) {
    throw new WorkflowError('WORKFLOW_INVALID_REQUEST', `申请的资源 ${request.resource} 与目录条目 ${res.id} 不符`, `requested resource ${request.resource} does not match entry ${res.id}`);
  }
  const providerCounty = countyOfEntry(res.id);
  if (providerCounty === input.consumer.county && res.department === input.consumer.department) {
    throw new WorkflowError('WORKFLOW_INVALID_REQUEST', '不能申请本部门自己的数据', 'a department cannot apply for its own data');
  }
  // Jiyuan §7 最少够用: only items the resource has, named one by one.
  const unknown = subsetOf(request.items, res.items);
  if (unknown.length > 0) {
    throw new WorkflowError(
      'WORKFLOW_ITEMS_INVALID',
      `目录条目中没有这些信息项：${unknown.join('、')}`,
      `the entry has no such data items: ${unknown.join(', ')}`,
      unknown.map((code) => ({ path: 'items', code: 'unknown_item', message: code })),
    );
  }
  if (Date.parse(request.period.until) <= ctx.now.getTime()) {
    throw new WorkflowError('WORKFLOW_PERIOD_INVALID', '使用期限已过', 'the requested period has already ended');
  }

  const flow = ctx.policy.sharingFlow;
  const approver = approverFor(res, ctx.policy);
  let to: ApplicationState = 'compliance_review';
  let reason: string | undefined;
  if (res.sharingAttribute === 'not_shared' && flow.notShared === 'coordination') {
    to = 'coordination';
    reason =
      "不予共享类数据，因履职确需使用的，由政务数据主管部门协调（晋城 §30(3)，鹤壁 §15） / not-shared data needed for official duties goes to the authority's coordination (Jincheng §30(3), Hebi §15)";
  } else if (res.sharingAttribute === 'not_shared') {
    reason = "不予共享类数据经政务数据主管部门审核批准后予以使用（焦作 §19(1)） / not-shared data is used after the authority's approval (Jiaozuo §19(1))";
  } else if (res.sharingAttribute === 'conditional' && approver === 'provider' && flow.conditional === 'provider') {
    to = 'provider_review';
    reason = '有条件共享类数据直接向提供部门提出申请（瑶海 §14，鹤壁 §15） / conditional data is asked of the provider directly (Yaohai §14, Hebi §15)';
  } else if (res.sharingAttribute === 'conditional' && approver === 'authority') {
    reason =
      flow.conditional === 'authority'
        ? "有条件共享类数据经政务数据主管部门审核批准后予以使用（焦作 §19(1)） / conditional data is used after the authority's approval (Jiaozuo §19(1))"
        : '提供部门已将该资源整体授权给共享交换平台（晋城 §29） / the provider authorised the platform for this resource (Jincheng §29)';
  }
  const first: ApplicationTransition = { at: ctx.now.toISOString(), from: null, to, actor: ctx.actor.id, role: 'consumer' };
  if (reason !== undefined) first.reason = reason;
  const app: Application = {
    id: input.id,
    consumer: { ...input.consumer },
    provider: { county: providerCounty, department: res.department },
    resource: res.id,
    sharingAttribute: res.sharingAttribute,
    published: res.published,
    request,
    state: to,
    history: [first],
    deadline: deadlineFor(to, res.published, ctx),
    overdue: false,
    terms: null,
    grantId: null,
    approver,
  };

  if (res.sharingAttribute === 'unconditional' && flow.unconditional === 'direct') {
    // Yaohai §14, Jiaozuo §19(1), Hebi §15: unconditional data is obtained directly, without review; the
    // application records purpose and scenario (every use is logged) and the grant follows at once.
    const direct =
      '无条件共享类数据直接获取，已记录用途和场景（瑶海 §14，焦作 §19(1)，鹤壁 §15） / unconditional data obtained directly, purpose and scenario recorded (Yaohai §14, Jiaozuo §19(1), Hebi §15)';
    const result = grantOrClose({ ...app, deadline: null }, SYSTEM, ctx, grantTerms(request, ctx), { reason: direct });
    // One transition, submitted straight to its outcome: nothing happened in between.
    const last = result.app.history[result.app.history.length - 1]!;
    return { ...result, app: { ...result.app, history: [{ ...first, to: last.to, reason: last.reason ?? direct }] } };
  }
  return { app, effects: to === 'provider_review' ? [askProvider(app)] : [] };
}

// ------------------------------------------------------------------------------ apply

function parseEvent(event: unknown): ApplicationEvent {
  const e = event as Record<string, unknown> | null;
  const type = typeof e === 'object' && e !== null ? e['type'] : undefined;
  // Jincheng §30(2), Yaohai §14: a refusal states its reason and basis; so does a failed compliance review.
  if ((type === 'compliance_reject' || type === 'provider_refuse') && (blank(e?.['reason']) || blank(e?.['basis']))) {
    throw new WorkflowError(
      'WORKFLOW_REASON_REQUIRED',
      '不予通过或不予共享须说明理由和依据（晋城 §30(2)，瑶海 §14）',
      'a refusal or rejection must state its reason and legal basis (Jincheng §30(2), Yaohai §14)',
    );
  }
  if (type === 'coordination_resolve' && blank(e?.['reason'])) {
    throw new WorkflowError('WORKFLOW_REASON_REQUIRED', '协调结果须说明理由', 'a coordination outcome must state its reason');
  }
  const parsed = ApplicationEvent.safeParse(event);
  if (parsed.success) return parsed.data;
  const fields = zodFields(parsed.error.issues);
  const where = fields.map((f) => `${f.path || '(root)'}: ${f.message}`).join('; ');
  const head = parsed.error.issues[0]?.path[0];
  if (head === 'items' || head === 'methods' || head === 'rowFilter') {
    throw new WorkflowError('WORKFLOW_ITEMS_INVALID', `授权的信息项无效：${where}`, `invalid items: ${where}`, fields);
  }
  throw new WorkflowError('WORKFLOW_INVALID_EVENT', `事件无效：${where}`, `invalid event: ${where}`, fields);
}

/**
 * Applies one decision. Checks the event's shape, the actor's role, and that the event is allowed in the
 * current state; throws `WorkflowError` otherwise. Never mutates `app`.
 */
export function apply(app: Application, event: ApplicationEventInput, ctx: WorkflowContext): WorkflowResult {
  const e = parseEvent(event);
  const actor = ctx.actor;
  switch (e.type) {
    case 'compliance_approve': {
      requireHub(ctx, { zh: '完成符合性审查', en: 'complete the compliance review' });
      requireState(app, ['compliance_review'], e.type);
      const note = { reason: e.note };
      if (approverOf(app) === 'authority') {
        // Jincheng §29, §30(1): the platform grants unconditional data (and data authorised to it) directly;
        // Jiaozuo §19(1): conditional and not-shared data after the authority's approval. The provider is informed.
        return grantOrClose(app, actor, ctx, grantTerms(app.request, ctx), note);
      }
      // Jincheng §30(2): 将申请转至提供部门.
      const next = enter(app, 'provider_review', actor, ctx, note);
      return {
        app: next,
        effects: [askProvider(next), notify('consumer', `申请 ${app.id} 已通过符合性审查，已转提供部门`, `application ${app.id} passed the compliance review and went to the provider`)],
      };
    }
    case 'compliance_reject': {
      requireHub(ctx, { zh: '完成符合性审查', en: 'complete the compliance review' });
      requireState(app, ['compliance_review'], e.type);
      const next = enter(app, 'rejected', actor, ctx, { reason: e.reason, basis: e.basis });
      return {
        app: next,
        effects: [notify('consumer', `申请 ${app.id} 未通过符合性审查：${e.reason}（依据：${e.basis}）`, `application ${app.id} failed the compliance review: ${e.reason} (basis: ${e.basis})`)],
      };
    }
    case 'provider_approve': {
      requireProvider(app, ctx);
      requireState(app, ['provider_review'], e.type);
      checkNarrowing(app, e);
      // Jincheng §30(2): 使用部门按照答复意见使用共享数据.
      return grantOrClose(app, actor, ctx, grantTerms(app.request, ctx, e), { reason: e.note }, [notify('hub', `提供部门已同意申请 ${app.id}`, `the provider approved application ${app.id}`)]);
    }
    case 'provider_refuse': {
      requireProvider(app, ctx);
      requireState(app, ['provider_review'], e.type);
      const next = enter(app, 'refused', actor, ctx, { reason: e.reason, basis: e.basis });
      return {
        app: next,
        effects: [
          notify(
            'consumer',
            `提供部门不予共享（申请 ${app.id}）：${e.reason}（依据：${e.basis}）。因履职确需使用的，可申请协调（晋城 §30(3)）`,
            `the provider refused application ${app.id}: ${e.reason} (basis: ${e.basis}). If the data is needed for official duties, coordination may be requested (Jincheng §30(3))`,
          ),
          notify('hub', `提供部门不予共享申请 ${app.id}`, `the provider refused application ${app.id}`),
        ],
      };
    }
    case 'request_coordination': {
      requireConsumer(app, ctx, { zh: '申请协调', en: 'request coordination' });
      requireState(app, ['refused'], e.type);
      // Jincheng §30(3), Hebi §15–16: 协商未果的由政务数据主管部门协调解决.
      const next = enter(app, 'coordination', actor, ctx, { reason: e.reason });
      return {
        app: next,
        effects: [
          notify('hub', `使用部门就申请 ${app.id} 申请协调`, `the consumer requests coordination of application ${app.id}`),
          notify('provider', `申请 ${app.id} 已提交政务数据主管部门协调`, `application ${app.id} went to the data authority for coordination`),
        ],
      };
    }
    case 'coordination_resolve': {
      requireHub(ctx, { zh: '作出协调结果', en: 'resolve a coordination' });
      requireState(app, ['coordination'], e.type);
      if (e.outcome === 'granted') {
        checkNarrowing(app, e);
        return grantOrClose(app, actor, ctx, grantTerms(app.request, ctx, e), { reason: e.reason });
      }
      const next = enter(app, 'closed', actor, ctx, { reason: e.reason });
      return {
        app: next,
        effects: [
          notify('consumer', `申请 ${app.id} 经协调未予共享：${e.reason}`, `application ${app.id} closed after coordination: ${e.reason}`),
          notify('provider', `申请 ${app.id} 经协调已关闭`, `application ${app.id} closed after coordination`),
        ],
      };
    }
    case 'withdraw': {
      requireConsumer(app, ctx, { zh: '撤回申请', en: 'withdraw the application' });
      if (isTerminalState(app.state)) requireState(app, [], e.type);
      const next = enter(app, 'withdrawn', actor, ctx, { reason: e.reason });
      const effects: WorkflowEffect[] = [notify('hub', `使用部门已撤回申请 ${app.id}`, `the consumer withdrew application ${app.id}`)];
      if (app.state !== 'compliance_review') effects.push(notify('provider', `使用部门已撤回申请 ${app.id}`, `the consumer withdrew application ${app.id}`));
      return { app: next, effects };
    }
  }
}

// ------------------------------------------------------------------------------ deadlines

/**
 * Deadline handling, run periodically by the hub. In provider_review with `policy.silentConsent.enabled`,
 * no answer within `afterWorkingDays` of the review starting counts as consent and the application is
 * granted by the system (Yaohai §14: 视同提供部门同意). Otherwise a passed deadline only sets `overdue`
 * (once) and tells the hub. Returns null when nothing changes.
 */
export function tick(app: Application, ctx: TickContext): WorkflowResult | null {
  if (app.state === 'provider_review' && ctx.policy.silentConsent.enabled) {
    const n = ctx.policy.silentConsent.afterWorkingDays;
    const silentDue = ctx.calendar.deadlineAfter(enteredAt(app), n);
    if (ctx.now.getTime() > silentDue.getTime()) {
      const reason = `提供部门超过 ${n} 个工作日未答复也未说明理由，视同同意（瑶海 §14） / no answer within ${n} working days counts as consent (Yaohai §14)`;
      return grantOrClose(app, SYSTEM, ctx, grantTerms(app.request, ctx, {}, true), { reason }, [
        notify('hub', `申请 ${app.id} 因提供部门逾期未答复视同同意`, `application ${app.id} granted by silent consent`),
      ]);
    }
  }
  if (app.deadline === null || app.overdue || ctx.now.getTime() <= Date.parse(app.deadline.due)) return null;
  const late: Application = { ...app, overdue: true };
  const effects: WorkflowEffect[] = [
    notify(
      'hub',
      `申请 ${app.id} 已超过${app.deadline.kind === 'compliance_review' ? '符合性审查' : '提供部门答复'}时限（${app.deadline.workingDays} 个工作日，${app.deadline.due}）`,
      `application ${app.id} is overdue: ${app.deadline.kind} deadline of ${app.deadline.workingDays} working days passed at ${app.deadline.due}`,
    ),
  ];
  if (app.deadline.kind === 'provider_reply') {
    effects.push(notify('provider', `共享申请 ${app.id} 已超过答复时限，请尽快答复`, `sharing application ${app.id} is past its reply deadline; please answer`));
  }
  return { app: late, effects };
}

export interface DeadlineInfo {
  due: string;
  /**
   * Working days after today up to the due date (0: due today). Negative when overdue: minus the working
   * days since the due date (0 if only non-working days have passed).
   */
  workingDaysLeft: number;
  overdue: boolean;
}

/** The current deadline as shown to users, in working days; null when the state has no deadline. */
export function deadlineInfo(app: Application, ctx: Pick<WorkflowContext, 'now' | 'calendar'>): DeadlineInfo | null {
  if (app.deadline === null) return null;
  const due = new Date(app.deadline.due);
  const overdue = ctx.now.getTime() > due.getTime();
  const workingDaysLeft = overdue ? -ctx.calendar.workingDaysBetween(due, ctx.now) : ctx.calendar.workingDaysBetween(ctx.now, due);
  return { due: app.deadline.due, workingDaysLeft: workingDaysLeft === 0 ? 0 : workingDaysLeft, overdue };
}

/** Records the id of the signed grant the caller issued for a granted application. */
export function attachGrant(app: Application, grantId: string): Application {
  if (app.state !== 'granted' || (app.grantId !== null && app.grantId !== grantId)) {
    throw new WorkflowError('WORKFLOW_GRANT_MISMATCH', `申请 ${app.id} 未处于可关联授权凭证的状态`, `application ${app.id} cannot take grant ${grantId}`);
  }
  return { ...app, grantId };
}
