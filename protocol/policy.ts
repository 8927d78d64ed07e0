/**
 * @module Regulation rules as policy: one zod-validated `Policy` and a named preset per regulation in
 * /work/shared/seeds (DOMAIN.md). Code reads deadlines and retention from a Policy, never from constants.
 *
 * Day counts for calendar periods are chosen so the rule is never broken whatever the start date:
 * a minimum ("不得少于 6 个月") takes the longest such period (6 months ≤ 184 days, 3 years ≤ 1096),
 * a maximum ("最长三年") the shortest (3 years ≥ 1095 days).
 * Where a regulation says nothing, the preset takes the documented default and says so in a comment.
 */
import { z } from 'zod';

const days = () => z.number().int().min(1).max(36_600);

/** Calendar days of the longest 6-month period (e.g. 1 Jul → 1 Jan): a 6-month minimum is met by keeping 184 days. */
export const SIX_MONTHS_MIN_DAYS = 184;
/** Calendar days of the longest 3-year period (one leap day): a 3-year minimum is met by 1096 days. */
export const THREE_YEARS_MIN_DAYS = 1096;
/** Calendar days of the shortest 3-year period: a 3-year maximum is respected by 1095 days. */
export const THREE_YEARS_MAX_DAYS = 1095;
/** Calendar days of the longest 3-month period (Jul–Sep): "more than three months" has surely passed after 92 days. */
export const THREE_MONTHS_MIN_DAYS = 92;

export const Policy = z
  .object({
    /** Preset name this policy started from. */
    name: z.string().min(1).max(64),
    /** Audit-log retention (R7): records are kept at least this many days, then exported and purged. */
    auditRetentionDays: days(),
    /** Data authority's compliance review of a sharing application (R5), working days. */
    reviewDeadlineWorkingDays: days(),
    /** Provider's answer to a conditional application (R5), working days: data already published / within duty but unpublished. */
    providerReplyWorkingDays: z.object({ published: days(), unpublished: days() }).strict(),
    /** Whether a provider's silence counts as consent (R5), and after how many working days. */
    silentConsent: z.object({ enabled: z.boolean(), afterWorkingDays: days() }).strict(),
    /** Longest grant, calendar days (R5); a grant must be re-applied for afterwards. */
    maxGrantDays: days(),
    /** A grant unused for this many calendar days may be revoked (R5). */
    revokeUnusedAfterDays: days(),
    /** Corrections (R6), working days. `correctWorkingDays` null: no separate deadline for the fix itself. */
    correction: z
      .object({
        verifyWorkingDays: days(),
        extensionWorkingDays: z.number().int().min(0).max(366),
        correctWorkingDays: days().nullable(),
      })
      .strict(),
    /** Catalog update after a law or duty change, and the authority's review of it (R1), working days. */
    catalog: z.object({ updateWorkingDays: days(), reviewWorkingDays: days() }).strict(),
    /** Who decides a sharing application, per sharing attribute (R5); see `SharingFlow`. */
    sharingFlow: z
      .object({
        /** `compliance_review`: the authority checks first (Jincheng §30(1)); `direct`: granted at once, purpose and scenario recorded (Yaohai §14, Jiaozuo §19(1), Hebi §15). */
        unconditional: z.enum(['compliance_review', 'direct']),
        /** `authority_then_provider` (Jincheng §30(2)); `provider`: straight to the provider (Yaohai §14, Hebi §15); `authority`: the authority approves (Jiaozuo §19(1)). */
        conditional: z.enum(['authority_then_provider', 'provider', 'authority']),
        /** `coordination`: negotiation, then the authority coordinates (Jincheng §30(3), Hebi §15–16); `authority`: the authority approves (Jiaozuo §19(1)). */
        notShared: z.enum(['coordination', 'authority']),
        /** A provider may authorise the platform for a whole conditional resource (Jincheng §29: 整体授权给市数据共享交换平台). */
        platformAuthorization: z.boolean(),
        /** Thematic resources may not be catalogued as not shared (Yaohai §13: 主题 … 应当 … 实现无条件共享或有条件共享). */
        thematicMustBeShared: z.boolean(),
      })
      .strict(),
    /** Update-cycle monitoring (Jincheng §18, §41(3)): calendar days of grace after a cycle ends before a resource counts as stale. */
    updateCycleGraceDays: z.number().int().min(0).max(366),
  })
  .strict();
export type Policy = z.infer<typeof Policy>;

/**
 * Documented defaults for what a regulation does not regulate. The sharing workflow borrows Jincheng's
 * numbers (the most detailed text, §30–31); log retention follows 网络安全法 (Cybersecurity Law) §21(3),
 * "留存相关的网络日志不少于六个月" — not in the seed texts; confirm with the data authority.
 */
const DEFAULTS = {
  auditRetentionDays: SIX_MONTHS_MIN_DAYS,
  reviewDeadlineWorkingDays: 2,
  providerReplyWorkingDays: { published: 5, unpublished: 10 },
  silentConsent: { enabled: false, afterWorkingDays: 5 },
  maxGrantDays: THREE_YEARS_MAX_DAYS,
  revokeUnusedAfterDays: THREE_MONTHS_MIN_DAYS,
  // Jincheng §30 (the most detailed flow) where a regulation describes none.
  sharingFlow: { unconditional: 'compliance_review', conditional: 'authority_then_provider', notShared: 'coordination', platformAuthorization: false, thematicMustBeShared: false },
  // Not stated anywhere: one day's grace, so a daily resource imported late in the day is not flagged at midnight.
  updateCycleGraceDays: 1,
} as const;

/** 晋城市政务数据资源共享管理实施细则 (2024), seeds/002. */
const jincheng: Policy = {
  name: 'jincheng',
  // §38 requires 日志审计 / 全流程审计 but states no retention period: default (Cybersecurity Law §21(3)).
  auditRetentionDays: DEFAULTS.auditRetentionDays,
  reviewDeadlineWorkingDays: 2, // §30(1), §30(2): 符合性审查 within 2 working days
  providerReplyWorkingDays: { published: 5, unpublished: 10 }, // §30(2)
  silentConsent: { enabled: false, afterWorkingDays: 5 }, // §30 has no silent consent; refusals carry reasons
  maxGrantDays: THREE_YEARS_MAX_DAYS, // §31: 最长授权期为三年
  revokeUnusedAfterDays: THREE_MONTHS_MIN_DAYS, // §31: 超过三个月不使用的 … 可视情收回授权
  correction: { verifyWorkingDays: 5, extensionWorkingDays: 0, correctWorkingDays: 5 }, // §32: 5 个工作日内予以校核更正
  catalog: { updateWorkingDays: 15, reviewWorkingDays: 5 }, // §12: 15; review days not stated (§13) → default 5 as Jiyuan §19/Hebi §10
  // §30(1) compliance review of unconditional data; §30(2) authority then provider; §30(3) coordination; §29 整体授权.
  sharingFlow: { unconditional: 'compliance_review', conditional: 'authority_then_provider', notShared: 'coordination', platformAuthorization: true, thematicMustBeShared: false },
  updateCycleGraceDays: DEFAULTS.updateCycleGraceDays, // §18 requires updates per cycle; no grace stated
};

/** 合肥市瑶海区政务数据资源共享开放管理办法 (2024), seeds/003. */
const yaohai: Policy = {
  name: 'yaohai',
  // No log-retention article (§18–21 cover security only): default (Cybersecurity Law §21(3)).
  auditRetentionDays: DEFAULTS.auditRetentionDays,
  reviewDeadlineWorkingDays: DEFAULTS.reviewDeadlineWorkingDays, // not stated: §14 sends applications straight to the provider
  // §14: provider answers within 5 working days of accepting; no published/unpublished distinction.
  providerReplyWorkingDays: { published: 5, unpublished: 5 },
  silentConsent: { enabled: true, afterWorkingDays: 5 }, // §14: 超过5个工作日不答复也不说明理由的，视同提供部门同意
  maxGrantDays: DEFAULTS.maxGrantDays, // not stated: default (Jincheng §31)
  revokeUnusedAfterDays: DEFAULTS.revokeUnusedAfterDays, // not stated: default (Jincheng §31)
  correction: { verifyWorkingDays: 10, extensionWorkingDays: 0, correctWorkingDays: null }, // §10: 10 个工作日内完成校核并反馈
  catalog: { updateWorkingDays: 10, reviewWorkingDays: 5 }, // §10: 10; review not stated → default 5
  // §14: unconditional data obtained directly; conditional requests go to the provider; §13 thematic data shared.
  sharingFlow: { unconditional: 'direct', conditional: 'provider', notShared: 'coordination', platformAuthorization: false, thematicMustBeShared: true },
  updateCycleGraceDays: DEFAULTS.updateCycleGraceDays,
};

/** 济源示范区政务数据共享管理暂行办法 (2022), seeds/000. */
const jiyuan: Policy = {
  name: 'jiyuan',
  // §28: 日志记录保存时间不得少于 6 个月 → the longest 6-month span, 184 days.
  auditRetentionDays: SIX_MONTHS_MIN_DAYS,
  reviewDeadlineWorkingDays: DEFAULTS.reviewDeadlineWorkingDays, // not stated (§9 only requires the platform): default
  providerReplyWorkingDays: DEFAULTS.providerReplyWorkingDays, // not stated: default (Jincheng §30(2))
  silentConsent: DEFAULTS.silentConsent, // not stated: no silent consent
  maxGrantDays: DEFAULTS.maxGrantDays, // not stated: default (Jincheng §31)
  revokeUnusedAfterDays: DEFAULTS.revokeUnusedAfterDays, // not stated: default (Jincheng §31)
  // §24: 5 个工作日内核实问题并作出是否更正的决定; 作出决定起 10 个工作日内 … 更正
  correction: { verifyWorkingDays: 5, extensionWorkingDays: 0, correctWorkingDays: 10 },
  catalog: { updateWorkingDays: 5, reviewWorkingDays: 5 }, // §19
  sharingFlow: DEFAULTS.sharingFlow, // no application procedure stated: default (Jincheng §30)
  updateCycleGraceDays: DEFAULTS.updateCycleGraceDays,
};

/** 鹤壁市政务数据管理办法（试行） (2021), seeds/004. */
const hebi: Policy = {
  name: 'hebi',
  // §13: 日志记录保存时间不得少于 3 年 → the longest 3-year span, 1096 days.
  auditRetentionDays: THREE_YEARS_MIN_DAYS,
  reviewDeadlineWorkingDays: DEFAULTS.reviewDeadlineWorkingDays, // not stated (§15 goes to the provider): default
  // §15: 提供部门应在 5 个工作日内予以答复; no published/unpublished distinction.
  providerReplyWorkingDays: { published: 5, unpublished: 5 },
  silentConsent: DEFAULTS.silentConsent, // §15–16: refusal leads to negotiation, silence is not consent
  maxGrantDays: DEFAULTS.maxGrantDays, // not stated: default (Jincheng §31)
  revokeUnusedAfterDays: DEFAULTS.revokeUnusedAfterDays, // not stated: default (Jincheng §31)
  // §13: 10 个工作日内予以校核, extension ≤ 10 with the head's approval, filed with the authority.
  correction: { verifyWorkingDays: 10, extensionWorkingDays: 10, correctWorkingDays: null },
  catalog: { updateWorkingDays: 10, reviewWorkingDays: 5 }, // §10
  // §15: unconditional data obtained through the platform directly; conditional → provider (5 working days); not shared → negotiation, coordination (§15–16).
  sharingFlow: { unconditional: 'direct', conditional: 'provider', notShared: 'coordination', platformAuthorization: false, thematicMustBeShared: false },
  updateCycleGraceDays: DEFAULTS.updateCycleGraceDays,
};

/** 焦作市政务数据资源管理暂行办法 (2020), seeds/001 (second part). */
const jiaozuo: Policy = {
  name: 'jiaozuo',
  // No log-retention article (§17(4) asks for full-process authorization management only): default.
  auditRetentionDays: DEFAULTS.auditRetentionDays,
  // §19(1): the authority reviews conditional applications but no deadline is stated: default.
  reviewDeadlineWorkingDays: DEFAULTS.reviewDeadlineWorkingDays,
  providerReplyWorkingDays: DEFAULTS.providerReplyWorkingDays, // not stated: default (Jincheng §30(2))
  silentConsent: DEFAULTS.silentConsent, // not stated: no silent consent
  maxGrantDays: DEFAULTS.maxGrantDays, // not stated: default (Jincheng §31)
  revokeUnusedAfterDays: DEFAULTS.revokeUnusedAfterDays, // not stated: default (Jincheng §31)
  // §14: 10 个工作日内予以校核, extension ≤ 10 with the head's approval.
  correction: { verifyWorkingDays: 10, extensionWorkingDays: 10, correctWorkingDays: null },
  catalog: { updateWorkingDays: 10, reviewWorkingDays: 5 }, // §10
  // §19(1): unconditional data obtained directly; conditional and not-shared data used after the authority's approval.
  sharingFlow: { unconditional: 'direct', conditional: 'authority', notShared: 'authority', platformAuthorization: false, thematicMustBeShared: false },
  updateCycleGraceDays: DEFAULTS.updateCycleGraceDays,
};

/** The named presets, one per regulation. */
export const POLICY_PRESETS = { jincheng, yaohai, jiyuan, hebi, jiaozuo } as const satisfies Record<string, Policy>;
export type PolicyPresetName = keyof typeof POLICY_PRESETS;

/** Overrides: any subset of a Policy, nested objects partial too; unknown keys are refused (a typo must not pass silently). */
export const PolicyOverrides = z
  .object({
    auditRetentionDays: days(),
    reviewDeadlineWorkingDays: days(),
    providerReplyWorkingDays: z.object({ published: days(), unpublished: days() }).partial().strict(),
    silentConsent: z.object({ enabled: z.boolean(), afterWorkingDays: days() }).partial().strict(),
    maxGrantDays: days(),
    revokeUnusedAfterDays: days(),
    correction: z
      .object({ verifyWorkingDays: days(), extensionWorkingDays: z.number().int().min(0).max(366), correctWorkingDays: days().nullable() })
      .partial()
      .strict(),
    catalog: z.object({ updateWorkingDays: days(), reviewWorkingDays: days() }).partial().strict(),
    sharingFlow: Policy.shape.sharingFlow.partial().strict(),
    updateCycleGraceDays: z.number().int().min(0).max(366),
  })
  .partial()
  .strict();
export type PolicyOverrides = z.infer<typeof PolicyOverrides>;

/** Thrown for an unknown preset or invalid overrides; message in zh-CN and English. */
export class PolicyError extends Error {
  override readonly name = 'PolicyError';
  constructor(
    readonly zh: string,
    readonly en: string,
  ) {
    super(`${zh} / ${en}`);
  }
}

/**
 * The preset `name` with `overrides` applied and validated. Overrides may lengthen audit retention but
 * not shorten it below the preset: the regulations set a minimum ("不得少于"), not a default.
 */
export function loadPolicy(name: string, overrides?: unknown): Policy {
  if (!Object.hasOwn(POLICY_PRESETS, name)) {
    throw new PolicyError(`未知的政策预设 ${name}（可选：${Object.keys(POLICY_PRESETS).join('、')}）`, `unknown policy preset ${name} (known: ${Object.keys(POLICY_PRESETS).join(', ')})`);
  }
  const preset: Policy = POLICY_PRESETS[name as PolicyPresetName];
  if (overrides === undefined) return structuredClone(preset);
  const parsed = PolicyOverrides.safeParse(overrides);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new PolicyError(`政策覆盖项无效：${where}`, `invalid policy overrides: ${where}`);
  }
  const o = parsed.data;
  const merged = Policy.parse({
    ...preset,
    ...o,
    providerReplyWorkingDays: { ...preset.providerReplyWorkingDays, ...o.providerReplyWorkingDays },
    silentConsent: { ...preset.silentConsent, ...o.silentConsent },
    correction: { ...preset.correction, ...o.correction },
    catalog: { ...preset.catalog, ...o.catalog },
    sharingFlow: { ...preset.sharingFlow, ...o.sharingFlow },
  });
  if (merged.auditRetentionDays < preset.auditRetentionDays) {
    throw new PolicyError(`审计日志保存期不得短于预设 ${name} 的 ${preset.auditRetentionDays} 天`, `audit retention may not be shorter than preset ${name}'s ${preset.auditRetentionDays} days`);
  }
  return merged;
}
