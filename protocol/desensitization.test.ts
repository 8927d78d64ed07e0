/** @module Desensitization profiles on real-looking samples, by code point (characters outside the BMP included). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DataItem } from './catalog-entry.ts';
import { applyProfile, defaultProfileFor, DesensitizationProfile, desensitizeRow, maskAddress, maskCitizenId, maskFreeText, maskMobile, maskName, PROFILES } from './desensitization.ts';

/** No lone surrogate: the output is well-formed Unicode. */
const wellFormed = (s: string): boolean => !/[\uD800-\uDFFF]/u.test(s);

describe('citizen_id', () => {
  it('keeps the region code and the last 4', () => {
    assert.equal(maskCitizenId('110101199003071234'), '110101********1234');
    assert.equal(maskCitizenId('41080219900101123X'), '410802********123X');
    assert.equal(maskCitizenId(' 410802199001011234 '), '410802********1234');
    assert.equal(maskCitizenId('410802900101123'), '410802*****1123'); // 15-digit ID of before 1999
    assert.equal(applyProfile('citizen_id', '110101199003071234'), '110101********1234');
  });

  it('masks short values completely instead of revealing 10 of their characters', () => {
    assert.equal(maskCitizenId('1234567890'), '**********');
    assert.equal(maskCitizenId(''), '');
  });
});

describe('mobile', () => {
  it('keeps the first 3 and the last 4 digits, in any spelling', () => {
    assert.equal(maskMobile('13812345678'), '138****5678');
    assert.equal(maskMobile('+86 138-1234-5678'), '+86 138-****-5678');
    assert.equal(maskMobile('+8613812345678'), '+86138****5678');
    assert.equal(maskMobile('008613812345678'), '0086138****5678');
    assert.equal(maskMobile('１３８１２３４５６７８'), '138****5678'); // full-width digits
    assert.equal(applyProfile('mobile', 13812345678), '138****5678'); // stored as an integer
  });

  it('masks every number of a field and short local numbers harder', () => {
    assert.equal(maskMobile('13812345678/13987654321'), '138****5678/139****4321');
    assert.equal(maskMobile('13812345678；0391-3456789'), '138****5678；039*-***6789');
    assert.equal(maskMobile('3456789'), '*****89');
    assert.equal(maskMobile('0391-3456789转8021'), '039*-***6789转****');
    assert.equal(maskMobile('12345'), '*****');
  });

  it('does not pass letters or notes through', () => {
    assert.equal(maskMobile('13812345678(本人)'), '138****5678(**)');
  });
});

describe('name', () => {
  it('keeps the first character', () => {
    assert.equal(maskName('张三'), '张*');
    assert.equal(maskName('张三丰'), '张**');
    assert.equal(maskName('欧阳娜娜'), '欧***');
    assert.equal(maskName('买买提·艾力'), '买*****');
    assert.equal(maskName(' 李四 '), '李*');
    assert.equal(maskName('Zhang San'), 'Z********');
  });

  it('counts characters outside the BMP as one character and never splits them', () => {
    // 𠀀 U+20000, 𪚥 U+2A6A5, 𠮷 U+20BB7: two UTF-16 units each.
    assert.equal(maskName('𠀀明'), '𠀀*');
    assert.equal(maskName('𠮷野家'), '𠮷**');
    assert.equal(maskName('王𪚥'), '王*');
    assert.equal(maskName('𠀀𠀁𠀂'), '𠀀**');
    for (const n of ['𠀀明', '𠮷野家', '王𪚥', '𪚥']) assert.ok(wellFormed(maskName(n)), n);
  });

  it('masks a one-character value completely', () => {
    assert.equal(maskName('𪚥'), '*');
    assert.equal(maskName('张'), '*');
    assert.equal(maskName(''), '');
  });
});

describe('address', () => {
  const cases: [string, string][] = [
    ['河南省焦作市解放区民主南路123号', '河南省焦作市解放区***'],
    ['焦作市山阳区人民路1号', '焦作市山阳区***'],
    ['河南省焦作市沁阳市太行中路99号', '河南省焦作市沁阳市***'], // county-level city
    ['河南省焦作市修武县城关镇东关村', '河南省焦作市修武县***'],
    ['河南省济源市沁园街道宣化街1号', '河南省济源市***'], // no county level below 济源
    ['山西省晋城市城区凤台东街2566号', '山西省晋城市城区***'], // a district called 城区
    ['安徽省合肥市瑶海区胜利路1号', '安徽省合肥市瑶海区***'],
    ['河南省鹤壁市淇滨区九州路', '河南省鹤壁市淇滨区***'],
    ['北京市朝阳区建国路88号', '北京市朝阳区***'], // municipality
    ['上海市浦东新区世纪大道100号', '上海市浦东新区***'],
    ['重庆市石柱土家族自治县南宾街道', '重庆市石柱土家族自治县***'],
    ['新疆维吾尔自治区乌鲁木齐市天山区解放北路', '新疆维吾尔自治区乌鲁木齐市天山区***'], // 自治区 is not a district
    ['新疆维吾尔自治区乌鲁木齐市新市区北京南路', '新疆维吾尔自治区乌鲁木齐市新市区***'], // 市 inside a district name
    ['湖北省荆州市沙市区北京中路', '湖北省荆州市沙市区***'],
    ['山东省济南市市中区经四路', '山东省济南市市中区***'], // district name starting with 市
    ['湖北省恩施土家族苗族自治州恩施市舞阳大街', '湖北省恩施土家族苗族自治州恩施市***'],
    ['黑龙江省大兴安岭地区漠河市西林吉镇', '黑龙江省大兴安岭地区漠河市***'], // 地区 is a prefecture
    ['内蒙古自治区锡林郭勒盟锡林浩特市额尔敦路', '内蒙古自治区锡林郭勒盟锡林浩特市***'],
    ['内蒙古自治区呼伦贝尔市鄂温克族自治旗巴彦托海镇', '内蒙古自治区呼伦贝尔市鄂温克族自治旗***'],
    ['湖北省神农架林区松柏镇', '湖北省神农架林区***'],
    ['河北省唐山市路南区新华东道', '河北省唐山市路南区***'], // district name starting with 路
    ['河南省南阳市镇平县涅阳街道', '河南省南阳市镇平县***'],
    ['湖南省永州市道县濂溪街道', '湖南省永州市道县***'],
    ['云南省临沧市双江拉祜族佤族布朗族傣族自治县勐勐镇', '云南省临沧市双江拉祜族佤族布朗族傣族自治县***'],
    ['广东省东莞市南城街道鸿福路商业区', '广东省东莞市***'], // no county level; a later 区 is not taken
    ['沁阳市西向镇工业区88号', '沁阳市***'],
    ['解放区民主南路', '解放区***'],
    ['中国 河南省 焦作市 解放区 民主南路', '河南省焦作市解放区***'],
  ];
  for (const [input, want] of cases) {
    it(input, () => assert.equal(maskAddress(input), want));
  }

  it('over-masks rather than leaks when unsure', () => {
    assert.equal(maskAddress('河南省郑州市上街区济源路'), '河南省郑州市***'); // 上街区 looks like a street
    assert.equal(maskAddress('民主南路123号'), '***');
    assert.equal(maskAddress('3区5栋101室'), '***');
    assert.equal(maskAddress('焦作市区人民路'), '焦作市***');
  });

  it('returns a bare administrative address unchanged', () => {
    assert.equal(maskAddress('河南省焦作市'), '河南省焦作市');
    assert.equal(maskAddress(''), '');
  });
});

describe('free_text', () => {
  it('masks digit runs, IDs and phone numbers, and keeps short numbers and dates', () => {
    assert.equal(
      maskFreeText('申请人身份证41080219900101123X，手机 138 1234 5678，银行卡6222020200112233445。2024-01-15 到访3次，金额12345元'),
      '申请人身份证******************，手机 *** **** ****，银行卡*******************。2024-01-15 到访3次，金额12345元',
    );
    assert.equal(maskFreeText('电话13812345678'), '电话***********');
    assert.equal(maskFreeText('身份证 410802 19900101 1234'), '身份证 ****** ******** ****');
    assert.equal(maskFreeText('手机１３８１２３４５６７８'), '手机***********'); // full-width digits
    assert.equal(maskFreeText('𠀀先生 138123456'), '𠀀先生 *********');
  });
});

describe('applyProfile', () => {
  it('none passes through, hide and null give null', () => {
    assert.equal(applyProfile('none', 'x'), 'x');
    assert.deepEqual(applyProfile('none', { a: 1 }), { a: 1 });
    assert.equal(applyProfile('hide', '张三'), null);
    for (const p of PROFILES.filter((x) => x !== 'none')) {
      assert.equal(applyProfile(p, null), null);
      assert.equal(applyProfile(p, undefined), null);
    }
  });

  it('fails closed on values a text profile cannot mask', () => {
    assert.equal(applyProfile('name', true), null);
    assert.equal(applyProfile('address', { city: '焦作' }), null);
    assert.equal(applyProfile('free_text', Buffer.from('13812345678')), null);
    assert.equal(applyProfile('citizen_id', 410802900101123), '410802*****1123');
    assert.equal(applyProfile('citizen_id', 41080219900101), '**************'); // too short to keep anything
  });

  it('refuses an unknown profile instead of passing data through', () => {
    assert.throws(() => applyProfile('mask' as DesensitizationProfile, 'x'), RangeError);
    assert.throws(() => applyProfile('mask' as DesensitizationProfile, null), RangeError);
    assert.equal(DesensitizationProfile.safeParse('mask').success, false);
    assert.equal(DesensitizationProfile.safeParse('address').success, true);
  });
});

describe('desensitizeRow', () => {
  const row = { name: '张三丰', mobile: '13812345678', citizen_id: '110101199003071234', county: '410802', note: '住址不详', extra: 'secret' };
  const profiles = { name: 'name', mobile: 'mobile', citizen_id: 'citizen_id', county: 'none', note: 'hide' } as const;

  it('masks listed columns and drops unlisted ones by default', () => {
    assert.deepEqual(desensitizeRow(row, profiles), {
      name: '张**',
      mobile: '138****5678',
      citizen_id: '110101********1234',
      county: '410802',
      note: null,
    });
    assert.equal(row.name, '张三丰'); // input untouched
  });

  it('keeps unlisted columns only when asked', () => {
    assert.equal(desensitizeRow(row, profiles, { unlisted: 'keep' })['extra'], 'secret');
  });

  it('treats "constructor" and "__proto__" as ordinary columns', () => {
    const evil = JSON.parse('{"__proto__": {"polluted": true}, "constructor": "13812345678"}') as Record<string, unknown>;
    const out = desensitizeRow(evil, Object.fromEntries([['constructor', 'mobile']]) as Record<string, DesensitizationProfile>);
    assert.deepEqual(Object.keys(out), ['constructor']);
    assert.equal(out['constructor'], '138****5678');
    const kept = desensitizeRow(evil, {}, { unlisted: 'keep' });
    assert.equal(Object.getPrototypeOf(kept), Object.prototype);
    assert.deepEqual(Object.keys(kept), ['__proto__', 'constructor']);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });
});

describe('defaultProfileFor', () => {
  const item = (o: Partial<DataItem> & { name: string; code: string }): DataItem => DataItem.parse({ type: 'string', ...o });
  const cases: [DataItem, DesensitizationProfile][] = [
    [item({ name: '公民身份号码', code: 'gmsfhm', identifier: 'citizen_id', length: 18 }), 'citizen_id'],
    [item({ name: '身份证号', code: 'sfzh', identifier: 'citizen_id', sensitive: false }), 'citizen_id'], // an ID is always masked
    [item({ name: '统一社会信用代码', code: 'credit_code', identifier: 'credit_code' }), 'none'],
    [item({ name: '姓名', code: 'xm', sensitive: true }), 'name'],
    [item({ name: '法定代表人', code: 'legal_rep', sensitive: true }), 'name'],
    [item({ name: 'Full name', code: 'full_name', sensitive: true }), 'name'],
    [item({ name: '手机号码', code: 'sjhm', sensitive: true }), 'mobile'],
    [item({ name: '联系电话', code: 'lxdh', sensitive: true, type: 'integer' }), 'mobile'],
    [item({ name: 'Contact', code: 'contact_phone', sensitive: true }), 'mobile'],
    [item({ name: '家庭住址', code: 'jtzz', sensitive: true }), 'address'],
    [item({ name: 'Home', code: 'home_address', sensitive: true }), 'address'],
    [item({ name: '监护人证件号码', code: 'guardian_cert_no', sensitive: true }), 'citizen_id'],
    [item({ name: '病史', code: 'medical_history', sensitive: true }), 'free_text'],
    [item({ name: '出生日期', code: 'birth_date', sensitive: true, type: 'date' }), 'hide'],
    [item({ name: '月收入', code: 'income', sensitive: true, type: 'decimal' }), 'hide'],
    [item({ name: '姓名', code: 'xm' }), 'none'], // not marked sensitive
    [item({ name: '登记机关', code: 'authority' }), 'none'],
  ];
  for (const [it_, want] of cases) {
    it(`${it_.name} (${it_.code}) → ${want}`, () => assert.equal(defaultProfileFor(it_), want));
  }
});
