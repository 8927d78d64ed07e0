// Realistic sample catalog entries (Jincheng-style departments) for demos and tests; all pass CatalogContent.
//
// Departments, items and legal bases are plausible but illustrative; the credit codes are made up and
// only carry valid GB 32100 check characters.
import type { CatalogContent, DataItem } from '../../protocol/catalog-entry.ts';

type ItemOpts = Partial<Omit<DataItem, 'name' | 'code' | 'type'>>;

const item = (name: string, code: string, type: DataItem['type'], opts: ItemOpts = {}): DataItem => ({
  name,
  code,
  type,
  sensitive: false,
  identifier: null,
  ...opts,
});
const citizenId = (name = '公民身份号码', code = 'citizen_id', opts: ItemOpts = {}): DataItem =>
  item(name, code, 'string', { length: 18, required: true, sensitive: true, identifier: 'citizen_id', ...opts });
const creditCode = (name = '统一社会信用代码', code = 'credit_code', opts: ItemOpts = {}): DataItem => item(name, code, 'string', { length: 18, required: true, identifier: 'credit_code', ...opts });
const personName = (name = '姓名', code = 'name'): DataItem => item(name, code, 'string', { length: 50, required: true, sensitive: true });

const PIPL = '《中华人民共和国个人信息保护法》';
const NOT_OPEN_PERSONAL = { attribute: 'not_open', basis: `涉及个人隐私，依据${PIPL}不予开放（济源 §38）` } as const;

const PROVIDERS = {
  police: { code: 'jc-gaj', name: '晋城市公安局', creditCode: '111405000125378176' },
  market: { code: 'jc-scjgj', name: '晋城市市场监督管理局', creditCode: '111405000125380271' },
  land: { code: 'jc-ghzrzyj', name: '晋城市规划和自然资源局', creditCode: '11140500012538457T' },
  hrss: { code: 'jc-rsj', name: '晋城市人力资源和社会保障局', creditCode: '111405000125391773' },
  fund: { code: 'jc-gjj', name: '晋城市住房公积金管理中心', creditCode: '12140500407129631X' },
  civil: { code: 'zz-mzj', name: '泽州县民政局', creditCode: '111405250129156549' },
  tax: { code: 'jc-swj', name: '国家税务总局晋城市税务局', creditCode: '11140500MB01963447' },
} as const;

/** Eight sample entries, built afresh on every call so callers may mutate them. */
export function sampleCatalogContents(): CatalogContent[] {
  const entries: CatalogContent[] = [
    {
      name: '人口基础信息',
      abstract: '全市户籍人口的身份号码、姓名、性别、民族、出生日期及户籍地址等基础信息项，由人口基础信息库统一维护。',
      provider: { ...PROVIDERS.police },
      classification: 'base',
      baseCategory: 'population',
      grading: 'L3',
      dataFormat: 'database',
      dataItems: [
        citizenId('公民身份号码', 'citizen_id', { primaryKey: true }),
        personName(),
        item('性别', 'gender', 'string', { length: 1, description: 'GB/T 2261.1' }),
        item('民族', 'ethnicity', 'string', { length: 2, description: 'GB/T 3304' }),
        item('出生日期', 'birth_date', 'date', { required: true }),
        item('户籍地址', 'household_address', 'string', { length: 200, sensitive: true }),
        item('户籍地行政区划代码', 'household_region_code', 'string', { length: 6 }),
        item('是否已注销户口', 'deregistered', 'boolean'),
      ],
      sharing: { attribute: 'unconditional' }, // Jiyuan §15, §32(2); Hebi §14
      sharingMethods: ['api', 'verification'], // Jiyuan §33: interfaces and verification first
      open: { ...NOT_OPEN_PERSONAL },
      updateCycle: 'realtime',
      storageLevel: 'municipal',
      publishDate: '2024-03-01',
      dataDictionary: [
        {
          item: 'gender',
          values: [
            { code: '0', label: '未知的性别' },
            { code: '1', label: '男性' },
            { code: '2', label: '女性' },
            { code: '9', label: '未说明的性别' },
          ],
        },
      ],
      withdrawn: false,
    },
    {
      name: '法人基础信息',
      abstract: '在本市登记的企业、个体工商户、农民专业合作社等市场主体的登记基础信息。',
      provider: { ...PROVIDERS.market },
      classification: 'base',
      baseCategory: 'legal_entity',
      grading: 'L2',
      dataFormat: 'database',
      dataItems: [
        creditCode('统一社会信用代码', 'credit_code', { primaryKey: true }),
        item('市场主体名称', 'entity_name', 'string', { length: 200, required: true }),
        item('市场主体类型', 'entity_type', 'string', { length: 4 }),
        item('法定代表人', 'legal_representative', 'string', { length: 50 }),
        item('注册资本(万元)', 'registered_capital', 'decimal', { length: 18 }),
        item('成立日期', 'established_date', 'date'),
        item('登记状态', 'registration_status', 'string', { length: 1 }),
        item('住所', 'domicile', 'string', { length: 200 }),
        item('登记机关', 'registration_authority', 'string', { length: 100 }),
      ],
      sharing: { attribute: 'unconditional' },
      sharingMethods: ['api', 'table', 'verification'],
      open: { attribute: 'unconditional', methods: ['online_query', 'api'] },
      updateCycle: 'daily',
      storageLevel: 'municipal',
      publishDate: '2024-03-01',
      dataDictionary: [
        {
          item: 'registration_status',
          values: [
            { code: '1', label: '存续' },
            { code: '2', label: '吊销' },
            { code: '3', label: '注销' },
            { code: '4', label: '迁出' },
          ],
        },
      ],
      withdrawn: false,
    },
    {
      name: '营业执照信息',
      abstract: '市场主体营业执照（含电子营业执照）的证照信息，用于办事场景中免交纸质执照及执照真伪核验。',
      provider: { ...PROVIDERS.market },
      classification: 'base',
      baseCategory: 'e_license',
      grading: 'L2',
      dataFormat: 'e_license',
      dataItems: [
        creditCode('统一社会信用代码', 'credit_code', { primaryKey: true }),
        item('名称', 'entity_name', 'string', { length: 200, required: true }),
        item('类型', 'entity_type', 'string', { length: 50 }),
        item('法定代表人(负责人、经营者)', 'legal_representative', 'string', { length: 50 }),
        item('经营范围', 'business_scope', 'string', { length: 4000 }),
        item('营业期限自', 'term_start', 'date'),
        item('营业期限至', 'term_end', 'date', { description: '长期有效时为空' }),
        item('发照日期', 'issue_date', 'date', { required: true }),
        item('电子营业执照文件', 'license_file', 'binary', { description: 'OFD 版式文件' }),
      ],
      sharing: { attribute: 'unconditional' },
      sharingMethods: ['api', 'verification'],
      open: {
        attribute: 'not_open',
        basis: '《企业信息公示暂行条例》：登记事项已通过国家企业信用信息公示系统公示；电子证照文件仅供持照主体及依法履职部门使用',
      },
      updateCycle: 'realtime',
      storageLevel: 'municipal',
      publishDate: '2024-03-15',
      withdrawn: false,
    },
    {
      name: '不动产登记信息',
      abstract: '不动产权利人、不动产单元、权利类型、坐落、面积及抵押查封状态等登记簿信息。',
      provider: { ...PROVIDERS.land },
      classification: 'department',
      grading: 'L3',
      dataFormat: 'database',
      dataItems: [
        item('不动产单元号', 'unit_number', 'string', { length: 28, required: true, primaryKey: true }),
        item('不动产权证书号', 'certificate_number', 'string', { length: 50 }),
        item('权利人名称', 'holder_name', 'string', { length: 200, sensitive: true }),
        item('权利人证件号码', 'holder_id_number', 'string', {
          length: 18,
          sensitive: true,
          description: '自然人为公民身份号码，法人和其他组织为统一社会信用代码',
        }),
        item('坐落', 'location', 'string', { length: 200 }),
        item('权利类型', 'right_type', 'string', { length: 2 }),
        item('建筑面积(平方米)', 'floor_area', 'decimal', { length: 15 }),
        item('登记时间', 'registered_at', 'datetime'),
        item('是否抵押', 'mortgaged', 'boolean'),
        item('是否查封', 'sealed', 'boolean'),
      ],
      sharing: {
        attribute: 'conditional',
        scope: '因履行法定职责需查询不动产登记资料的国家机关（人民法院、人民检察院、公安、税务、住建、民政等）',
        legalBasis: '《不动产登记暂行条例》《不动产登记资料查询暂行办法》',
      },
      sharingMethods: ['api', 'verification'],
      open: { attribute: 'not_open', basis: `涉及权利人个人信息和商业秘密（${PIPL}《不动产登记暂行条例》）` },
      updateCycle: 'realtime',
      storageLevel: 'municipal',
      publishDate: '2024-04-10',
      dataDictionary: [
        {
          item: 'right_type',
          values: [
            { code: '01', label: '集体土地所有权' },
            { code: '03', label: '国有建设用地使用权' },
            { code: '04', label: '国有建设用地使用权/房屋所有权' },
            { code: '07', label: '宅基地使用权/房屋所有权' },
          ],
        },
      ],
      withdrawn: false,
    },
    {
      name: '社保参保信息',
      abstract: '参保人员的险种、参保状态、参保单位、首次参保日期和缴费基数等信息（社会保障主题，济源 §15）。',
      provider: { ...PROVIDERS.hrss },
      classification: 'thematic',
      grading: 'L3',
      dataFormat: 'database',
      dataItems: [
        citizenId('公民身份号码', 'citizen_id', { primaryKey: true }),
        personName(),
        item('险种类型', 'insurance_type', 'string', { length: 3, required: true, primaryKey: true }),
        item('参保状态', 'insured_status', 'string', { length: 1 }),
        creditCode('参保单位统一社会信用代码', 'employer_credit_code', { required: false }),
        item('参保单位名称', 'employer_name', 'string', { length: 200 }),
        item('首次参保日期', 'first_insured_date', 'date'),
        item('缴费基数(元)', 'contribution_base', 'decimal', { length: 12, sensitive: true }),
        item('最近缴费年月', 'last_paid_month', 'string', { length: 6, description: 'YYYYMM' }),
      ],
      sharing: {
        attribute: 'conditional',
        conditions: '按最少够用原则提供；缴费基数仅以核验方式提供',
        scope: '就业、民政救助、医疗保障、税务、住房公积金等部门',
        legalBasis: `《中华人民共和国社会保险法》${PIPL}`,
      },
      sharingMethods: ['api', 'verification'],
      open: { ...NOT_OPEN_PERSONAL },
      updateCycle: 'daily',
      storageLevel: 'municipal',
      publishDate: '2024-05-06',
      dataDictionary: [
        {
          item: 'insurance_type',
          values: [
            { code: '110', label: '企业职工基本养老保险' },
            { code: '120', label: '机关事业单位养老保险' },
            { code: '170', label: '城乡居民基本养老保险' },
            { code: '210', label: '失业保险' },
            { code: '410', label: '工伤保险' },
          ],
        },
        {
          item: 'insured_status',
          values: [
            { code: '1', label: '正常参保' },
            { code: '2', label: '暂停缴费' },
            { code: '3', label: '终止参保' },
          ],
        },
      ],
      withdrawn: false,
    },
    {
      name: '公积金缴存信息',
      abstract: '住房公积金个人账户的缴存单位、缴存基数、月缴存额、账户状态和缴至年月。',
      provider: { ...PROVIDERS.fund },
      classification: 'department',
      grading: 'L3',
      dataFormat: 'database',
      dataItems: [
        citizenId(),
        personName(),
        item('个人账号', 'account_number', 'string', { length: 20, required: true, primaryKey: true, sensitive: true }),
        creditCode('缴存单位统一社会信用代码', 'employer_credit_code'),
        item('缴存单位名称', 'employer_name', 'string', { length: 200 }),
        item('缴存基数(元)', 'deposit_base', 'decimal', { length: 12, sensitive: true }),
        item('月缴存额(元)', 'monthly_deposit', 'decimal', { length: 12, sensitive: true }),
        item('账户状态', 'account_status', 'string', { length: 1 }),
        item('缴至年月', 'paid_until', 'string', { length: 6, description: 'YYYYMM' }),
      ],
      sharing: {
        attribute: 'conditional',
        scope: '不动产登记、住房保障、民政救助、人社、税务等部门办理相关业务',
        legalBasis: `《住房公积金管理条例》${PIPL}`,
      },
      sharingMethods: ['api', 'verification'],
      open: { ...NOT_OPEN_PERSONAL },
      updateCycle: 'monthly',
      storageLevel: 'municipal',
      publishDate: '2024-05-20',
      dataDictionary: [
        {
          item: 'account_status',
          values: [
            { code: '0', label: '正常' },
            { code: '1', label: '封存' },
            { code: '2', label: '冻结' },
            { code: '9', label: '销户' },
          ],
        },
      ],
      withdrawn: false,
    },
    {
      name: '婚姻登记信息',
      abstract: '结婚、离婚及补领婚姻登记证的登记记录，仅以核验方式提供婚姻状况。',
      provider: { ...PROVIDERS.civil },
      classification: 'department',
      grading: 'L3',
      dataFormat: 'database',
      dataItems: [
        item('登记证字号', 'certificate_number', 'string', { length: 30, required: true, primaryKey: true }),
        item('登记类型', 'registration_type', 'string', { length: 1, required: true }),
        personName('男方姓名', 'male_name'),
        citizenId('男方公民身份号码', 'male_citizen_id'),
        personName('女方姓名', 'female_name'),
        citizenId('女方公民身份号码', 'female_citizen_id'),
        item('登记日期', 'registration_date', 'date', { required: true }),
        item('登记机关', 'registration_authority', 'string', { length: 100 }),
      ],
      sharing: {
        attribute: 'conditional',
        scope: '公安、人民法院、不动产登记、住房公积金、卫生健康等部门核验婚姻状况',
        legalBasis: `《婚姻登记条例》${PIPL}`,
      },
      sharingMethods: ['verification'], // Jiyuan §33: verification instead of bulk exchange
      open: { ...NOT_OPEN_PERSONAL },
      updateCycle: 'daily',
      storageLevel: 'county',
      publishDate: '2024-06-03',
      dataDictionary: [
        {
          item: 'registration_type',
          values: [
            { code: '1', label: '结婚登记' },
            { code: '2', label: '离婚登记' },
            { code: '3', label: '补领结婚证' },
            { code: '4', label: '补领离婚证' },
          ],
        },
      ],
      withdrawn: false,
    },
    {
      name: '企业纳税信用等级',
      abstract: '企业纳税人年度纳税信用评价结果（信用体系主题，济源 §15），用于信用监管和联合奖惩。',
      provider: { ...PROVIDERS.tax },
      classification: 'thematic',
      grading: 'L2',
      dataFormat: 'database',
      dataItems: [
        creditCode('纳税人识别号', 'taxpayer_id', { primaryKey: true }),
        item('纳税人名称', 'taxpayer_name', 'string', { length: 200, required: true }),
        item('评价年度', 'evaluation_year', 'integer', { required: true, primaryKey: true }),
        item('纳税信用等级', 'credit_grade', 'string', { length: 1, required: true }),
      ],
      sharing: { attribute: 'unconditional' },
      sharingMethods: ['api', 'file'],
      open: {
        attribute: 'conditional',
        conditions: '向社会公开A级纳税人名单；其他级别由纳税人本人申请查询',
        basis: '《纳税信用管理办法（试行）》（国家税务总局公告2014年第40号）',
        methods: ['online_query', 'download'],
      },
      updateCycle: 'yearly',
      storageLevel: 'municipal',
      publishDate: '2024-04-30',
      dataDictionary: [
        {
          item: 'credit_grade',
          values: [
            { code: 'A', label: 'A级' },
            { code: 'B', label: 'B级' },
            { code: 'M', label: 'M级' },
            { code: 'C', label: 'C级' },
            { code: 'D', label: 'D级' },
          ],
        },
      ],
      withdrawn: false,
    },
  ];
  return entries;
}
