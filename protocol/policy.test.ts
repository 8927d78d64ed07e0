/** @module Tests of the regulation presets and policy overrides. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadPolicy, Policy, POLICY_PRESETS, PolicyError } from './policy.ts';

describe('policy presets', () => {
  it('every preset is a valid Policy named after itself', () => {
    for (const [name, p] of Object.entries(POLICY_PRESETS)) {
      assert.deepEqual(Policy.parse(p), p);
      assert.equal(p.name, name);
    }
    assert.deepEqual(Object.keys(POLICY_PRESETS).sort(), ['hebi', 'jiaozuo', 'jincheng', 'jiyuan', 'yaohai']);
  });

  it('audit retention: Jiyuan §28 ≥ 6 months (184 days covers any 6 months), Hebi §13 ≥ 3 years (1096)', () => {
    assert.equal(loadPolicy('jiyuan').auditRetentionDays, 184);
    assert.equal(loadPolicy('hebi').auditRetentionDays, 1096);
    // 6 months from 1 July is 184 days; from 1 August too (Aug..Jan).
    assert.equal((Date.UTC(2024, 0, 1) - Date.UTC(2023, 6, 1)) / 86_400_000, 184);
    assert.equal((Date.UTC(2027, 2, 1) - Date.UTC(2024, 2, 1)) / 86_400_000, 1095);
    assert.equal((Date.UTC(2024, 2, 1) - Date.UTC(2021, 2, 1)) / 86_400_000, 1096);
    // Silent regulations get the documented default (Cybersecurity Law §21(3), ≥ 6 months).
    for (const name of ['jincheng', 'yaohai', 'jiaozuo']) assert.equal(loadPolicy(name).auditRetentionDays, 184);
  });

  it('sharing workflow: Jincheng §30–31 and Yaohai §14 silent consent', () => {
    const j = loadPolicy('jincheng');
    assert.equal(j.reviewDeadlineWorkingDays, 2);
    assert.deepEqual(j.providerReplyWorkingDays, { published: 5, unpublished: 10 });
    assert.equal(j.maxGrantDays, 1095);
    assert.equal(j.revokeUnusedAfterDays, 92);
    assert.deepEqual(loadPolicy('yaohai').silentConsent, { enabled: true, afterWorkingDays: 5 });
    for (const name of ['jincheng', 'jiyuan', 'hebi', 'jiaozuo']) assert.equal(loadPolicy(name).silentConsent.enabled, false);
    assert.deepEqual(loadPolicy('hebi').providerReplyWorkingDays, { published: 5, unpublished: 5 });
  });

  it('corrections (R6): Jiyuan §24 5+10, Hebi §13 / Jiaozuo §14 10 (+10), Jincheng §32 5, Yaohai §10 10', () => {
    assert.deepEqual(loadPolicy('jiyuan').correction, { verifyWorkingDays: 5, extensionWorkingDays: 0, correctWorkingDays: 10 });
    assert.deepEqual(loadPolicy('hebi').correction, { verifyWorkingDays: 10, extensionWorkingDays: 10, correctWorkingDays: null });
    assert.deepEqual(loadPolicy('jiaozuo').correction, { verifyWorkingDays: 10, extensionWorkingDays: 10, correctWorkingDays: null });
    assert.deepEqual(loadPolicy('jincheng').correction, { verifyWorkingDays: 5, extensionWorkingDays: 0, correctWorkingDays: 5 });
    assert.deepEqual(loadPolicy('yaohai').correction, { verifyWorkingDays: 10, extensionWorkingDays: 0, correctWorkingDays: null });
  });

  it('catalog updates (R1): Jiyuan §19 5, Hebi §10 / Jiaozuo §10 / Yaohai §10 10, Jincheng §12 15', () => {
    assert.deepEqual(Object.fromEntries(Object.entries(POLICY_PRESETS).map(([k, p]) => [k, p.catalog.updateWorkingDays])), {
      jincheng: 15,
      yaohai: 10,
      jiyuan: 5,
      hebi: 10,
      jiaozuo: 10,
    });
  });
});

describe('sharing flows per city (R5)', () => {
  it('Jincheng §29–30 review; Yaohai §14 / Hebi §15 provider; Jiaozuo §19(1) authority; Yaohai §13 thematic data shared', () => {
    const flows = Object.fromEntries(Object.entries(POLICY_PRESETS).map(([k, p]) => [k, p.sharingFlow]));
    assert.deepEqual(flows['jincheng'], {
      unconditional: 'compliance_review',
      conditional: 'authority_then_provider',
      notShared: 'coordination',
      platformAuthorization: true,
      thematicMustBeShared: false,
    });
    assert.deepEqual(flows['yaohai'], { unconditional: 'direct', conditional: 'provider', notShared: 'coordination', platformAuthorization: false, thematicMustBeShared: true });
    assert.deepEqual(flows['hebi'], { unconditional: 'direct', conditional: 'provider', notShared: 'coordination', platformAuthorization: false, thematicMustBeShared: false });
    assert.deepEqual(flows['jiaozuo'], { unconditional: 'direct', conditional: 'authority', notShared: 'authority', platformAuthorization: false, thematicMustBeShared: false });
    assert.equal(flows['jiyuan']?.unconditional, 'compliance_review');
  });

  it('overrides may change one flow setting and keep the rest', () => {
    const p = loadPolicy('jincheng', { sharingFlow: { unconditional: 'direct' } });
    assert.equal(p.sharingFlow.unconditional, 'direct');
    assert.equal(p.sharingFlow.platformAuthorization, true);
    assert.throws(() => loadPolicy('jincheng', { sharingFlow: { conditional: 'nobody' } }), PolicyError);
  });
});

describe('loadPolicy', () => {
  it('returns a copy: changing it leaves the preset alone', () => {
    const p = loadPolicy('hebi');
    p.correction.verifyWorkingDays = 99;
    assert.equal(loadPolicy('hebi').correction.verifyWorkingDays, 10);
  });

  it('applies deep-partial overrides, keeping the rest of each nested object', () => {
    const p = loadPolicy('jiyuan', { auditRetentionDays: 400, correction: { extensionWorkingDays: 5 }, silentConsent: { enabled: true } });
    assert.equal(p.auditRetentionDays, 400);
    assert.deepEqual(p.correction, { verifyWorkingDays: 5, extensionWorkingDays: 5, correctWorkingDays: 10 });
    assert.deepEqual(p.silentConsent, { enabled: true, afterWorkingDays: 5 });
    assert.equal(p.name, 'jiyuan');
    assert.deepEqual(loadPolicy('jiyuan', {}), loadPolicy('jiyuan'));
  });

  it('refuses unknown presets, unknown keys, wrong types and non-positive days, in both languages', () => {
    assert.throws(
      () => loadPolicy('beijing'),
      (e: unknown) => e instanceof PolicyError && /未知的政策预设 beijing/.test(e.zh) && /unknown policy preset beijing/.test(e.en),
    );
    assert.throws(() => loadPolicy('toString'), PolicyError);
    assert.throws(() => loadPolicy('hebi', { auditRetentionDay: 2000 }), /政策覆盖项无效.*invalid policy overrides/s);
    assert.throws(() => loadPolicy('hebi', { correction: { verifyDays: 3 } }), PolicyError);
    assert.throws(() => loadPolicy('hebi', { maxGrantDays: '1000' }), /maxGrantDays/);
    assert.throws(() => loadPolicy('hebi', { reviewDeadlineWorkingDays: 0 }), PolicyError);
    assert.throws(() => loadPolicy('hebi', { name: 'other' }), PolicyError);
    assert.throws(() => loadPolicy('hebi', 'x'), PolicyError);
  });

  it('refuses shortening audit retention below the regulation (Hebi §13: 不得少于 3 年)', () => {
    assert.throws(
      () => loadPolicy('hebi', { auditRetentionDays: 365 }),
      (e: unknown) => e instanceof PolicyError && /1096/.test(e.en) && /不得短于/.test(e.zh),
    );
    assert.equal(loadPolicy('hebi', { auditRetentionDays: 2000 }).auditRetentionDays, 2000);
  });
});
