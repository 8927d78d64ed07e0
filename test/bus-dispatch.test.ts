/**
 * @module Typed dispatch at the two stream receivers (issue 10): a validly signed envelope of a known
 * type outside the UP set is refused as MESSAGE_UNKNOWN_TYPE without an inbox record; on DOWN it is
 * recorded and ignored (PROTOCOL.md §9 step 5); the type sets are exactly the handler maps' keys.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { JsMsg } from '@nats-io/jetstream';
import { CheckpointStore } from '../engine/audit/checkpoint.ts';
import { CatalogStore } from '../engine/catalog/catalog-store.ts';
import type { Logger } from '../engine/log.ts';
import { openDatabase, type Db } from '../engine/storage/db.ts';
import { Inbox } from '../engine/storage/inbox.ts';
import { Outbox } from '../engine/storage/outbox.ts';
import { CodeAllocator, DEFAULT_CODE_TEMPLATE } from '../hub/catalog/code-template.ts';
import { TotalCatalog } from '../hub/catalog/total-catalog.ts';
import { KeyDirectoryService } from '../hub/keys/directory.ts';
import { RejectionLog } from '../hub/bus/rejections.ts';
import { createUpHandler, UP_TYPES } from '../hub/bus/up-handler.ts';
import { HUB_MIGRATIONS } from '../hub/storage/migrations.ts';
import { NodeRegistry } from '../hub/storage/registry.ts';
import { createDownHandler, DOWN_TYPES } from '../node/bus/down-handler.ts';
import type { CatalogService } from '../node/catalog/catalog-service.ts';
import { NODE_MIGRATIONS } from '../node/storage/migrations.ts';
import { encodeEnvelope, type AnyEnvelope } from '../protocol/envelope.ts';
import { encodePublicKey, signingKeyPairFromSeed, type SigningKeyPair } from '../protocol/keys.ts';
import { loadSodium } from '../protocol/sodium.ts';
import { upSubject } from '../protocol/subjects.ts';

const MUNI = '410800';
const COUNTY = '410802';
const NODE = `county-${COUNTY}`;
const HUB = `hub-${MUNI}`;
const TS = '2025-03-04T05:06:07.890Z';
const NOW = new Date(TS);
const ENTRY = `${COUNTY}-0f8e4b1a-6c3d-4e2f-9a7b-1c2d3e4f5a6b`;
const silent = { warn: () => undefined, error: () => undefined, info: () => undefined, debug: () => undefined } as unknown as Logger;
const clock = { now: () => NOW };
const msgOf = (subject: string, data: Uint8Array) => ({ subject, data }) as unknown as JsMsg;

let dir: string;
let county: SigningKeyPair;
let hub: SigningKeyPair;
const open: Db[] = [];
before(async () => {
  await loadSodium();
  county = signingKeyPairFromSeed(new Uint8Array(32).fill(3));
  hub = signingKeyPairFromSeed(new Uint8Array(32).fill(4));
  dir = mkdtempSync(join(tmpdir(), 'jilian-dispatch-'));
});
after(() => {
  for (const db of open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

function hubSetup() {
  const db = openDatabase(join(dir, `hub-${open.length}.db`), HUB_MIGRATIONS, { synchronous: 'normal' });
  open.push(db);
  const outbox = new Outbox(db);
  const catalog = new TotalCatalog({ db, store: new CatalogStore(db), outbox, clock, codes: new CodeAllocator(db, DEFAULT_CODE_TEMPLATE), municipality: MUNI, clientId: 7_654_321 });
  const registry = new NodeRegistry(db, clock);
  registry.register({ nodeId: NODE, county: COUNTY, publicKey: encodePublicKey(county.publicKey) }, NOW);
  const directory = new KeyDirectoryService({
    db,
    registry,
    outbox,
    clock,
    municipality: MUNI,
    hub: { nodeId: HUB, signingKey: encodePublicKey(hub.publicKey), encryptionKey: encodePublicKey(hub.publicKey) },
    graceMs: 3_600_000,
  });
  const inbox = new Inbox(db);
  const rejections = new RejectionLog(db, silent);
  const up = createUpHandler({ db, registry, inbox, catalog, directory, checkpoints: new CheckpointStore(db), rejections, clock, municipality: MUNI });
  return { up, inbox, rejections };
}

describe('typed dispatch at the stream receivers', () => {
  it('the UP and DOWN type sets', () => {
    assert.deepEqual([...UP_TYPES].sort(), ['application.decide', 'application.submit', 'audit.checkpoint', 'catalog.update', 'keys.rotate', 'package.offer']);
    assert.deepEqual([...DOWN_TYPES].sort(), ['application.update', 'catalog.update', 'grant.issue', 'grant.revocations', 'keys.directory', 'package.grant', 'package.resume', 'package.status']);
  });

  it('UP: a known type outside the set, or one whose service is absent, is refused as MESSAGE_UNKNOWN_TYPE', () => {
    const h = hubSetup();
    const sent: [AnyEnvelope, string][] = [
      [{ type: 'error', from: NODE, seq: 1, ts: TS, payload: { code: 'X', message: 'y' } }, 'error is not accepted on the UP stream'],
      [{ type: 'catalog.sync.pull', from: NODE, seq: 2, ts: TS, payload: { entries: [{ id: ENTRY, sv: '' }] } }, 'catalog.sync.pull is not accepted on the UP stream'],
      // Declared, but this hub has no sharing service.
      [
        {
          type: 'application.decide',
          from: NODE,
          seq: 3,
          ts: TS,
          payload: { applicationId: '01890a5d-ac96-774b-bcce-b302099a8057', actor: { id: 'a', department: 'dept-1' }, event: { type: 'compliance_approve' } },
        },
        'application.decide is not accepted on the UP stream',
      ],
    ];
    for (const [env] of sent) h.up.handle(msgOf(upSubject(MUNI, COUNTY, env.type), encodeEnvelope(env, county.secretKey)));
    const got = h.rejections.recent(10).reverse();
    assert.deepEqual(
      got.map((r) => [r.code, r.message, r.sender]),
      sent.map(([, m]) => ['MESSAGE_UNKNOWN_TYPE', m, NODE]),
    );
    assert.equal(h.up.stats.rejected, sent.length);
    assert.equal(h.up.stats.applied, 0);
    for (const [env] of sent) assert.equal(h.inbox.seen(NODE, env.seq), false);
  });

  it('DOWN: a hub-signed known type outside the set reaches no handler and is recorded and ignored', () => {
    const db = openDatabase(join(dir, 'node.db'), NODE_MIGRATIONS, { synchronous: 'normal' });
    open.push(db);
    const inbox = new Inbox(db);
    const warned: string[] = [];
    const log = { ...silent, warn: (o: { code: string }) => void warned.push(o.code) } as unknown as Logger;
    const calls: string[] = [];
    const down = createDownHandler({
      db,
      inbox,
      service: { applyRemote: () => calls.push('applyRemote') } as unknown as CatalogService,
      clock,
      log,
      hubId: HUB,
      hubKey: hub.publicKey,
      county: COUNTY,
      onDirectory: () => calls.push('onDirectory'),
      onContact: () => undefined,
    });
    const bytes = encodeEnvelope({ type: 'error', from: HUB, seq: 5, ts: TS, payload: { code: 'X', message: 'y' } }, hub.secretKey);
    down.handle(msgOf(`jl.${MUNI}.down.all.error`, bytes));
    assert.deepEqual(warned, []);
    assert.deepEqual(calls, []);
    assert.deepEqual(down.stats, { applied: 1, duplicates: 0, rejected: 0 });
    assert.equal(inbox.seen(HUB, 5), true);
    // An accepted type still reaches its handler.
    const update = encodeEnvelope({ type: 'catalog.update', from: HUB, seq: 6, ts: TS, payload: { origin: '410803', updates: [{ entryId: ENTRY, update: 'AQABAgM=' }] } }, hub.secretKey);
    down.handle(msgOf(`jl.${MUNI}.down.all.catalog.update`, update));
    assert.deepEqual(calls, ['applyRemote']);
    assert.deepEqual(down.stats, { applied: 2, duplicates: 0, rejected: 0 });
    assert.equal(inbox.seen(HUB, 6), true);
  });
});
