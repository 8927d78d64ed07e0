// Catalog entry (政务数据资源目录条目) schemas, split by owner: content (county node), review (municipal hub), view (API).
//
// Entries are replicated as Yjs maps with separate ownership: the providing department's node
// writes `content`, the municipal hub writes `review`. Cross-field rules live in superRefine
// checks; the exported JSON Schema cannot express them. Each has a stable id, normative in
// PROTOCOL.md §7.4 (CE-*), §7.5 (CR-*) and §7.7 (CV-*), listed in `CATALOG_RULES` below; every
// issue a rule reports carries the id as `params.rule` and as the message prefix `[CE-5] `, so a
// refusal names the rule it broke.
import { z } from 'zod';
import { creditCodeSchema } from './ids.ts';
import { ENTRY_ID_RE } from './identifiers.ts';
import { ADMIN_CODE_RE } from './subjects.ts';
import { safeString, safeText } from './text.ts';

// ------------------------------------------------------------------------------- enum lists

/** 资源分类 (Jiyuan §15, Jincheng §14): base (基础), thematic (主题), department (部门) resources. */
export const CLASSIFICATIONS = ['base', 'thematic', 'department'] as const;
/** 基础信息资源类别 (Jiyuan §15, Hebi §12, §14). */
export const BASE_CATEGORIES = ['population', 'legal_entity', 'natural_resources_geospatial', 'e_license'] as const;
/**
 * 数据分级. The regulations require grading (Jincheng §9, §35; Hebi §26) but define no levels, so
 * the four levels common in provincial public-data grading guides are used:
 * L1 一级·公开 (public), L2 二级·内部 (internal), L3 三级·敏感 (sensitive, e.g. personal
 * information), L4 四级·重要 (important data in the sense of the Data Security Law, Hebi §26).
 * State secrets never enter the platform (Hebi §24), so there is no level for them.
 */
export const GRADES = ['L1', 'L2', 'L3', 'L4'] as const;
/** 数据格式 (Jincheng §2, §9; Jiyuan §2: text, numbers, images, audio/video, e-licences, e-archives). */
export const DATA_FORMATS = ['database', 'spreadsheet', 'text', 'image', 'audio_video', 'geospatial', 'e_license', 'e_archive', 'other'] as const;
/** 信息项数据类型. */
export const DATA_ITEM_TYPES = ['string', 'integer', 'decimal', 'date', 'datetime', 'boolean', 'binary'] as const;
/** 标识类型 (Jiyuan §20, Hebi §11): ID number for natural persons, credit code for organisations. */
export const IDENTIFIER_KINDS = ['citizen_id', 'credit_code'] as const;
/** 共享属性 (Jincheng §22, Jiyuan §14, Hebi §14). */
export const SHARING_ATTRIBUTES = ['unconditional', 'conditional', 'not_shared'] as const;
/** 共享方式 (Jincheng §17: table / API / file; Jiyuan §9, §33 and Jincheng §22: cross-verification). */
export const SHARING_METHODS = ['api', 'table', 'file', 'verification'] as const;
/** 开放属性 (Jiyuan §38, Yaohai §15, Hebi §18). */
export const OPEN_ATTRIBUTES = ['unconditional', 'conditional', 'not_open'] as const;
/** 开放方式 (Jincheng §9; vocabulary from Jiaozuo §22: interface, online query, bulk download). */
export const OPEN_METHODS = ['download', 'api', 'online_query'] as const;
/** 更新周期 (Jincheng §9, §18). */
export const UPDATE_CYCLES = ['realtime', 'daily', 'weekly', 'monthly', 'quarterly', 'yearly', 'irregular'] as const;
/** 存储层级 (Jincheng §9). */
export const STORAGE_LEVELS = ['provincial', 'municipal', 'county'] as const;
/** 审核状态 set by the municipal hub (Jincheng §13, Jiyuan §17). */
export const REVIEW_STATUSES = ['pending', 'approved', 'rejected'] as const;
/** Derived entry status: withdrawn wins over the review status (Jincheng §19). */
export const ENTRY_STATUSES = ['withdrawn', 'pending', 'approved', 'rejected'] as const;

export type Classification = (typeof CLASSIFICATIONS)[number];
export type BaseCategory = (typeof BASE_CATEGORIES)[number];
export type Grade = (typeof GRADES)[number];
export type DataFormat = (typeof DATA_FORMATS)[number];
export type DataItemType = (typeof DATA_ITEM_TYPES)[number];
export type IdentifierKind = (typeof IDENTIFIER_KINDS)[number];
export type SharingAttribute = (typeof SHARING_ATTRIBUTES)[number];
export type SharingMethod = (typeof SHARING_METHODS)[number];
export type OpenAttribute = (typeof OPEN_ATTRIBUTES)[number];
export type OpenMethod = (typeof OPEN_METHODS)[number];
export type UpdateCycle = (typeof UPDATE_CYCLES)[number];
export type StorageLevel = (typeof STORAGE_LEVELS)[number];
export type ReviewStatus = (typeof REVIEW_STATUSES)[number];
export type EntryStatus = (typeof ENTRY_STATUSES)[number];

// ------------------------------------------------------------------------------ zh labels

export const CLASSIFICATION_LABELS: Record<Classification, string> = { base: '基础', thematic: '主题', department: '部门' };
export const BASE_CATEGORY_LABELS: Record<BaseCategory, string> = {
  population: '人口',
  legal_entity: '法人',
  natural_resources_geospatial: '自然资源和空间地理',
  e_license: '电子证照',
};
export const GRADE_LABELS: Record<Grade, string> = { L1: '一级(公开)', L2: '二级(内部)', L3: '三级(敏感)', L4: '四级(重要)' };
export const DATA_FORMAT_LABELS: Record<DataFormat, string> = {
  database: '数据库',
  spreadsheet: '电子表格',
  text: '文本',
  image: '图片图像',
  audio_video: '音视频',
  geospatial: '空间地理',
  e_license: '电子证照',
  e_archive: '电子档案',
  other: '其他',
};
export const SHARING_ATTRIBUTE_LABELS: Record<SharingAttribute, string> = {
  unconditional: '无条件共享',
  conditional: '有条件共享',
  not_shared: '不予共享',
};
export const SHARING_METHOD_LABELS: Record<SharingMethod, string> = {
  api: '服务接口(API)共享',
  table: '数据库表共享(前置库)',
  file: '文件共享',
  verification: '数据核验(比对)',
};
export const OPEN_ATTRIBUTE_LABELS: Record<OpenAttribute, string> = {
  unconditional: '无条件开放',
  conditional: '有条件开放(依申请)',
  not_open: '不予开放',
};
export const OPEN_METHOD_LABELS: Record<OpenMethod, string> = { download: '数据下载', api: '接口调用', online_query: '在线查询' };
export const UPDATE_CYCLE_LABELS: Record<UpdateCycle, string> = {
  realtime: '实时',
  daily: '每日',
  weekly: '每周',
  monthly: '每月',
  quarterly: '每季度',
  yearly: '每年',
  irregular: '不定期',
};
export const STORAGE_LEVEL_LABELS: Record<StorageLevel, string> = { provincial: '省级', municipal: '市级', county: '县级' };

const enumDoc = (title: string, labels: Record<string, string>): string =>
  `${title} (${Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ')})`;

// ------------------------------------------------------------------------------ content

/** Every free-text field refuses lone surrogates (protocol/text.ts): replicas would store them differently. */
const text = safeText;

export const DataItem = z
  .strictObject({
    name: safeString().min(1).max(100).describe('信息项名称(中文) / data item name'),
    code: z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,62}$/, '信息项代码须为小写字母开头的 snake_case / code must match ^[a-z][a-z0-9_]{0,62}$')
      .describe('信息项代码(字段标识) / column identifier'),
    type: z.enum(DATA_ITEM_TYPES).describe('数据类型 / data type'),
    length: z.number().int().positive().optional().describe('长度 / length'),
    required: z.boolean().optional().describe('是否必填 / mandatory'),
    primaryKey: z.boolean().optional().describe('是否主键 / part of the primary key'),
    description: text(1000).optional().describe('说明 / description'),
    sensitive: z.boolean().default(false).describe('是否敏感(共享开放前需脱敏) / sensitive, masked before sharing or opening'),
    identifier: z.enum(IDENTIFIER_KINDS).nullable().default(null).describe('主体标识 / the item keys a natural person (citizen_id) or organisation (credit_code); Jiyuan §20, Hebi §11'),
  })
  .describe('信息项 / data item');

export const Provider = z
  .strictObject({
    code: z
      .string()
      .regex(/^[0-9A-Za-z][0-9A-Za-z_-]{1,31}$/, '部门代码格式错误 / department code must match ^[0-9A-Za-z][0-9A-Za-z_-]{1,31}$')
      .describe('提供部门代码 / department code'),
    name: safeString().min(1).max(100).describe('提供部门名称 / department name'),
    creditCode: creditCodeSchema.optional(),
  })
  .describe('数据提供部门 / providing department');

export const Sharing = z
  .strictObject({
    attribute: z.enum(SHARING_ATTRIBUTES).describe(enumDoc('共享属性 / sharing attribute', SHARING_ATTRIBUTE_LABELS)),
    conditions: text(2000).optional().describe('共享条件 / sharing conditions (Hebi §14)'),
    scope: text(2000).optional().describe('共享范围 / sharing scope (Jincheng §23)'),
    legalBasis: text(2000).optional().describe('共享依据(法律法规规章政策) / legal basis, required for conditional and not_shared (Jiyuan §14, Hebi §14, Jincheng §23)'),
    platformAuthorized: z
      .boolean()
      .optional()
      .describe(
        '整体授权给共享交换平台 / the provider authorised the platform for this whole conditional resource, so the authority approves applications (Jincheng §29); honoured only where the hub policy allows it',
      ),
  })
  .describe('共享属性 / sharing');

export const OpenInfo = z
  .strictObject({
    attribute: z.enum(OPEN_ATTRIBUTES).describe(enumDoc('开放属性 / open attribute', OPEN_ATTRIBUTE_LABELS)),
    conditions: text(2000).optional().describe('开放条件 / open conditions, required for conditional (Hebi §19)'),
    basis: text(2000).optional().describe('依据 / basis, required unless unconditional (Jiyuan §39, Hebi §18)'),
    methods: z.array(z.enum(OPEN_METHODS)).max(OPEN_METHODS.length).optional().describe(enumDoc('开放方式 / open methods, required unless not_open (Jincheng §9)', OPEN_METHOD_LABELS)),
  })
  .describe('开放属性 / opening to the public');

export const DataDictionaryEntry = z
  .strictObject({
    item: safeString().min(1).describe('信息项代码 / code of a data item of this entry'),
    values: z
      .array(
        z.strictObject({
          code: safeString().min(1).max(64).describe('代码值 / value code'),
          label: safeString().min(1).max(200).describe('含义 / label'),
        }),
      )
      .min(1)
      .max(10000)
      .describe('代码表 / code list'),
  })
  .describe('数据字典 / data dictionary for one item (Jincheng §10)');

/** Content fields as a plain object, before cross-field rules (for extension / partials). */
const contentFields = {
  name: safeString().min(1).max(200).describe('数据资源名称 / resource name'),
  abstract: text(4000).describe('资源摘要 / abstract'),
  provider: Provider,
  classification: z.enum(CLASSIFICATIONS).describe(enumDoc('资源分类 / classification', CLASSIFICATION_LABELS)),
  baseCategory: z.enum(BASE_CATEGORIES).optional().describe(enumDoc('基础信息资源类别 / base category, required iff classification is base (Jiyuan §15)', BASE_CATEGORY_LABELS)),
  grading: z.enum(GRADES).describe(enumDoc('数据分级 / data grade (Jincheng §9, §35)', GRADE_LABELS)),
  dataFormat: z.enum(DATA_FORMATS).describe(enumDoc('数据格式 / data format', DATA_FORMAT_LABELS)),
  dataItems: z.array(DataItem).min(1).max(500).describe('信息项 / data items (Jincheng §9)'),
  sharing: Sharing,
  sharingMethods: z.array(z.enum(SHARING_METHODS)).max(SHARING_METHODS.length).describe(enumDoc('共享方式 / sharing methods (Jincheng §17)', SHARING_METHOD_LABELS)),
  open: OpenInfo,
  updateCycle: z.enum(UPDATE_CYCLES).describe(enumDoc('更新周期 / update cycle', UPDATE_CYCLE_LABELS)),
  storageLevel: z.enum(STORAGE_LEVELS).describe(enumDoc('存储层级 / storage level', STORAGE_LEVEL_LABELS)),
  publishDate: z.iso.date().optional().describe('发布日期 YYYY-MM-DD / publish date'),
  dataDictionary: z.array(DataDictionaryEntry).max(500).optional().describe('数据字典 / data dictionary (Jincheng §10)'),
  themes: z
    .array(safeString().min(1).max(50))
    .min(1)
    .max(10)
    .refine((t) => new Set(t).size === t.length, '主题不得重复 / themes are unique')
    .optional()
    .describe('主题/领域 / themes or domains, e.g. 社会保障、安全生产 (Jincheng §27 政务主题栏目; Hebi §19 数据领域; Yaohai §13)'),
  withdrawn: z.boolean().default(false).describe("已撤销发布 / withdrawn; needs the authority's approval (Jincheng §19)"),
};

/**
 * The cross-field rules, by stable id (PROTOCOL.md §7.4, §7.5, §7.7: same ids, same order). An id is
 * never reused or renumbered; a withdrawn rule keeps its id out of use.
 */
export const CATALOG_RULES = {
  'CE-1': 'data item names are unique (Jincheng §11)',
  'CE-2': 'data item codes are unique (Jincheng §11)',
  'CE-3': 'an identifier item has type string (Jiyuan §20, Hebi §11)',
  'CE-4': 'an identifier item has length 18 when it states a length (Jiyuan §20, Hebi §11)',
  'CE-5': 'conditional and not_shared entries have a non-blank sharing.legalBasis (Jiyuan §14, §32(1); Hebi §14; Jincheng §23)',
  'CE-6': 'conditional entries have non-blank sharing.conditions or sharing.scope (Jincheng §23, Hebi §14)',
  'CE-7': 'sharing methods are unique',
  'CE-8': 'sharingMethods is non-empty unless the entry is not_shared (Jincheng §9, §17)',
  'CE-9': 'conditional and not_open entries have a non-blank open.basis (Jiyuan §39, Hebi §18)',
  'CE-10': 'conditionally open entries have non-blank open.conditions (Hebi §19)',
  'CE-11': 'not_open entries have no open methods',
  'CE-12': 'unconditionally and conditionally open entries have at least one open method (Jincheng §9)',
  'CE-13': 'open methods are unique',
  'CE-14': 'unconditionally open entries are shared unconditionally (Jincheng §11, §20)',
  'CE-15': 'base entries have a baseCategory (Jiyuan §15)',
  'CE-16': 'base entries are shared unconditionally (Jiyuan §15, §32(2); Hebi §14)',
  'CE-17': 'population base entries have a citizen_id item, legal_entity base entries a credit_code item (Jiyuan §20, Hebi §11)',
  'CE-18': 'only base entries have a baseCategory',
  'CE-19': 'entries with a sensitive item are graded L3 or L4 (Jincheng §35; Hebi §26, §27(4))',
  'CE-20': 'each data item has at most one dictionary (Jincheng §10)',
  'CE-21': 'a dictionary names an existing data item code (Jincheng §10)',
  'CE-22': 'value codes are unique within a dictionary (Jincheng §10)',
  'CE-23': 'only conditional entries are authorised to the platform (Jincheng §29: 本部门有条件共享数据)',
  'CR-1': 'a rejected review has a non-blank reason',
  'CR-2': 'an approved review has a code (Jincheng §13)',
  'CV-1': 'status is the status derived from content and review',
  'CV-2': 'code equals review.code, or null when review has none',
  'CV-3': 'county is the first six characters of id',
} as const;
export type CatalogRule = keyof typeof CATALOG_RULES;

type Ctx = z.core.$RefinementCtx<unknown>;
type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
const recs = (v: unknown): Rec[] => (Array.isArray(v) ? v.filter(isRec) : []);
/** Blank: not a string, or only ECMAScript white space / line terminators (String.prototype.trim: U+3000 and U+00A0 too). */
const blank = (v: unknown): boolean => typeof v !== 'string' || v.trim() === '';
/** Reports a broken rule: the id in `params.rule` and as the message prefix, so every formatting of the issue names it. */
const issue = (ctx: Ctx, rule: CatalogRule, path: PropertyKey[], message: string): void => ctx.addIssue({ code: 'custom', path, message: `[${rule}] ${message}`, params: { rule } });

/** Reports the later occurrence of each repeated value of `key` among `rows` (equal as JavaScript `===`). */
function uniqueBy(ctx: Ctx, rule: CatalogRule, rows: unknown[], key: string | null, path: (i: number) => PropertyKey[], what: string): void {
  const seen = new Set<unknown>();
  rows.forEach((row, i) => {
    const v = key === null ? row : isRec(row) ? row[key] : undefined;
    if (v === undefined) return;
    if (seen.has(v)) issue(ctx, rule, path(i), `${what}重复 / duplicate ${String(v)}`);
    seen.add(v);
  });
}

/** Cross-field rules of a catalog entry's content (CE-1 … CE-23). Written defensively: runs even when fields failed. */
function checkContent(c: Rec, ctx: Ctx): void {
  const items = Array.isArray(c['dataItems']) ? (c['dataItems'] as unknown[]) : [];
  // Jincheng §11: complete, logically consistent, accurately named.
  uniqueBy(ctx, 'CE-1', items, 'name', (i) => ['dataItems', i, 'name'], '信息项名称');
  uniqueBy(ctx, 'CE-2', items, 'code', (i) => ['dataItems', i, 'code'], '信息项代码');
  items.forEach((it, i) => {
    if (!isRec(it) || it['identifier'] == null) return;
    // Jiyuan §20, Hebi §11: identifiers are ID numbers / credit codes, both 18 characters.
    if (it['type'] !== 'string') issue(ctx, 'CE-3', ['dataItems', i, 'type'], '标识信息项须为 string / identifier items must have type string');
    if (it['length'] !== undefined && it['length'] !== 18) issue(ctx, 'CE-4', ['dataItems', i, 'length'], '标识信息项长度应为18 / identifier items have length 18');
  });

  const sharing = isRec(c['sharing']) ? c['sharing'] : {};
  const sAttr = sharing['attribute'];
  if ((sAttr === 'conditional' || sAttr === 'not_shared') && blank(sharing['legalBasis'])) {
    // Jiyuan §14, §32(1); Hebi §14; Jincheng §23; Yaohai §13.
    issue(ctx, 'CE-5', ['sharing', 'legalBasis'], '有条件共享和不予共享须提供法律法规依据 / conditional and not-shared entries need a legal basis');
  }
  if (sAttr === 'conditional' && blank(sharing['conditions']) && blank(sharing['scope'])) {
    // Jincheng §23 (标明共享范围), Hebi §14 (明确共享条件).
    issue(ctx, 'CE-6', ['sharing', 'scope'], '有条件共享须标明共享范围或条件 / conditional entries need a scope or conditions');
  }
  if (sharing['platformAuthorized'] === true && sAttr !== 'conditional') {
    issue(ctx, 'CE-23', ['sharing', 'platformAuthorized'], '仅有条件共享数据可整体授权给平台 / only conditional entries are authorised to the platform (Jincheng §29)');
  }
  const methods = Array.isArray(c['sharingMethods']) ? (c['sharingMethods'] as unknown[]) : null;
  if (methods !== null) {
    uniqueBy(ctx, 'CE-7', methods, null, (i) => ['sharingMethods', i], '共享方式');
    // Jincheng §9, §17: shared data is published through at least one method.
    if (methods.length === 0 && sAttr !== 'not_shared') issue(ctx, 'CE-8', ['sharingMethods'], '须至少选择一种共享方式 / at least one sharing method is required');
  }

  const open = isRec(c['open']) ? c['open'] : {};
  const oAttr = open['attribute'];
  if ((oAttr === 'conditional' || oAttr === 'not_open') && blank(open['basis'])) {
    // Jiyuan §39, Hebi §18.
    issue(ctx, 'CE-9', ['open', 'basis'], '有条件开放和不予开放须提供依据 / conditional and not-open entries need a basis');
  }
  if (oAttr === 'conditional' && blank(open['conditions'])) {
    issue(ctx, 'CE-10', ['open', 'conditions'], '有条件开放须明确开放条件 / conditional opening needs conditions (Hebi §19)');
  }
  const oMethods = open['methods'];
  if (oAttr === 'not_open' && Array.isArray(oMethods) && oMethods.length > 0) {
    issue(ctx, 'CE-11', ['open', 'methods'], '不予开放的资源不应有开放方式 / not-open entries have no open methods');
  } else if ((oAttr === 'unconditional' || oAttr === 'conditional') && (!Array.isArray(oMethods) || oMethods.length === 0)) {
    issue(ctx, 'CE-12', ['open', 'methods'], '开放的资源须明确开放方式 / open entries need open methods (Jincheng §9)');
  }
  if (Array.isArray(oMethods)) uniqueBy(ctx, 'CE-13', oMethods, null, (i) => ['open', 'methods', i], '开放方式');
  if (oAttr === 'unconditional' && sAttr !== undefined && sAttr !== 'unconditional') {
    // Jincheng §11 (logical consistency), §20 (sharing is the rule).
    issue(ctx, 'CE-14', ['open', 'attribute'], '无条件开放的数据应无条件共享 / data open to everyone must be shared unconditionally');
  }

  const cls = c['classification'];
  if (cls === 'base') {
    if (c['baseCategory'] === undefined) issue(ctx, 'CE-15', ['baseCategory'], '基础类资源须注明基础信息资源类别 / base entries need a base category (Jiyuan §15)');
    // Jiyuan §15, §32(2); Hebi §14: base databases are shared unconditionally.
    if (sAttr !== undefined && sAttr !== 'unconditional') issue(ctx, 'CE-16', ['sharing', 'attribute'], '基础数据库须无条件共享 / base resources are shared unconditionally');
    // Jiyuan §20, Hebi §11: natural persons keyed by ID number, organisations by credit code.
    const need = c['baseCategory'] === 'population' ? 'citizen_id' : c['baseCategory'] === 'legal_entity' ? 'credit_code' : null;
    if (need !== null && !recs(items).some((it) => it['identifier'] === need)) {
      issue(ctx, 'CE-17', ['dataItems'], `须包含标识为 ${need} 的信息项 / needs a data item with identifier ${need}`);
    }
  } else if (c['baseCategory'] !== undefined) {
    issue(ctx, 'CE-18', ['baseCategory'], '仅基础类资源可注明基础信息资源类别 / baseCategory is only for base entries');
  }

  // Jincheng §35; Hebi §26, §27(4): sensitive data needs stronger protection, hence a higher grade.
  if ((c['grading'] === 'L1' || c['grading'] === 'L2') && recs(items).some((it) => it['sensitive'] === true)) {
    issue(ctx, 'CE-19', ['grading'], '含敏感信息项的资源应为L3或以上 / entries with sensitive items are graded L3 or L4');
  }

  // Jincheng §10: data dictionary matches the data structure.
  const codes = new Set(recs(items).map((it) => it['code']));
  const dict = Array.isArray(c['dataDictionary']) ? (c['dataDictionary'] as unknown[]) : [];
  uniqueBy(ctx, 'CE-20', dict, 'item', (i) => ['dataDictionary', i, 'item'], '字典信息项');
  dict.forEach((d, i) => {
    if (!isRec(d)) return;
    if (typeof d['item'] === 'string' && !codes.has(d['item'])) {
      issue(ctx, 'CE-21', ['dataDictionary', i, 'item'], `字典引用了不存在的信息项 / no data item with code ${d['item']}`);
    }
    if (Array.isArray(d['values'])) uniqueBy(ctx, 'CE-22', d['values'], 'code', (j) => ['dataDictionary', i, 'values', j, 'code'], '代码值');
  });
}

/** 目录内容: written only by the providing department's (county) node. */
export const CatalogContent = z
  .strictObject(contentFields)
  .superRefine((c, ctx) => checkContent(c as unknown as Rec, ctx as Ctx))
  .describe(
    '政务数据资源目录条目内容 / catalog entry content, owned by the providing department. Cross-field rules (legal basis, uniqueness, base ⇒ unconditional, …) are enforced by the validator, see protocol/catalog-entry.ts',
  );

/**
 * Partial content for updates. Fields replace whole top-level values; the merged result must pass
 * `CatalogContent` again (see `mergeCatalogContent`). `withdrawn` has no default here, so an
 * update that omits it never resets it.
 */
export const CatalogContentPatch = z
  .strictObject({ ...contentFields, withdrawn: z.boolean().describe('已撤销发布 / withdrawn (Jincheng §19)') })
  .partial()
  .describe('目录内容更新 / partial catalog content update');

export type DataItem = z.infer<typeof DataItem>;
export type Provider = z.infer<typeof Provider>;
export type Sharing = z.infer<typeof Sharing>;
export type OpenInfo = z.infer<typeof OpenInfo>;
export type DataDictionaryEntry = z.infer<typeof DataDictionaryEntry>;
export type CatalogContent = z.infer<typeof CatalogContent>;
export type CatalogContentInput = z.input<typeof CatalogContent>;
export type CatalogContentPatch = z.infer<typeof CatalogContentPatch>;

/** Applies `patch` to `base` (a key set to undefined removes it) and validates the result. */
export function mergeCatalogContent(base: CatalogContentInput, patch: CatalogContentPatch): ReturnType<typeof CatalogContent.safeParse> {
  const merged: Rec = { ...base, ...patch };
  for (const k of Object.keys(merged)) if (merged[k] === undefined) delete merged[k];
  return CatalogContent.safeParse(merged);
}

// ------------------------------------------------------------------------------ review

/** Unified resource codes (Jincheng §13): what every replica accepts in `review.code`. */
export const RESOURCE_CODE_RE = /^[0-9A-Za-z][0-9A-Za-z./_-]{0,63}$/;

/** Optional review fields also accept null: the hub clears a field in its Yjs map by writing null. */
export const CatalogReview = z
  .strictObject({
    status: z.enum(REVIEW_STATUSES).describe('审核状态 / review status'),
    reason: text(2000).nullish().describe('驳回理由 / reason, required when rejected'),
    reviewer: safeString().min(1).max(100).nullish().describe('审核人 / reviewer'),
    reviewedAt: z.iso.datetime({ offset: true }).nullish().describe('审核时间 ISO 8601 / review time'),
    code: z
      .string()
      .regex(RESOURCE_CODE_RE, '资源编码格式错误 / resource code must match ^[0-9A-Za-z][0-9A-Za-z./_-]{0,63}$')
      .nullish()
      .describe('统一资源编码 / unified resource code, assigned on approval (Jincheng §13)'),
    contentHash: z
      .string()
      .regex(/^[0-9a-f]{64}$/, 'contentHash 应为64位小写十六进制 / contentHash must be 64 lower-case hex digits')
      .nullish()
      .describe('所审内容的哈希 / hex BLAKE2b-256 of the canonical JSON of the reviewed content'),
  })
  .superRefine((r, ctx) => {
    if (r.status === 'rejected' && blank(r.reason)) issue(ctx as Ctx, 'CR-1', ['reason'], '驳回须说明理由 / a rejection needs a reason');
    // Jincheng §13: the authority codes entries uniformly as part of its review.
    if (r.status === 'approved' && r.code == null) issue(ctx as Ctx, 'CR-2', ['code'], '审核通过须赋予统一资源编码 / approval assigns a unified resource code');
  })
  .describe('目录审核 / catalog review, owned by the municipal hub');
export type CatalogReview = z.infer<typeof CatalogReview>;
/**
 * The keys of the `review` root, all of which the hub sets on every decision (PROTOCOL.md §7.5;
 * `TotalCatalog.review` writes `{ reason: null, ...CatalogReview }`, a null for an absent value).
 */
export const REVIEW_KEYS = ['status', 'reason', 'reviewer', 'reviewedAt', 'code', 'contentHash'] as const satisfies readonly (keyof CatalogReview)[];

// ------------------------------------------------------------------------------ view

/**
 * Derived status: a withdrawn entry (Jincheng §19) is withdrawn whatever its review says; an entry
 * whose review root holds no decision (no `status`, or `pending`) is pending.
 */
export function deriveEntryStatus(content: { withdrawn?: boolean | undefined }, review: { status?: ReviewStatus | undefined }): EntryStatus {
  return content.withdrawn === true ? 'withdrawn' : (review.status ?? 'pending');
}

/**
 * The `review` root of an entry the hub has not decided yet: empty (the hub writes nothing before
 * its first decision, §7.5). A decided review is a `CatalogReview`.
 */
export const PendingReview = z.strictObject({}).describe('未审核 / no decision yet: the hub has written no review key');

export const CatalogEntryView = z
  .strictObject({
    id: z.string().regex(ENTRY_ID_RE, '条目标识应为 <区县代码>-<uuid> / entry id must be <county>-<uuid>').describe('条目标识 / entry id'),
    county: z
      .string()
      .regex(ADMIN_CODE_RE, '行政区划代码应为6位数字 / county must be a 6-digit administrative division code')
      .describe('所属区县行政区划代码 / county administrative division code (= the first six characters of id)'),
    content: CatalogContent,
    review: z.union([CatalogReview, PendingReview]).describe('审核 / the review root without null keys: a CatalogReview once the hub decided, {} while pending'),
    status: z.enum(ENTRY_STATUSES).describe('状态 / derived status'),
    code: z
      .string()
      .regex(RESOURCE_CODE_RE, '资源编码格式错误 / resource code must match ^[0-9A-Za-z][0-9A-Za-z./_-]{0,63}$')
      .nullable()
      .describe('统一资源编码 / unified resource code (= review.code, null if none)'),
    reviewStale: z.boolean().default(false).describe('内容在审核后已变更 / content changed after the last review decision'),
    updatedAt: z.iso.datetime({ offset: true }).describe('更新时间 / last update'),
  })
  .superRefine((v, ctx) => {
    if (typeof v.id === 'string' && ENTRY_ID_RE.test(v.id) && typeof v.county === 'string' && ADMIN_CODE_RE.test(v.county) && v.county !== v.id.slice(0, 6)) {
      issue(ctx as Ctx, 'CV-3', ['county'], 'county 应为条目标识的前六位 / county must be the first six characters of id');
    }
    if (!isRec(v.content) || !isRec(v.review)) return;
    const review = v.review as { status?: ReviewStatus; code?: string | null };
    if ((review.status === undefined || REVIEW_STATUSES.includes(review.status)) && v.status !== deriveEntryStatus(v.content, review)) {
      issue(ctx as Ctx, 'CV-1', ['status'], `状态应为 ${deriveEntryStatus(v.content, review)} / status does not match content and review`);
    }
    if (v.code !== (review.code ?? null)) issue(ctx as Ctx, 'CV-2', ['code'], 'code 应等于 review.code / code must equal review.code');
  })
  .describe('目录条目视图 / catalog entry as returned by the API');
export type CatalogEntryView = z.infer<typeof CatalogEntryView>;
