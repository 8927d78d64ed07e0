/** @module Domain tests of the sharing-application workflow (R5) under every policy preset: pure, fake calendar, injected clock. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { WorkingCalendar } from '../../engine/calendar/calendar.ts';
import { ApplicationEvent, type ApplicationRequest, ApplicationView } from '../../protocol/application.ts';
import { loadPolicy, POLICY_PRESETS, type Policy } from '../../protocol/policy.ts';
import { thrownWithCode } from '../../test/helpers/errors.ts';
import {
  apply,
  attachGrant,
  deadlineInfo,
  submit,
  tick,
  WorkflowError,
  type Application,
  type ApplicationEventInput,
  type IssueGrantEffect,
  type SubmitInput,
  type WorkflowActor,
  type WorkflowContext,
  type WorkflowErrorCode,
  type WorkflowResult,
} from './workflow.ts';

// ------------------------------------------------------------------------------ fake calendar

const DAY_MS = 86_400_000;
/** Civil date in Asia/Shanghai (UTC+8 all year, no DST). */
const civil = (d: Date): string => new Date(d.getTime() + 8 * 3_600_000).toISOString().slice(0, 10);
const nextDate = (date: string): string => new Date(Date.parse(`${date}T00:00:00Z`) + DAY_MS).toISOString().slice(0, 10);
const endOfDay = (date: string): Date => new Date(`${date}T23:59:59.999+08:00`);

/** Weekends off, plus `holidays` off; `workdays` are make-up working days (调休). Same contract as WorkingCalendar. */
function fakeCalendar(holidays: Iterable<string> = [], workdays: Iterable<string> = []): WorkingCalendar {
  const off = new Set(holidays);
  const on = new Set(workdays);
  const isWorkingDay = (date: string): boolean => {
    if (on.has(date)) return true;
    if (off.has(date)) return false;
    const dow = new Date(`${date}T00:00:00Z`).getUTCDay();
    return dow !== 0 && dow !== 6;
  };
  return {
    isWorkingDay,
    deadlineAfter(start, n) {
      let d = civil(start);
      for (let k = 0; k < n; ) {
        d = nextDate(d);
        if (isWorkingDay(d)) k++;
      }
      return endOfDay(d);
    },
    workingDaysBetween(from, to) {
      let d = civil(from);
      const end = civil(to);
      let k = 0;
      while (d < end) {
        d = nextDate(d);
        if (isWorkingDay(d)) k++;
      }
      return k;
    },
  };
}

// 2024-05-02 is a Thursday; the fake calendar makes Monday 2024-05-06 a holiday.
const HOLIDAY = '2024-05-06';
const calendar = fakeCalendar([HOLIDAY]);
const at = (local: string): Date => new Date(`${local}+08:00`);
const SUBMITTED = at('2024-05-02T10:00:00'); // Thursday
const REVIEWED = at('2024-05-07T09:00:00'); // Tuesday, after the weekend and the holiday
/** End of the n-th working day after 2024-05-07 (Wed 8, Thu 9, Fri 10, Mon 13, Tue 14, …, Tue 21). */
const PROVIDER_DUE: Record<number, string> = { 5: '2024-05-14', 10: '2024-05-21' };

// ------------------------------------------------------------------------------ fixtures

const PROVIDER_COUNTY = '410802';
const CONSUMER_COUNTY = '410803';
const ENTRY = `${PROVIDER_COUNTY}-0190c6f2-8a3b-7c4d-9e5f-0123456789ab`;
const ITEMS = ['citizen_id', 'name', 'address', 'birth_date'];

const reviewer: WorkflowActor = { id: 'rev-1', role: 'reviewer' };
const provider: WorkflowActor = { id: 'gaj-op', role: 'dept_operator', county: PROVIDER_COUNTY, department: 'jc-gaj' };
const consumer: WorkflowActor = { id: 'mzj-op', role: 'dept_operator', county: CONSUMER_COUNTY, department: 'jc-mzj' };

function request(over: Partial<ApplicationRequest> = {}): ApplicationRequest {
  return {
    resource: ENTRY,
    items: ['citizen_id', 'name'],
    purpose: '核验低保申请人身份',
    scenario: '最低生活保障审批',
    methods: ['query', 'verify'],
    period: { from: '2024-06-01T00:00:00+08:00', until: '2025-06-01T00:00:00+08:00' },
    ...over,
  };
}

function input(attribute: 'unconditional' | 'conditional' | 'not_shared', published = true, req: unknown = request()): SubmitInput {
  return {
    id: 'app-1',
    consumer: { nodeId: `county-${CONSUMER_COUNTY}`, county: CONSUMER_COUNTY, department: 'jc-mzj' },
    resource: { id: ENTRY, department: 'jc-gaj', sharingAttribute: attribute, published, items: ITEMS },
    request: req,
  };
}

const ctxOf = (policy: Policy, now: Date, actor: WorkflowActor): WorkflowContext => ({ now, policy, calendar, actor });

const failsWith = (fn: () => unknown, code: WorkflowErrorCode): WorkflowError => thrownWithCode(fn, WorkflowError, code);

/** Every application the workflow produces is a valid replicated view. */
function valid(app: Application): Application {
  ApplicationView.parse(app);
  return app;
}
function step(r: WorkflowResult): WorkflowResult {
  valid(r.app);
  return r;
}
const grantOf = (r: WorkflowResult): IssueGrantEffect => {
  const g = r.effects.find((e): e is IssueGrantEffect => e.kind === 'issue_grant');
  assert.ok(g, 'expected an issue_grant effect');
  return g;
};
const notified = (r: WorkflowResult): string[] => r.effects.flatMap((e) => (e.kind === 'notify' ? [e.to] : [])).sort();

/** A conditional application that passed compliance review and waits for the provider. */
function atProvider(policy: Policy, published = true): Application {
  const app = submit(input('conditional', published), ctxOf(policy, SUBMITTED, consumer)).app;
  return step(apply(app, { type: 'compliance_approve' }, ctxOf(policy, REVIEWED, reviewer))).app;
}

// ------------------------------------------------------------------------------ tests

describe('fake calendar', () => {
  it('skips weekends and holidays and counts working days strictly after the start', () => {
    assert.equal(calendar.deadlineAfter(SUBMITTED, 1).toISOString(), endOfDay('2024-05-03').toISOString());
    assert.equal(calendar.deadlineAfter(SUBMITTED, 2).toISOString(), endOfDay('2024-05-07').toISOString());
    assert.equal(fakeCalendar().deadlineAfter(SUBMITTED, 2).toISOString(), endOfDay('2024-05-06').toISOString());
    assert.equal(calendar.workingDaysBetween(SUBMITTED, at('2024-05-07T08:00:00')), 2);
    assert.equal(fakeCalendar([], ['2024-05-04']).deadlineAfter(SUBMITTED, 2).toISOString(), endOfDay('2024-05-04').toISOString());
  });
});

for (const name of Object.keys(POLICY_PRESETS)) {
  describe(`sharing workflow under preset ${name}`, () => {
    // The mechanics of Jincheng's flow (§30) with each preset's deadlines; each city's own flow is tested below.
    const policy: Policy = { ...loadPolicy(name), sharingFlow: { ...POLICY_PRESETS.jincheng.sharingFlow, platformAuthorization: false } };

    it('unconditional: compliance review (deadline across a weekend and a holiday) then a direct grant', () => {
      const app = valid(submit(input('unconditional'), ctxOf(policy, SUBMITTED, consumer)).app);
      assert.equal(app.state, 'compliance_review');
      assert.equal(app.provider.county, PROVIDER_COUNTY);
      assert.deepEqual(
        app.history.map((t) => [t.from, t.to, t.role]),
        [[null, 'compliance_review', 'consumer']],
      );
      // Jincheng §30(1): 2 working days. Thu submission → Fri, (Sat, Sun, holiday Mon) → Tue.
      assert.equal(app.deadline?.kind, 'compliance_review');
      assert.equal(app.deadline?.workingDays, policy.reviewDeadlineWorkingDays);
      assert.equal(app.deadline?.due, calendar.deadlineAfter(SUBMITTED, policy.reviewDeadlineWorkingDays).toISOString());
      if (policy.reviewDeadlineWorkingDays === 2) assert.equal(app.deadline?.due, endOfDay('2024-05-07').toISOString());
      assert.deepEqual(deadlineInfo(app, { now: SUBMITTED, calendar }), { due: app.deadline?.due, workingDaysLeft: 2, overdue: false });
      assert.deepEqual(deadlineInfo(app, { now: at('2024-05-06T12:00:00'), calendar }), { due: app.deadline?.due, workingDaysLeft: 1, overdue: false });
      assert.equal(tick(app, { now: at('2024-05-07T23:59:00'), policy, calendar }), null, 'still on time on the last day');

      const r = step(apply(app, { type: 'compliance_approve' }, ctxOf(policy, REVIEWED, reviewer)));
      assert.equal(r.app.state, 'granted');
      assert.equal(r.app.deadline, null);
      const g = grantOf(r);
      assert.deepEqual(g.items, ['citizen_id', 'name']);
      assert.deepEqual(g.methods, ['query', 'verify']);
      assert.equal(g.rowFilter, null);
      assert.equal(g.clamped, false);
      assert.equal(g.validFrom, new Date('2024-06-01T00:00:00+08:00').toISOString());
      assert.equal(g.validUntil, new Date('2025-06-01T00:00:00+08:00').toISOString());
      // Jincheng §30(1): the result is pushed to the provider too.
      assert.deepEqual(notified(r), ['consumer', 'provider']);
      assert.equal(r.app.terms?.validUntil, g.validUntil);
      const withGrant = valid(attachGrant(r.app, 'grant-1'));
      assert.equal(withGrant.grantId, 'grant-1');
      failsWith(() => apply(r.app, { type: 'withdraw' }, ctxOf(policy, REVIEWED, consumer)), 'WORKFLOW_INVALID_TRANSITION');
      failsWith(() => attachGrant(app, 'grant-1'), 'WORKFLOW_GRANT_MISMATCH');
    });

    it('unconditional: an overdue compliance review is flagged once and nothing else changes', () => {
      const app = submit(input('unconditional'), ctxOf(policy, SUBMITTED, consumer)).app;
      const late = at('2024-05-08T00:00:01');
      const r = tick(app, { now: late, policy, calendar });
      assert.ok(r);
      valid(r.app);
      assert.equal(r.app.overdue, true);
      assert.equal(r.app.state, 'compliance_review');
      assert.equal(r.app.history.length, 1);
      assert.deepEqual(notified(r), ['hub']);
      assert.equal(tick(r.app, { now: late, policy, calendar }), null);
      const info = deadlineInfo(r.app, { now: at('2024-05-09T10:00:00'), calendar });
      assert.deepEqual(info, { due: app.deadline?.due, workingDaysLeft: -2, overdue: true });
      // A late decision is still accepted and resets the flag.
      const done = step(apply(r.app, { type: 'compliance_approve' }, ctxOf(policy, late, reviewer)));
      assert.equal(done.app.overdue, false);
    });

    it('conditional approved: compliance review, provider review with the policy deadline, narrowed grant', () => {
      for (const published of [true, false]) {
        const app = submit(input('conditional', published), ctxOf(policy, SUBMITTED, consumer)).app;
        const r1 = step(apply(app, { type: 'compliance_approve', note: '用途明确' }, ctxOf(policy, REVIEWED, reviewer)));
        assert.equal(r1.app.state, 'provider_review');
        assert.deepEqual(notified(r1), ['consumer', 'provider']);
        const days = published ? policy.providerReplyWorkingDays.published : policy.providerReplyWorkingDays.unpublished;
        assert.equal(r1.app.deadline?.kind, 'provider_reply');
        assert.equal(r1.app.deadline?.workingDays, days);
        const dueDate = PROVIDER_DUE[days];
        assert.ok(dueDate, `fixture has no due date for ${days} days`);
        assert.equal(r1.app.deadline?.due, endOfDay(dueDate).toISOString());
        // Jincheng §30(2): 5 working days when already shared, 10 when not yet published.
        if (name === 'jincheng') assert.equal(days, published ? 5 : 10);
        if (name === 'yaohai' || name === 'hebi') assert.equal(days, 5); // Yaohai §14, Hebi §15

        const r2 = step(
          apply(
            r1.app,
            { type: 'provider_approve', items: ['citizen_id'], methods: ['verify'], rowFilter: { all: [{ item: 'citizen_id', op: 'prefix', value: '410802' }] } },
            ctxOf(policy, at('2024-05-08T15:00:00'), provider),
          ),
        );
        assert.equal(r2.app.state, 'granted');
        assert.deepEqual(
          r2.app.history.map((t) => t.role),
          ['consumer', 'hub', 'provider'],
        );
        const g = grantOf(r2);
        assert.deepEqual([g.items, g.methods, g.rowFilter, g.silentConsent], [['citizen_id'], ['verify'], { all: [{ item: 'citizen_id', op: 'prefix', value: '410802' }] }, false]);
        assert.deepEqual(notified(r2), ['consumer', 'hub', 'provider']);
      }
    });

    it('conditional approved: the provider cannot widen the request', () => {
      const app = atProvider(policy);
      const ctx = ctxOf(policy, at('2024-05-08T15:00:00'), provider);
      failsWith(() => apply(app, { type: 'provider_approve', items: ['citizen_id', 'address'] }, ctx), 'WORKFLOW_ITEMS_INVALID');
      failsWith(() => apply(app, { type: 'provider_approve', methods: ['batch'] }, ctx), 'WORKFLOW_ITEMS_INVALID');
      failsWith(() => apply(app, { type: 'provider_approve', items: [] }, ctx), 'WORKFLOW_ITEMS_INVALID');
      failsWith(() => apply(app, { type: 'provider_approve', items: ['name', 'name'] }, ctx), 'WORKFLOW_ITEMS_INVALID');
      failsWith(() => apply(app, { type: 'provider_approve', items: ['name'], rowFilter: { all: [{ item: 'citizen_id', op: 'eq', value: 'x' }] } }, ctx), 'WORKFLOW_ITEMS_INVALID');
      // Without narrowing, the grant is what was asked for.
      const g = grantOf(apply(app, { type: 'provider_approve' }, ctx));
      assert.deepEqual(g.items, ['citizen_id', 'name']);
    });

    it('conditional refused: reason and basis are required, then coordination may follow', () => {
      const app = atProvider(policy);
      const ctx = ctxOf(policy, at('2024-05-09T11:00:00'), provider);
      // Jincheng §30(2), Yaohai §14: a refusal states reason and basis.
      failsWith(() => apply(app, { type: 'provider_refuse', reason: '涉及个人隐私' } as ApplicationEventInput, ctx), 'WORKFLOW_REASON_REQUIRED');
      failsWith(() => apply(app, { type: 'provider_refuse', basis: '个人信息保护法第十三条' } as ApplicationEventInput, ctx), 'WORKFLOW_REASON_REQUIRED');
      failsWith(() => apply(app, { type: 'provider_refuse', reason: '  ', basis: '个人信息保护法第十三条' }, ctx), 'WORKFLOW_REASON_REQUIRED');
      const r = step(apply(app, { type: 'provider_refuse', reason: '涉及个人隐私', basis: '个人信息保护法第十三条' }, ctx));
      assert.equal(r.app.state, 'refused');
      assert.equal(r.app.deadline, null);
      const last = r.app.history.at(-1);
      assert.deepEqual([last?.reason, last?.basis, last?.role], ['涉及个人隐私', '个人信息保护法第十三条', 'provider']);
      assert.deepEqual(notified(r), ['consumer', 'hub']);
      assert.equal(
        r.effects.some((e) => e.kind === 'issue_grant'),
        false,
      );

      // Jincheng §30(3): refused but needed → the consumer asks the authority to coordinate.
      failsWith(() => apply(r.app, { type: 'request_coordination' }, ctxOf(policy, at('2024-05-10T09:00:00'), provider)), 'WORKFLOW_FORBIDDEN');
      const c = step(apply(r.app, { type: 'request_coordination', reason: '履职确需' }, ctxOf(policy, at('2024-05-10T09:00:00'), consumer)));
      assert.equal(c.app.state, 'coordination');
      assert.deepEqual(notified(c), ['hub', 'provider']);
      failsWith(() => apply(c.app, { type: 'coordination_resolve', outcome: 'granted', reason: ' ' }, ctxOf(policy, at('2024-05-20T09:00:00'), reviewer)), 'WORKFLOW_REASON_REQUIRED');
      failsWith(() => apply(c.app, { type: 'coordination_resolve', outcome: 'granted', reason: '协调同意' }, ctxOf(policy, at('2024-05-20T09:00:00'), provider)), 'WORKFLOW_FORBIDDEN');
      const done = step(apply(c.app, { type: 'coordination_resolve', outcome: 'granted', reason: '协调同意', items: ['citizen_id'] }, ctxOf(policy, at('2024-05-20T09:00:00'), reviewer)));
      assert.equal(done.app.state, 'granted');
      assert.deepEqual(grantOf(done).items, ['citizen_id']);
    });

    it('compliance rejection needs reason and basis and is final', () => {
      const app = submit(input('conditional'), ctxOf(policy, SUBMITTED, consumer)).app;
      const ctx = ctxOf(policy, REVIEWED, reviewer);
      failsWith(() => apply(app, { type: 'compliance_reject', reason: '用途不明确' } as ApplicationEventInput, ctx), 'WORKFLOW_REASON_REQUIRED');
      const r = step(apply(app, { type: 'compliance_reject', reason: '用途不明确', basis: '晋城 §30(2)' }, ctx));
      assert.equal(r.app.state, 'rejected');
      failsWith(() => apply(r.app, { type: 'request_coordination' }, ctxOf(policy, REVIEWED, consumer)), 'WORKFLOW_INVALID_TRANSITION');
      failsWith(() => apply(r.app, { type: 'withdraw' }, ctxOf(policy, REVIEWED, consumer)), 'WORKFLOW_INVALID_TRANSITION');
    });

    it(`silent consent after the provider deadline ${policy.silentConsent.enabled ? 'grants (Yaohai §14)' : 'only flags overdue'}`, () => {
      const app = atProvider(policy);
      assert.equal(app.deadline?.due, endOfDay(PROVIDER_DUE[5]!).toISOString());
      // Before the end of the 5th working day (Tue 14th: the weekend is skipped) nothing happens.
      assert.equal(tick(app, { now: at('2024-05-14T23:59:00'), policy, calendar }), null);
      assert.equal(deadlineInfo(app, { now: at('2024-05-10T09:00:00'), calendar })?.workingDaysLeft, 2);

      const late = at('2024-05-15T00:00:01');
      const r = tick(app, { now: late, policy, calendar });
      assert.ok(r);
      valid(r.app);
      if (name === 'yaohai') {
        assert.equal(policy.silentConsent.enabled, true);
        assert.equal(r.app.state, 'granted');
        const last = r.app.history.at(-1);
        assert.equal(last?.actor, 'system');
        assert.equal(last?.role, 'system');
        assert.match(last?.reason ?? '', /Yaohai §14/);
        assert.match(last?.reason ?? '', /视同同意/);
        const g = grantOf(r);
        assert.equal(g.silentConsent, true);
        assert.deepEqual(g.items, ['citizen_id', 'name']);
        assert.equal(r.app.terms?.silentConsent, true);
        assert.equal(tick(r.app, { now: late, policy, calendar }), null);
      } else {
        assert.equal(policy.silentConsent.enabled, false);
        assert.equal(r.app.state, 'provider_review');
        assert.equal(r.app.overdue, true);
        assert.equal(r.app.history.length, app.history.length);
        assert.equal(
          r.effects.some((e) => e.kind === 'issue_grant'),
          false,
        );
        assert.deepEqual(notified(r), ['hub', 'provider']);
        assert.equal(tick(r.app, { now: at('2024-06-30T00:00:00'), policy, calendar }), null, 'flagged once, never granted');
        assert.equal(deadlineInfo(r.app, { now: at('2024-05-16T10:00:00'), calendar })?.overdue, true);
        // The provider may still answer late.
        const answered = step(apply(r.app, { type: 'provider_approve' }, ctxOf(policy, at('2024-05-16T10:00:00'), provider)));
        assert.equal(answered.app.state, 'granted');
        assert.equal(answered.app.overdue, false);
      }
    });

    it('not_shared goes to coordination at submission, which can grant or close', () => {
      const app = valid(submit(input('not_shared'), ctxOf(policy, SUBMITTED, consumer)).app);
      assert.equal(app.state, 'coordination');
      assert.equal(app.deadline, null);
      assert.match(app.history[0]?.reason ?? '', /Jincheng §30\(3\)/);
      assert.equal(tick(app, { now: at('2025-01-01T00:00:00'), policy, calendar }), null);
      assert.equal(deadlineInfo(app, { now: SUBMITTED, calendar }), null);
      failsWith(() => apply(app, { type: 'compliance_approve' }, ctxOf(policy, REVIEWED, reviewer)), 'WORKFLOW_INVALID_TRANSITION');
      failsWith(() => apply(app, { type: 'provider_approve' }, ctxOf(policy, REVIEWED, provider)), 'WORKFLOW_INVALID_TRANSITION');

      const closed = step(apply(app, { type: 'coordination_resolve', outcome: 'closed', reason: '依法不予共享' }, ctxOf(policy, REVIEWED, reviewer)));
      assert.equal(closed.app.state, 'closed');
      assert.deepEqual(notified(closed), ['consumer', 'provider']);
      const granted = step(apply(app, { type: 'coordination_resolve', outcome: 'granted', reason: '市领导小组协调同意' }, ctxOf(policy, REVIEWED, reviewer)));
      assert.equal(granted.app.state, 'granted');
      assert.deepEqual(grantOf(granted).items, ['citizen_id', 'name']);
    });

    it('role checks: only the hub reviews, only the provider answers, only the consumer applies and withdraws', () => {
      const app = submit(input('conditional'), ctxOf(policy, SUBMITTED, consumer)).app;
      const countyDept: WorkflowActor = { id: 'x', role: 'dept_operator', county: PROVIDER_COUNTY, department: 'jc-gaj' };
      for (const actor of [countyDept, consumer, { id: 'sys', role: 'sysadmin' } as WorkflowActor]) {
        failsWith(() => apply(app, { type: 'compliance_approve' }, ctxOf(policy, REVIEWED, actor)), 'WORKFLOW_FORBIDDEN');
        failsWith(() => apply(app, { type: 'compliance_reject', reason: 'r', basis: 'b' }, ctxOf(policy, REVIEWED, actor)), 'WORKFLOW_FORBIDDEN');
      }
      const pending = atProvider(policy);
      const others: WorkflowActor[] = [
        { id: 'o1', role: 'dept_operator', county: PROVIDER_COUNTY, department: 'jc-other' }, // another department, same county
        { id: 'o2', role: 'dept_operator', county: CONSUMER_COUNTY, department: 'jc-gaj' }, // same code, another county
        { id: 'o3', role: 'dept_reader', county: PROVIDER_COUNTY, department: 'jc-gaj' }, // the provider's read-only account
        consumer,
        reviewer,
      ];
      for (const actor of others) {
        failsWith(() => apply(pending, { type: 'provider_approve' }, ctxOf(policy, REVIEWED, actor)), 'WORKFLOW_FORBIDDEN');
        failsWith(() => apply(pending, { type: 'provider_refuse', reason: 'r', basis: 'b' }, ctxOf(policy, REVIEWED, actor)), 'WORKFLOW_FORBIDDEN');
      }
      failsWith(() => apply(pending, { type: 'withdraw' }, ctxOf(policy, REVIEWED, provider)), 'WORKFLOW_FORBIDDEN');
      failsWith(() => apply(pending, { type: 'withdraw' }, ctxOf(policy, REVIEWED, reviewer)), 'WORKFLOW_FORBIDDEN');
      failsWith(() => submit(input('conditional'), ctxOf(policy, SUBMITTED, provider)), 'WORKFLOW_FORBIDDEN');
      failsWith(() => submit(input('conditional'), ctxOf(policy, SUBMITTED, reviewer)), 'WORKFLOW_FORBIDDEN');
      // Right role, wrong state.
      failsWith(() => apply(app, { type: 'provider_approve' }, ctxOf(policy, REVIEWED, provider)), 'WORKFLOW_INVALID_TRANSITION');
      failsWith(() => apply(pending, { type: 'compliance_approve' }, ctxOf(policy, REVIEWED, reviewer)), 'WORKFLOW_INVALID_TRANSITION');
      failsWith(() => apply(pending, { type: 'request_coordination' }, ctxOf(policy, REVIEWED, consumer)), 'WORKFLOW_INVALID_TRANSITION');
    });

    it(`clamps a 5-year period to maxGrantDays (${policy.maxGrantDays} days, Jincheng §31)`, () => {
      const from = '2024-06-01T00:00:00+08:00';
      const req = request({ period: { from, until: '2029-06-01T00:00:00+08:00' } });
      const app = submit(input('unconditional', true, req), ctxOf(policy, SUBMITTED, consumer)).app;
      assert.equal(app.request.period.until, '2029-06-01T00:00:00+08:00', 'the request keeps what was asked');
      const r = step(apply(app, { type: 'compliance_approve' }, ctxOf(policy, REVIEWED, reviewer)));
      const g = grantOf(r);
      assert.equal(g.clamped, true);
      assert.equal(g.validFrom, new Date(from).toISOString());
      assert.equal(g.validUntil, new Date(Date.parse(from) + policy.maxGrantDays * DAY_MS).toISOString());
      if (policy.maxGrantDays === 1095) assert.equal(g.validUntil, new Date('2027-06-01T00:00:00+08:00').toISOString());
      assert.equal(r.app.terms?.clamped, true);
      assert.ok(r.effects.some((e) => e.kind === 'notify' && e.to === 'consumer' && e.en.includes('Jincheng §31')));

      // A period that started before the grant runs from the grant, still at most maxGrantDays.
      const early = submit(input('unconditional', true, request({ period: { from: '2024-01-01T00:00:00+08:00', until: '2030-01-01T00:00:00+08:00' } })), ctxOf(policy, SUBMITTED, consumer)).app;
      const ge = grantOf(apply(early, { type: 'compliance_approve' }, ctxOf(policy, REVIEWED, reviewer)));
      assert.equal(ge.validFrom, REVIEWED.toISOString());
      assert.equal(ge.validUntil, new Date(REVIEWED.getTime() + policy.maxGrantDays * DAY_MS).toISOString());
    });

    it('withdraw: the consumer may withdraw from every non-terminal state', () => {
      const inReview = submit(input('conditional'), ctxOf(policy, SUBMITTED, consumer)).app;
      const pending = atProvider(policy);
      const refused = apply(pending, { type: 'provider_refuse', reason: 'r', basis: 'b' }, ctxOf(policy, REVIEWED, provider)).app;
      const coordinating = submit(input('not_shared'), ctxOf(policy, SUBMITTED, consumer)).app;
      for (const app of [inReview, pending, refused, coordinating]) {
        const r = step(apply(app, { type: 'withdraw', reason: '需求已变更' }, ctxOf(policy, at('2024-05-08T09:00:00'), consumer)));
        assert.equal(r.app.state, 'withdrawn');
        assert.equal(r.app.deadline, null);
        assert.deepEqual(r.app.history.at(-1)?.from, app.state);
        assert.equal(r.app.history.at(-1)?.role, 'consumer');
        assert.ok(notified(r).includes('hub'));
        failsWith(() => apply(r.app, { type: 'withdraw' }, ctxOf(policy, at('2024-05-08T09:00:00'), consumer)), 'WORKFLOW_INVALID_TRANSITION');
        assert.equal(tick(r.app, { now: at('2025-01-01T00:00:00'), policy, calendar }), null);
      }
    });
  });
}

describe('submission checks', () => {
  const policy = loadPolicy('jincheng');
  const ctx = ctxOf(policy, SUBMITTED, consumer);

  it('requires unique items of the resource (minimum necessary, Jiyuan §7)', () => {
    failsWith(() => submit(input('conditional', true, request({ items: [] })), ctx), 'WORKFLOW_ITEMS_INVALID');
    failsWith(() => submit(input('conditional', true, request({ items: ['name', 'name'] })), ctx), 'WORKFLOW_ITEMS_INVALID');
    const e = failsWith(() => submit(input('conditional', true, request({ items: ['name', 'salary'] })), ctx), 'WORKFLOW_ITEMS_INVALID');
    assert.match(e.en, /salary/);
    assert.match(e.zh, /salary/);
  });

  it('requires purpose, scenario, methods and a sensible period', () => {
    failsWith(() => submit(input('conditional', true, request({ purpose: '' })), ctx), 'WORKFLOW_INVALID_REQUEST');
    failsWith(() => submit(input('conditional', true, request({ scenario: '   ' })), ctx), 'WORKFLOW_INVALID_REQUEST');
    failsWith(() => submit(input('conditional', true, request({ purpose: '用'.repeat(501) })), ctx), 'WORKFLOW_INVALID_REQUEST');
    failsWith(() => submit(input('conditional', true, request({ methods: [] })), ctx), 'WORKFLOW_INVALID_REQUEST');
    failsWith(() => submit(input('conditional', true, { ...request(), methods: ['download'] }), ctx), 'WORKFLOW_INVALID_REQUEST');
    failsWith(() => submit(input('conditional', true, request({ period: { from: '2024-06-01T00:00:00Z', until: '2024-06-01T00:00:00Z' } })), ctx), 'WORKFLOW_INVALID_REQUEST');
    failsWith(() => submit(input('conditional', true, request({ period: { from: '2023-01-01T00:00:00Z', until: '2024-01-01T00:00:00Z' } })), ctx), 'WORKFLOW_PERIOD_INVALID');
    failsWith(() => submit(input('conditional', true, { ...request(), extra: 1 }), ctx), 'WORKFLOW_INVALID_REQUEST');
    failsWith(() => submit(input('conditional', true, request({ resource: `${PROVIDER_COUNTY}-0190c6f2-8a3b-7c4d-9e5f-ffffffffffff` })), ctx), 'WORKFLOW_INVALID_REQUEST');
  });

  it("refuses an application for the department's own data", () => {
    const own = input('conditional');
    own.consumer = { nodeId: `county-${PROVIDER_COUNTY}`, county: PROVIDER_COUNTY, department: 'jc-gaj' };
    failsWith(() => submit(own, ctxOf(policy, SUBMITTED, provider)), 'WORKFLOW_INVALID_REQUEST');
  });

  it('refuses malformed events with stable codes', () => {
    const app = submit(input('conditional'), ctx).app;
    failsWith(() => apply(app, { type: 'approve' } as unknown as ApplicationEventInput, ctxOf(policy, REVIEWED, reviewer)), 'WORKFLOW_INVALID_EVENT');
    failsWith(() => apply(app, { type: 'compliance_approve', extra: true } as ApplicationEventInput, ctxOf(policy, REVIEWED, reviewer)), 'WORKFLOW_INVALID_EVENT');
    const e = failsWith(() => apply(app, { type: 'provider_refuse' } as ApplicationEventInput, ctxOf(policy, REVIEWED, provider)), 'WORKFLOW_REASON_REQUIRED');
    assert.match(e.zh, /理由和依据/);
    assert.match(e.en, /Jincheng §30\(2\)/);
  });

  it('does not mutate its input', () => {
    const app = submit(input('conditional'), ctx).app;
    const before = structuredClone(app);
    apply(app, { type: 'compliance_approve' }, ctxOf(policy, REVIEWED, reviewer));
    tick(app, { now: at('2024-06-01T00:00:00'), policy, calendar });
    assert.deepEqual(app, before);
  });

  it('a policy override of silent consent applies to any city (afterWorkingDays counted from the provider review)', () => {
    const p = loadPolicy('jiyuan', { silentConsent: { enabled: true, afterWorkingDays: 3 } });
    const app = atProvider(p);
    assert.equal(tick(app, { now: at('2024-05-10T23:00:00'), policy: p, calendar }), null); // Wed, Thu, Fri: due end of Fri 10th
    const r = tick(app, { now: at('2024-05-11T08:00:00'), policy: p, calendar });
    assert.equal(r?.app.state, 'granted');
  });

  it('a grant decided after the requested period ended closes the application instead', () => {
    const req = request({ period: { from: '2024-05-02T00:00:00+08:00', until: '2024-05-05T00:00:00+08:00' } });
    const app = submit(input('unconditional', true, req), ctx).app;
    const r = step(apply(app, { type: 'compliance_approve' }, ctxOf(policy, REVIEWED, reviewer)));
    assert.equal(r.app.state, 'closed');
    assert.equal(
      r.effects.some((e) => e.kind === 'issue_grant'),
      false,
    );
  });

  it('the event schema is the wire contract', () => {
    assert.equal(ApplicationEvent.safeParse({ type: 'provider_refuse', reason: 'r' }).success, false);
    assert.equal(ApplicationEvent.safeParse({ type: 'coordination_resolve', outcome: 'granted', reason: 'r' }).success, true);
  });
});

describe('sharing flows per city (Policy.sharingFlow)', () => {
  const withResource = (attribute: 'unconditional' | 'conditional' | 'not_shared', over: Partial<SubmitInput['resource']> = {}): SubmitInput => {
    const base = input(attribute);
    return { ...base, resource: { ...base.resource, ...over } };
  };

  for (const name of ['yaohai', 'jiaozuo', 'hebi'] as const) {
    it(`${name}: unconditional data is obtained directly, without review, purpose and scenario recorded (Yaohai §14, Jiaozuo §19(1), Hebi §15)`, () => {
      const r = step(submit(input('unconditional'), ctxOf(loadPolicy(name), SUBMITTED, consumer)));
      assert.equal(r.app.state, 'granted');
      assert.equal(r.app.history.length, 1, 'submitted straight to granted: no review step');
      assert.equal(r.app.history[0]?.from, null);
      assert.match(r.app.history[0]?.reason ?? '', /直接获取/);
      assert.equal(r.app.request.purpose, '核验低保申请人身份');
      assert.equal(r.app.request.scenario, '最低生活保障审批');
      assert.deepEqual(grantOf(r).items, ['citizen_id', 'name']);
      assert.deepEqual(notified(r), ['consumer', 'provider']);
    });
  }

  it('jincheng and jiyuan: unconditional data passes the compliance review first (Jincheng §30(1))', () => {
    for (const name of ['jincheng', 'jiyuan']) {
      const r = step(submit(input('unconditional'), ctxOf(loadPolicy(name), SUBMITTED, consumer)));
      assert.equal(r.app.state, 'compliance_review');
      assert.equal(r.effects.length, 0);
    }
  });

  it('yaohai: a conditional request goes straight to the provider, 5 working days, silence is consent (Yaohai §14)', () => {
    const policy = loadPolicy('yaohai');
    const r = step(submit(input('conditional'), ctxOf(policy, SUBMITTED, consumer)));
    assert.equal(r.app.state, 'provider_review');
    assert.equal(r.app.approver, 'provider');
    assert.equal(r.app.deadline?.kind, 'provider_reply');
    assert.equal(r.app.deadline?.workingDays, 5);
    // Thursday 2 May + 5 working days (Fri 3, Tue 7 after the holiday Monday, Wed 8, Thu 9, Fri 10).
    assert.equal(r.app.deadline?.due, endOfDay('2024-05-10').toISOString());
    assert.deepEqual(notified(r), ['provider']);
    assert.equal(tick(r.app, { now: at('2024-05-10T23:00:00'), policy, calendar }), null, 'still within 5 working days');
    const silent = tick(r.app, { now: at('2024-05-13T09:00:00'), policy, calendar });
    assert.ok(silent);
    assert.equal(silent.app.state, 'granted');
    assert.equal(grantOf(silent).silentConsent, true);
  });

  it('hebi: a conditional request goes to the provider (5 working days) and silence is not consent (Hebi §15)', () => {
    const policy = loadPolicy('hebi');
    const r = step(submit(input('conditional'), ctxOf(policy, SUBMITTED, consumer)));
    assert.equal(r.app.state, 'provider_review');
    assert.equal(r.app.deadline?.workingDays, 5);
    const late = tick(r.app, { now: at('2024-05-13T09:00:00'), policy, calendar });
    assert.equal(late?.app.state, 'provider_review');
    assert.equal(late?.app.overdue, true);
    // The reviewer may not approve in the provider's place.
    failsWith(() => apply(r.app, { type: 'compliance_approve' }, ctxOf(policy, REVIEWED, reviewer)), 'WORKFLOW_INVALID_TRANSITION');
  });

  it('jiaozuo: the authority approves conditional and not-shared data (Jiaozuo §19(1))', () => {
    const policy = loadPolicy('jiaozuo');
    for (const attribute of ['conditional', 'not_shared'] as const) {
      const app = step(submit(input(attribute), ctxOf(policy, SUBMITTED, consumer))).app;
      assert.equal(app.state, 'compliance_review', attribute);
      assert.equal(app.approver, 'authority');
      assert.match(app.history[0]?.reason ?? '', /焦作 §19\(1\)/);
      // The provider has no say here, the reviewer's approval grants.
      failsWith(() => apply(app, { type: 'provider_approve' }, ctxOf(policy, REVIEWED, provider)), 'WORKFLOW_INVALID_TRANSITION');
      const granted = step(apply(app, { type: 'compliance_approve' }, ctxOf(policy, REVIEWED, reviewer)));
      assert.equal(granted.app.state, 'granted', attribute);
      assert.deepEqual(grantOf(granted).items, ['citizen_id', 'name']);
    }
  });

  it('jincheng: a resource its provider authorised to the platform is granted by the authority (Jincheng §29)', () => {
    const policy = loadPolicy('jincheng');
    const app = step(submit(withResource('conditional', { platformAuthorized: true }), ctxOf(policy, SUBMITTED, consumer))).app;
    assert.equal(app.approver, 'authority');
    assert.match(app.history[0]?.reason ?? '', /晋城 §29/);
    assert.equal(step(apply(app, { type: 'compliance_approve' }, ctxOf(policy, REVIEWED, reviewer))).app.state, 'granted');
    // Without the authorisation, the provider answers (Jincheng §30(2)).
    const plain = submit(input('conditional'), ctxOf(policy, SUBMITTED, consumer)).app;
    assert.equal(step(apply(plain, { type: 'compliance_approve' }, ctxOf(policy, REVIEWED, reviewer))).app.state, 'provider_review');
    // Cities without §29 ignore the flag: Hebi's provider still answers.
    assert.equal(submit(withResource('conditional', { platformAuthorized: true }), ctxOf(loadPolicy('hebi'), SUBMITTED, consumer)).app.approver, 'provider');
  });

  it('applications replicated before issue 11 (no approver) keep their meaning', () => {
    const policy = loadPolicy('jincheng');
    const { approver: _drop, ...old } = submit(input('conditional'), ctxOf(policy, SUBMITTED, consumer)).app;
    valid(old as Application);
    assert.equal(step(apply(old as Application, { type: 'compliance_approve' }, ctxOf(policy, REVIEWED, reviewer))).app.state, 'provider_review');
  });
});
