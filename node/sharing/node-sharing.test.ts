/** @module A grant's status as the department sees it at its node: from the held revocation list and the node's clock. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openDatabase } from '../../engine/storage/db.ts';
import { AuditLog } from '../../engine/audit/log.ts';
import { createLogger } from '../../engine/log.ts';
import { Outbox } from '../../engine/storage/outbox.ts';
import { signGrant, signRevocationList } from '../../protocol/grant.ts';
import { signingKeyPairFromSeed, type SigningKeyPair } from '../../protocol/keys.ts';
import { loadSodium } from '../../protocol/sodium.ts';
import { uuidv7 } from '../../protocol/uuid7.ts';
import { NODE_MIGRATIONS } from '../storage/migrations.ts';
import { NodeSharing, NODE_SHARING_AUDIT_ACTIONS } from './node-sharing.ts';

const HUB = 'hub-410800';
const T0 = Date.parse('2026-03-02T02:00:00.000Z');
const root = mkdtempSync(join(tmpdir(), 'jilian-node-sharing-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('NodeSharing.grants() status', () => {
  let hub: SigningKeyPair;
  before(async () => {
    await loadSodium();
    hub = signingKeyPairFromSeed(new Uint8Array(32).fill(7));
  });

  it('unusable without a revocation list, active with a fresh one, then suspended with the hub’s reason, then expired', () => {
    let now = T0;
    const clock = { now: () => new Date(now) };
    const db = openDatabase(join(root, 'n.db'), NODE_MIGRATIONS);
    const sharing = new NodeSharing({
      db,
      outbox: new Outbox(db),
      audit: new AuditLog(db, clock, { actions: NODE_SHARING_AUDIT_ACTIONS }),
      clock,
      log: createLogger('test', { level: 'silent' }),
      municipality: '410800',
      county: '410811',
      nodeId: 'county-410811',
      hubId: HUB,
      hubKeys: () => [hub.publicKey],
    });
    const grantId = uuidv7(T0 - 3_600_000);
    sharing.onGrant(
      signGrant(
        {
          grantId,
          applicationId: 'app-1',
          consumer: { nodeId: 'county-410811', county: '410811', department: 'jc-mzj' },
          provider: { county: '410802', department: 'jc-gaj' },
          resource: '410802-0f8e4b1a-6c3d-4e2f-9a7b-1c2d3e4f5a6b',
          resourceCode: null,
          items: ['citizen_id'],
          rowFilter: null,
          methods: ['query'],
          purpose: '最低生活保障资格审核',
          scenario: '身份核实',
          desensitization: { citizen_id: 'citizen_id' },
          validFrom: new Date(T0).toISOString(),
          validUntil: new Date(T0 + 30 * 86_400_000).toISOString(),
          verifyRatePerMinute: 60,
          issuedAt: new Date(T0 - 3_600_000).toISOString(),
          issuer: HUB,
          policy: 'jincheng',
        },
        hub.secretKey,
      ),
    );
    const status = () => sharing.grants('jc-mzj')[0]!.status;
    assert.equal(status().state, 'unusable', 'a provider refuses every grant until it holds a fresh list');
    assert.match(status().reason!, /^REVOCATIONS_/);
    const list = (serial: number, entries: { grantId: string; kind: 'suspended'; reason: string; at: string }[]) =>
      signRevocationList({ issuer: HUB, serial, issuedAt: new Date(now).toISOString(), nextUpdate: new Date(now + 86_400_000).toISOString(), entries }, hub.secretKey);
    sharing.onRevocations(list(1, []));
    assert.deepEqual(status(), { state: 'active', reason: null, at: null });
    now += 3_600_000;
    sharing.onRevocations(list(2, [{ grantId, kind: 'suspended', reason: '涉嫌超范围使用（济源 §36）', at: new Date(now).toISOString() }]));
    assert.equal(status().state, 'suspended');
    assert.equal(status().reason, '涉嫌超范围使用（济源 §36）');
    sharing.onRevocations(list(3, []));
    now = T0 + 31 * 86_400_000;
    assert.equal(status().state, 'expired');
    db.close();
  });
});
