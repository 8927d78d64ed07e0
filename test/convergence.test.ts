/**
 * @module Seeded random-network convergence of catalog entry documents (hub + counties), and the
 * storage-growth bound of the per-entry Yjs state.
 *
 * Replicas use protocol/catalog-doc.ts exactly as production does: counties write `content` of their
 * own entries and apply whatever arrives; the hub writes `review` and merges county updates with
 * `applyChecked` on a scratch copy loaded from its stored state, discarding refused ones (an update
 * that arrives before its dependencies is refused with UPDATE_MISSING_DEPENDENCIES and left to
 * anti-entropy). The network reorders, duplicates, delays and drops messages; a final anti-entropy
 * phase exchanges state-vector diffs. Every replica must then hold the same roots and state vectors.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as Y from 'yjs';
import { applyChecked, CONTENT_ROOT, docStateVector, encodeEntryState, encodeStateVectorText, type EntryRoot, loadEntryDoc, readRoot, REVIEW_ROOT, writeRoot } from '../protocol/catalog-doc.ts';
import { UPDATE_CYCLES, GRADES, SHARING_METHODS, type CatalogContent } from '../protocol/catalog-entry.ts';
import { sampleCatalogContents } from './helpers/catalog-samples.ts';
import { contentHash } from '../protocol/catalog-view.ts';
import { ProtocolError } from '../protocol/errors.ts';
import { countyOfEntry, ENTRY_ID_RE } from '../protocol/messages.ts';
import { loadSodium } from '../protocol/sodium.ts';
import { mulberry32, type Prng } from './helpers/prng.ts';

const COUNTIES = ['410802', '410803', '410804'] as const;
const HUB = 'hub';
const COUNTY_ROOTS: ReadonlySet<string> = new Set([CONTENT_ROOT]);

const SEEDS = 20;
const STEPS = 400;
const DROP = 0.1;
const DUPLICATE = 0.15;

/** A random entry id of `county` in the production shape `<county>-<uuid>`. */
function entryIdFor(prng: Prng, county: string): string {
  const hex = (n: number) => Array.from({ length: n }, () => prng.int(16).toString(16)).join('');
  const id = `${county}-${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
  assert.match(id, ENTRY_ID_RE);
  return id;
}

/** A county node's replica: holds every entry it has heard of; applies remote updates unchecked. */
class CountyReplica {
  readonly docs = new Map<string, Y.Doc>();
  constructor(
    readonly name: string,
    readonly county: string,
    readonly clientId: number,
  ) {}

  doc(id: string): Y.Doc {
    let doc = this.docs.get(id);
    if (!doc) this.docs.set(id, (doc = loadEntryDoc(this.clientId)));
    return doc;
  }

  /** Counties apply what arrives; Yjs keeps structs whose dependencies are missing pending. */
  receive(id: string, update: Uint8Array): void {
    Y.applyUpdate(this.doc(id), update, 'remote');
  }

  ownEntries(): string[] {
    return [...this.docs.keys()].filter((id) => countyOfEntry(id) === this.county && Object.keys(readRoot(this.docs.get(id)!, CONTENT_ROOT)).length > 0);
  }

  snapshot(id: string): Y.Doc | undefined {
    return this.docs.get(id);
  }
}

/** The hub: stores each entry as its full state; merges county updates under the ownership rules. */
class HubReplica {
  readonly name = HUB;
  readonly stored = new Map<string, Uint8Array>();
  readonly hubClients: ReadonlySet<number>;
  refusedMissingDeps = 0;

  constructor(readonly clientId: number) {
    this.hubClients = new Set([clientId]);
  }

  /** Like TotalCatalog.applyFromCounty: true if accepted and something changed (then it is relayed). */
  receive(fromCounty: string, id: string, update: Uint8Array): boolean {
    if (countyOfEntry(id) !== fromCounty) throw new ProtocolError('UPDATE_FORBIDDEN', `county ${fromCounty} may not change ${id}`);
    const scratch = loadEntryDoc(this.clientId, this.stored.get(id));
    try {
      const { changedRoots } = applyChecked(scratch, update, COUNTY_ROOTS, this.hubClients, fromCounty);
      if (changedRoots.size === 0) return false;
    } catch (err) {
      // Only missing dependencies are expected here; anything else means the model or the code is wrong.
      if (err instanceof ProtocolError && err.code === 'UPDATE_MISSING_DEPENDENCIES') {
        this.refusedMissingDeps++;
        return false;
      }
      throw err;
    }
    this.stored.set(id, encodeEntryState(scratch));
    return true;
  }

  /** Like TotalCatalog.review: load, write `review`, store the full state, broadcast the update. */
  writeReview(id: string, fields: Record<string, unknown>): Uint8Array | null {
    const doc = loadEntryDoc(this.clientId, this.stored.get(id));
    const update = writeRoot(doc, REVIEW_ROOT, fields, 'hub');
    if (update) this.stored.set(id, encodeEntryState(doc));
    return update;
  }

  snapshot(id: string): Y.Doc | undefined {
    const state = this.stored.get(id);
    return state ? loadEntryDoc(this.clientId, state) : undefined;
  }
}

type Replica = CountyReplica | HubReplica;

interface Message {
  from: string;
  fromCounty: string | null;
  to: Replica;
  entryId: string;
  update: Uint8Array;
}

/** A random new value for a content field: distinct per write, so divergence cannot hide behind equal values. */
function randomContentFields(prng: Prng, writer: string, n: number): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  const count = 1 + prng.int(2);
  for (let i = 0; i < count; i++) {
    switch (prng.int(6)) {
      case 0:
        fields.abstract = `摘要 ${writer}#${n}.${i}`;
        break;
      case 1:
        fields.name = `资源 ${writer}#${n}.${i}`;
        break;
      case 2:
        fields.updateCycle = prng.pick(UPDATE_CYCLES);
        break;
      case 3:
        fields.grading = prng.pick(GRADES);
        break;
      case 4:
        fields.publishDate = `2024-0${1 + prng.int(9)}-1${prng.int(10)}`;
        break;
      default:
        fields.sharingMethods = SHARING_METHODS.filter(() => prng.chance(0.5));
        break;
    }
  }
  return fields;
}

function randomReviewFields(prng: Prng, n: number): Record<string, unknown> {
  return prng.pick([
    { status: 'approved', code: `410800-X-${String(n).padStart(6, '0')}`, reviewer: `admin${prng.int(3)}`, reason: null },
    { status: 'rejected', reason: `理由 #${n}`, reviewer: `admin${prng.int(3)}` },
    { status: 'pending', reviewer: null, reviewedAt: `2024-05-0${1 + prng.int(9)}T08:00:00Z` },
    { reviewer: `admin${prng.int(3)}#${n}` },
  ]);
}

interface RunStats {
  refusedMissingDeps: number;
  dropped: number;
  concurrentSameField: number;
  restoredWrites: number;
  rounds: number;
  entries: number;
}

/** One seeded run: random ops and deliveries, then anti-entropy; asserts convergence. */
function runSeed(seed: number): RunStats {
  const prng = mulberry32(seed);
  const usedIds = new Set<number>();
  const freshClientId = () => {
    let id: number;
    do id = prng.uint32();
    while (id === 0 || usedIds.has(id));
    usedIds.add(id);
    return id;
  };
  const hub = new HubReplica(freshClientId());
  const counties: CountyReplica[] = COUNTIES.map((c) => new CountyReplica(c, c, freshClientId()));
  const replicas: Replica[] = [hub, ...counties];
  const network: Message[] = [];
  let restored: CountyReplica | null = null;
  const restoreAt = 50 + prng.int(STEPS / 2);
  const stats: RunStats = { refusedMissingDeps: 0, dropped: 0, concurrentSameField: 0, restoredWrites: 0, rounds: 0, entries: 0 };
  /** Per (entry, root.field): the Yjs ids of every write so far, to count truly concurrent writes of one field. */
  const writes = new Map<string, { client: number; clock: number }[]>();
  const samples = sampleCatalogContents();
  let n = 0;

  const send = (from: Replica, entryId: string, update: Uint8Array) => {
    const fromCounty = from instanceof CountyReplica ? from.county : null;
    for (const to of replicas) if (to !== from) network.push({ from: from.name, fromCounty, to, entryId, update });
  };
  const trackWrites = (writer: CountyReplica | HubReplica, doc: Y.Doc, root: EntryRoot, entryId: string, fields: Record<string, unknown>) => {
    const sv = Y.decodeStateVector(Y.encodeStateVector(doc));
    const clock = sv.get(writer.clientId) ?? 0;
    for (const key of Object.keys(fields)) {
      const list = writes.get(`${entryId}/${root}.${key}`) ?? [];
      if (list.some((w) => w.client !== writer.clientId && (sv.get(w.client) ?? 0) <= w.clock)) stats.concurrentSameField++;
      list.push({ client: writer.clientId, clock });
      writes.set(`${entryId}/${root}.${key}`, list);
    }
  };

  const countyOp = (r: CountyReplica) => {
    const own = r.ownEntries();
    n++;
    if (own.length === 0 || (own.length < 3 && prng.chance(0.2))) {
      const id = entryIdFor(prng, r.county);
      const base = samples[prng.int(samples.length)]!;
      const update = writeRoot(r.doc(id), CONTENT_ROOT, { ...base, name: `${base.name} ${r.name}#${n}` });
      assert.ok(update, 'creating an entry produces an update');
      send(r, id, update);
      return;
    }
    const id = prng.pick(own);
    const doc = r.doc(id);
    const fields = randomContentFields(prng, r.name, n);
    trackWrites(r, doc, CONTENT_ROOT, id, fields);
    const update = writeRoot(doc, CONTENT_ROOT, fields);
    if (!update) return;
    if (r === restored) stats.restoredWrites++;
    send(r, id, update);
  };

  const hubOp = () => {
    const ids = [...hub.stored.keys()];
    if (ids.length === 0) return;
    const id = prng.pick(ids);
    n++;
    const fields = randomReviewFields(prng, n);
    trackWrites(hub, hub.snapshot(id)!, REVIEW_ROOT, id, fields);
    const update = hub.writeReview(id, fields);
    if (update) send(hub, id, update);
  };

  const deliver = (m: Message) => {
    if (m.to instanceof HubReplica) {
      // The hub relays what it accepted to every node, as TotalCatalog's broadcast does.
      if (m.to.receive(m.fromCounty!, m.entryId, m.update)) send(hub, m.entryId, m.update);
    } else m.to.receive(m.entryId, m.update);
  };

  const networkStep = () => {
    if (network.length === 0) return;
    const m = network.splice(prng.int(network.length), 1)[0]!;
    if (prng.chance(DROP)) {
      stats.dropped++;
      return;
    }
    if (prng.chance(DUPLICATE)) network.push(m);
    deliver(m);
  };

  for (let step = 0; step < STEPS; step++) {
    if (step === restoreAt) {
      // County A is restored from a snapshot under a new client id while the old replica keeps writing.
      const a = counties[0]!;
      const r = new CountyReplica(`${a.county}'`, a.county, freshClientId());
      for (const [id, doc] of a.docs) r.docs.set(id, loadEntryDoc(r.clientId, encodeEntryState(doc)));
      counties.push(r);
      replicas.push(r);
      restored = r;
    }
    if (prng.chance(0.45)) {
      const actor = prng.pick(replicas);
      if (actor instanceof HubReplica) hubOp();
      else countyOp(actor);
    } else {
      networkStep();
    }
  }
  // Let the network drain (still reordering, duplicating and dropping), then repair by anti-entropy.
  while (network.length > 0) networkStep();

  const allIds = () => {
    const ids = new Set<string>(hub.stored.keys());
    for (const c of counties) for (const id of c.docs.keys()) ids.add(id);
    return [...ids].sort();
  };
  const svOf = (r: Replica, id: string): string => {
    const doc = r.snapshot(id);
    return doc ? docStateVector(doc) : '';
  };
  const converged = () => allIds().every((id) => replicas.every((r) => svOf(r, id) === svOf(hub, id)));

  while (!converged()) {
    stats.rounds++;
    assert.ok(stats.rounds <= 10, `seed ${seed}: anti-entropy did not converge in 10 rounds`);
    for (const id of allIds()) {
      for (const from of replicas) {
        for (const to of replicas) {
          if (from === to) continue;
          // Production: the hub only takes an entry's diffs from its owning county.
          if (to instanceof HubReplica && (from as CountyReplica).county !== countyOfEntry(id)) continue;
          const src = from.snapshot(id);
          if (!src) continue;
          const diff = encodeEntryState(src, encodeStateVectorText(svOf(to, id)));
          if (to instanceof HubReplica) to.receive((from as CountyReplica).county, id, diff);
          else to.receive(id, diff);
        }
      }
    }
  }

  const ids = allIds();
  stats.entries = ids.length;
  for (const id of ids) {
    const ref = hub.snapshot(id);
    assert.ok(ref, `seed ${seed}: hub lacks ${id}`);
    const expected = { content: readRoot(ref, CONTENT_ROOT), review: readRoot(ref, REVIEW_ROOT), sv: docStateVector(ref) };
    assert.ok(Object.keys(expected.content).length > 0, `seed ${seed}: ${id} has no content at the hub`);
    for (const r of counties) {
      const doc = r.snapshot(id);
      assert.ok(doc, `seed ${seed}: ${r.name} lacks ${id}`);
      assert.equal(doc.store.pendingStructs, null, `seed ${seed}: ${r.name} has pending structs for ${id}`);
      assert.equal(doc.store.pendingDs, null, `seed ${seed}: ${r.name} has a pending delete set for ${id}`);
      assert.equal(doc.clientID, r.clientId, `seed ${seed}: ${r.name} lost its client id`);
      const got = { content: readRoot(doc, CONTENT_ROOT), review: readRoot(doc, REVIEW_ROOT), sv: docStateVector(doc) };
      assert.deepEqual(got, expected, `seed ${seed}: ${r.name} diverges from the hub on ${id}`);
    }
  }
  stats.refusedMissingDeps = hub.refusedMissingDeps;
  return stats;
}

describe('convergence over a lossy, reordering, duplicating network', () => {
  before(async () => {
    await loadSodium();
  });

  it(`${SEEDS} seeds × ${STEPS} steps: hub and counties (one restored under a new client id) end identical`, () => {
    const total: RunStats = { refusedMissingDeps: 0, dropped: 0, concurrentSameField: 0, restoredWrites: 0, rounds: 0, entries: 0 };
    for (let seed = 1; seed <= SEEDS; seed++) {
      const s = runSeed(seed);
      for (const k of Object.keys(total) as (keyof RunStats)[]) total[k] += s[k];
    }
    // The scenarios must actually exercise what they claim to.
    assert.ok(total.dropped > 0, 'messages were dropped');
    assert.ok(total.refusedMissingDeps > 0, 'the hub refused updates that arrived before their dependencies');
    assert.ok(total.concurrentSameField > 0, 'some writes of one field were concurrent');
    assert.ok(total.restoredWrites > 0, 'the restored replica wrote');
    assert.ok(total.rounds >= SEEDS, 'every seed needed anti-entropy');
  });

  it('concurrent writes of one content field by two replicas of one county resolve to the same value everywhere', () => {
    const hub = new HubReplica(7);
    const before = new CountyReplica('A', COUNTIES[0], 100);
    const id = entryIdFor(mulberry32(1), COUNTIES[0]);
    const create = writeRoot(before.doc(id), CONTENT_ROOT, sampleCatalogContents()[0]!)!;
    assert.equal(hub.receive(COUNTIES[0], id, create), true);
    const after = new CountyReplica("A'", COUNTIES[0], 200);
    after.docs.set(id, loadEntryDoc(after.clientId, encodeEntryState(before.doc(id))));

    const u1 = writeRoot(before.doc(id), CONTENT_ROOT, { abstract: 'before restore' })!;
    const u2 = writeRoot(after.doc(id), CONTENT_ROOT, { abstract: 'after restore' })!;
    const u3 = hub.writeReview(id, { status: 'rejected', reason: 'concurrent' })!;
    // Opposite orders at the two county replicas; the hub sees u2 first.
    before.receive(id, u3);
    before.receive(id, u2);
    after.receive(id, u1);
    after.receive(id, u3);
    assert.equal(hub.receive(COUNTIES[0], id, u2), true);
    assert.equal(hub.receive(COUNTIES[0], id, u1), true);
    const values = [before, after, hub].map((r) => readRoot(r.snapshot(id)!, CONTENT_ROOT).abstract);
    assert.equal(new Set(values).size, 1, `one winner: ${values.join(' | ')}`);
    // Yjs breaks the tie by client id: the higher one wins.
    assert.equal(values[0], 'after restore');
    for (const r of [before, after]) assert.deepEqual(readRoot(r.snapshot(id)!, REVIEW_ROOT), { status: 'rejected', reason: 'concurrent' });
    assert.equal(docStateVector(before.doc(id)), docStateVector(hub.snapshot(id)!));
    assert.equal(docStateVector(after.doc(id)), docStateVector(hub.snapshot(id)!));
  });
});

describe('storage growth', () => {
  before(async () => {
    await loadSodium();
  });

  it('10,000 entries after 100,000 random field edits: full Yjs state is a small multiple of the JSON', () => {
    const ENTRIES = 10_000;
    const EDITS = 100_000;
    const prng = mulberry32(0x5eed);
    const samples = sampleCatalogContents();
    const hubClient = 1;
    const countyClients = [1001, 1002, 1003];
    const docs: { doc: Y.Doc; county: number }[] = [];
    for (let i = 0; i < ENTRIES; i++) {
      const base = samples[i % samples.length]!;
      const county = countyClients[i % countyClients.length]!;
      const doc = loadEntryDoc(county);
      writeRoot(doc, CONTENT_ROOT, { ...base, name: `${base.name}（${i}）` } satisfies CatalogContent);
      docs.push({ doc, county });
    }
    let hubWrites = 0;
    for (let k = 0; k < EDITS; k++) {
      const e = docs[prng.int(ENTRIES)]!;
      // Holding the doc in memory and switching the writing client is what loadEntryDoc(client, stored) + writeRoot does.
      if (prng.chance(0.1)) {
        e.doc.clientID = hubClient;
        const content = readRoot(e.doc, CONTENT_ROOT);
        const approve = prng.chance(0.7);
        writeRoot(
          e.doc,
          REVIEW_ROOT,
          {
            status: approve ? 'approved' : 'rejected',
            reason: approve ? null : `驳回：缺少第${k}号说明`,
            reviewer: `admin${prng.int(5)}`,
            reviewedAt: new Date(Date.UTC(2024, 0, 1) + k * 60_000).toISOString(),
            code: `410800-410802-J-jc-gaj-${String(k).padStart(6, '0')}`,
            contentHash: contentHash(content),
          },
          'hub',
        );
        hubWrites++;
      } else {
        e.doc.clientID = e.county;
        const base = samples[prng.int(samples.length)]!;
        const fields: Record<string, unknown> = {};
        switch (prng.int(8)) {
          case 0:
          case 1:
            fields.abstract = `${base.abstract}（第${k}次修订）`;
            break;
          case 2:
            fields.name = `${base.name}（修订${k}）`;
            break;
          case 3:
            fields.updateCycle = prng.pick(UPDATE_CYCLES);
            break;
          case 4:
            fields.grading = prng.pick(GRADES);
            break;
          case 5:
            fields.publishDate = `2024-0${1 + prng.int(9)}-1${prng.int(10)}`;
            break;
          case 6:
            fields.sharingMethods = SHARING_METHODS.filter(() => prng.chance(0.5));
            break;
          default:
            fields.dataItems = base.dataItems;
            break;
        }
        writeRoot(e.doc, CONTENT_ROOT, fields);
      }
    }
    let stateBytes = 0;
    let jsonBytes = 0;
    for (const { doc } of docs) {
      stateBytes += encodeEntryState(doc).byteLength;
      jsonBytes += Buffer.byteLength(JSON.stringify({ content: readRoot(doc, CONTENT_ROOT), review: readRoot(doc, REVIEW_ROOT) }));
    }
    const ratio = Math.round((stateBytes / jsonBytes) * 1000) / 1000;
    console.log(JSON.stringify({ stateBytes, jsonBytes, ratio }));
    assert.ok(hubWrites > 5_000, 'the hub wrote reviews too');
    assert.ok(ratio < 3, `stored state ${stateBytes} B is ${ratio}× the JSON ${jsonBytes} B`);
  });
});
