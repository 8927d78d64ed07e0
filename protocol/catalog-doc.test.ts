/** @module Entry documents: writes, convergence, ownership checks on remote updates, and state-vector text forms. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as Y from 'yjs';
import {
  applyChecked,
  canonicalStateVector,
  CONTENT_ROOT,
  covers,
  docStateVector,
  encodeEntryState,
  encodeStateVectorText,
  isCanonicalStateVector,
  loadEntryDoc,
  parseStateVector,
  readRoot,
  REVIEW_ROOT,
  writeRoot,
} from './catalog-doc.ts';
import { ProtocolError, type ProtocolErrorCode } from './errors.ts';

const COUNTY = 1001;
const HUB = 2002;
const CONTENT_ONLY: ReadonlySet<string> = new Set([CONTENT_ROOT]);
const NO_CLIENTS: ReadonlySet<number> = new Set();

function codeOf(fn: () => unknown): ProtocolErrorCode {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ProtocolError, `expected a ProtocolError, got ${String(err)}`);
    return err.code;
  }
  assert.fail('expected a ProtocolError, but it succeeded');
}

/** Clients whose structs an update carries. */
const clientsOf = (update: Uint8Array) => new Set(Y.decodeUpdate(update).structs.map((s) => s.id.client));

describe('writeRoot', () => {
  it('returns an update for a change and null for a no-op', () => {
    const doc = loadEntryDoc(COUNTY);
    const first = writeRoot(doc, CONTENT_ROOT, { name: '人口基础信息', grading: 'L3', dataItems: [{ code: 'a' }] });
    assert.ok(first instanceof Uint8Array && first.length > 0);
    assert.deepEqual(clientsOf(first), new Set([COUNTY]));
    assert.equal(writeRoot(doc, CONTENT_ROOT, { name: '人口基础信息', dataItems: [{ code: 'a' }] }), null, 'same values');
    assert.equal(writeRoot(doc, CONTENT_ROOT, {}), null, 'no fields');
    assert.equal(writeRoot(doc, CONTENT_ROOT, { never: undefined, alsoNever: null }), null, 'clearing an absent key');
    const sv = docStateVector(doc);
    const second = writeRoot(doc, CONTENT_ROOT, { grading: 'L4', name: '人口基础信息' });
    assert.ok(second);
    assert.notEqual(docStateVector(doc), sv);
    // Only the changed field was written: one new struct.
    assert.equal(Y.decodeUpdate(second).structs.length, 1);
  });

  it('the update it returns brings another replica to the same content', () => {
    const a = loadEntryDoc(COUNTY);
    const b = loadEntryDoc(HUB);
    Y.applyUpdate(b, writeRoot(a, CONTENT_ROOT, { name: 'x', open: { attribute: 'not_open' } })!);
    Y.applyUpdate(b, writeRoot(a, CONTENT_ROOT, { name: 'y' })!);
    assert.deepEqual(readRoot(b, CONTENT_ROOT), { name: 'y', open: { attribute: 'not_open' } });
    assert.equal(docStateVector(a), docStateVector(b));
  });

  it('clears a field by writing null: the key stays, readRoot drops it', () => {
    const doc = loadEntryDoc(COUNTY);
    writeRoot(doc, CONTENT_ROOT, { baseCategory: 'population', name: 'n' });
    assert.ok(writeRoot(doc, CONTENT_ROOT, { baseCategory: undefined }));
    assert.equal(doc.getMap(CONTENT_ROOT).has('baseCategory'), true);
    assert.equal(doc.getMap(CONTENT_ROOT).get('baseCategory'), null);
    assert.deepEqual(readRoot(doc, CONTENT_ROOT), { name: 'n' });
  });
});

describe('convergence', () => {
  /** Two replicas sharing a base state. */
  function pair(): [Y.Doc, Y.Doc] {
    const a = loadEntryDoc(COUNTY);
    const base = writeRoot(a, CONTENT_ROOT, { name: 'base', grading: 'L1' })!;
    const b = loadEntryDoc(COUNTY + 1);
    Y.applyUpdate(b, base);
    return [a, b];
  }

  for (const order of ['a first', 'b first'] as const) {
    it(`concurrent writes of the same field converge (${order})`, () => {
      const [a, b] = pair();
      const ua = writeRoot(a, CONTENT_ROOT, { name: 'from A' })!;
      const ub = writeRoot(b, CONTENT_ROOT, { name: 'from B' })!;
      if (order === 'a first') {
        Y.applyUpdate(b, ua);
        Y.applyUpdate(a, ub);
      } else {
        Y.applyUpdate(a, ub);
        Y.applyUpdate(b, ua);
      }
      assert.deepEqual(readRoot(a, CONTENT_ROOT), readRoot(b, CONTENT_ROOT));
      // Ties are broken by client id: the higher one (b) wins on every replica.
      assert.equal(readRoot(a, CONTENT_ROOT).name, 'from B');
      assert.equal(docStateVector(a), docStateVector(b));
      // A third replica receiving everything in yet another order agrees too.
      const c = loadEntryDoc(9);
      Y.applyUpdate(c, ub);
      Y.applyUpdate(c, encodeEntryState(a));
      assert.deepEqual(readRoot(c, CONTENT_ROOT), readRoot(a, CONTENT_ROOT));
    });
  }

  it('concurrent writes of different roots both survive (content at the county, review at the hub)', () => {
    const county = loadEntryDoc(COUNTY);
    const base = writeRoot(county, CONTENT_ROOT, { name: 'v1' })!;
    const hub = loadEntryDoc(HUB, base);
    const uc = writeRoot(county, CONTENT_ROOT, { name: 'v2' })!;
    const ur = writeRoot(hub, REVIEW_ROOT, { status: 'approved', code: 'C-1' })!;
    Y.applyUpdate(county, ur);
    Y.applyUpdate(hub, uc);
    for (const doc of [county, hub]) {
      assert.deepEqual(readRoot(doc, CONTENT_ROOT), { name: 'v2' });
      assert.deepEqual(readRoot(doc, REVIEW_ROOT), { status: 'approved', code: 'C-1' });
    }
    assert.equal(docStateVector(county), `${COUNTY}:2,${HUB}:2`);
    assert.equal(docStateVector(hub), docStateVector(county));
  });
});

describe('applyChecked', () => {
  it('accepts a content update from its owner and reports the changed root', () => {
    const county = loadEntryDoc(COUNTY);
    const u = writeRoot(county, CONTENT_ROOT, { name: 'n' })!;
    const hub = loadEntryDoc(HUB);
    assert.deepEqual(applyChecked(hub, u, CONTENT_ONLY, new Set([HUB]), 'county').changedRoots, new Set([CONTENT_ROOT]));
    assert.deepEqual(readRoot(hub, CONTENT_ROOT), { name: 'n' });
    assert.equal(hub.clientID, HUB);
  });

  it('refuses an update touching review when only content is allowed (UPDATE_FORBIDDEN)', () => {
    const county = loadEntryDoc(COUNTY);
    const base = writeRoot(county, CONTENT_ROOT, { name: 'n' })!;
    const u = writeRoot(county, REVIEW_ROOT, { status: 'approved' })!;
    const hub = loadEntryDoc(HUB, base);
    assert.equal(
      codeOf(() => applyChecked(hub, u, CONTENT_ONLY, new Set([HUB]), 'county')),
      'UPDATE_FORBIDDEN',
    );
    // Mixed: an allowed content change and a review change in one update.
    const other = loadEntryDoc(COUNTY + 1, base);
    const mixed = Y.mergeUpdates([writeRoot(other, CONTENT_ROOT, { name: 'm' })!, writeRoot(other, REVIEW_ROOT, { status: 'rejected' })!]);
    assert.equal(
      codeOf(() => applyChecked(loadEntryDoc(HUB, base), mixed, CONTENT_ONLY, NO_CLIENTS, 'county')),
      'UPDATE_FORBIDDEN',
    );
    // The same update is accepted where both roots are allowed.
    const both = new Set([CONTENT_ROOT, REVIEW_ROOT]);
    assert.deepEqual(applyChecked(loadEntryDoc(HUB, base), mixed, both, NO_CLIENTS, 'x').changedRoots, both);
  });

  it('refuses an update that creates any other root', () => {
    const county = loadEntryDoc(COUNTY);
    county.getMap('extra').set('k', 1);
    const u = Y.encodeStateAsUpdate(county);
    assert.equal(
      codeOf(() => applyChecked(loadEntryDoc(HUB), u, CONTENT_ONLY, NO_CLIENTS, 'county')),
      'UPDATE_FORBIDDEN',
    );
  });

  it('refuses structs written as a forbidden client id, even in an allowed root', () => {
    const impostor = loadEntryDoc(HUB);
    const u = writeRoot(impostor, CONTENT_ROOT, { name: 'n' })!;
    assert.equal(
      codeOf(() => applyChecked(loadEntryDoc(HUB), u, CONTENT_ONLY, new Set([HUB]), 'county')),
      'UPDATE_FORBIDDEN',
    );
    // Hidden among allowed structs of another client.
    const county = loadEntryDoc(COUNTY);
    const merged = Y.mergeUpdates([writeRoot(county, CONTENT_ROOT, { grading: 'L1' })!, u]);
    assert.equal(
      codeOf(() => applyChecked(loadEntryDoc(HUB), merged, CONTENT_ONLY, new Set([HUB]), 'county')),
      'UPDATE_FORBIDDEN',
    );
  });

  it('reports missing dependencies: the second of two sequential updates alone', () => {
    const county = loadEntryDoc(COUNTY);
    const u1 = writeRoot(county, CONTENT_ROOT, { name: 'one' })!;
    const u2 = writeRoot(county, CONTENT_ROOT, { name: 'two' })!;
    assert.equal(
      codeOf(() => applyChecked(loadEntryDoc(HUB), u2, CONTENT_ONLY, new Set([HUB]), 'county')),
      'UPDATE_MISSING_DEPENDENCIES',
    );
    // In order, both apply.
    const hub = loadEntryDoc(HUB);
    applyChecked(hub, u1, CONTENT_ONLY, new Set([HUB]), 'county');
    assert.deepEqual(applyChecked(hub, u2, CONTENT_ONLY, new Set([HUB]), 'county').changedRoots, new Set([CONTENT_ROOT]));
    assert.equal(readRoot(hub, CONTENT_ROOT).name, 'two');
  });

  it('returns empty changedRoots for a duplicate', () => {
    const county = loadEntryDoc(COUNTY);
    const u = writeRoot(county, CONTENT_ROOT, { name: 'n' })!;
    const hub = loadEntryDoc(HUB);
    assert.equal(applyChecked(hub, u, CONTENT_ONLY, new Set([HUB]), 'county').changedRoots.size, 1);
    const sv = docStateVector(hub);
    assert.equal(applyChecked(hub, u, CONTENT_ONLY, new Set([HUB]), 'county').changedRoots.size, 0);
    assert.equal(applyChecked(loadEntryDoc(HUB, encodeEntryState(hub)), u, CONTENT_ONLY, new Set([HUB]), 'county').changedRoots.size, 0);
    assert.equal(docStateVector(hub), sv);
  });

  it('refuses bytes that are not a Yjs update (UPDATE_INVALID)', () => {
    for (const bytes of [Uint8Array.from([1, 2, 3]), Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f]), new Uint8Array(0)]) {
      assert.equal(
        codeOf(() => applyChecked(loadEntryDoc(HUB), bytes, CONTENT_ONLY, NO_CLIENTS, 'county')),
        'UPDATE_INVALID',
      );
    }
  });
});

describe('state vectors', () => {
  it('canonicalStateVector sorts clients numerically and omits zero clocks', () => {
    assert.equal(canonicalStateVector(new Map()), '');
    assert.equal(
      canonicalStateVector(
        new Map([
          [10, 1],
          [9, 4],
          [100, 2],
          [5, 0],
        ]),
      ),
      '9:4,10:1,100:2',
    );
    assert.equal(
      canonicalStateVector(
        new Map([
          [4294967295, 300],
          [1, 1],
        ]),
      ),
      '1:1,4294967295:300',
    );
  });

  it('docStateVector is the same on replicas that received the same updates in different orders', () => {
    const a = loadEntryDoc(300);
    const b = loadEntryDoc(20);
    const ua = writeRoot(a, CONTENT_ROOT, { name: 'a' })!;
    const ub = writeRoot(b, REVIEW_ROOT, { status: 'pending' })!;
    Y.applyUpdate(a, ub);
    Y.applyUpdate(b, ua);
    assert.equal(docStateVector(a), '20:1,300:1');
    assert.equal(docStateVector(b), '20:1,300:1');
  });

  it('parseStateVector inverts the text form and refuses malformed text (MESSAGE_INVALID)', () => {
    assert.deepEqual(parseStateVector(''), new Map());
    assert.deepEqual(
      parseStateVector('9:4,10:1'),
      new Map([
        [9, 4],
        [10, 1],
      ]),
    );
    for (const bad of ['9:', ':4', '9:4,', '9;4', 'a:1', '-1:2', '9:4 ', '12345678901234567:1']) {
      assert.equal(
        codeOf(() => parseStateVector(bad)),
        'MESSAGE_INVALID',
        bad,
      );
    }
  });

  it('parseStateVector accepts exactly the canonical texts (PROTOCOL.md §10.1): one spelling per vector', () => {
    const accepted: [string, [number, number][]][] = [
      ['0:1', [[0, 1]]],
      [
        '1:1,2:1',
        [
          [1, 1],
          [2, 1],
        ],
      ],
      [
        '9:4,10:1,100:2',
        [
          [9, 4],
          [10, 1],
          [100, 2],
        ],
      ],
      ['4294967295:300', [[4294967295, 300]]],
      ['1099511627783:1', [[1099511627783, 1]]], // a client id above 2^32 that a crafted update can carry
      ['9007199254740991:9007199254740991', [[Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER]]],
    ];
    for (const [text, pairs] of accepted) {
      assert.deepEqual([...parseStateVector(text)], pairs, text);
      assert.equal(canonicalStateVector(parseStateVector(text)), text, `${text} is canonical`);
      assert.ok(isCanonicalStateVector(text), text);
    }
    const refused = [
      '1:0',
      '7:3,8:0', // zero clock: omitted in the canonical form, so "" and "1:0" would be two spellings
      '01:2',
      '1:02',
      '00:1',
      '0:0', // leading zeros
      '1:2,1:3',
      '1:2,1:2', // a client twice
      '2:1,1:1',
      '10:1,9:4', // not ascending (10 before 9 is the byte order, not the numeric one)
      '+1:2',
      '1:+2',
      '1e3:1',
      '1.0:1',
      '0x1:1',
      ' 1:2',
      '1:2\n',
      ',',
      '1:2,,3:4',
      ',1:2',
      '١:2',
      '1:٢', // Arabic-Indic digits: only ASCII 0-9
      '9007199254740992:1',
      '1:9007199254740992', // above 2^53 - 1
    ];
    for (const text of refused) {
      assert.equal(
        codeOf(() => parseStateVector(text)),
        'MESSAGE_INVALID',
        JSON.stringify(text),
      );
      assert.ok(!isCanonicalStateVector(text), JSON.stringify(text));
    }
    // The hub's diff for a pull request parses the requester's vector the same way.
    assert.equal(
      codeOf(() => encodeStateVectorText('1:0')),
      'MESSAGE_INVALID',
    );
  });

  it('every state vector Yjs produces is canonical and parses back', () => {
    const doc = loadEntryDoc(2 ** 40 + 7); // crafted updates may carry client ids beyond Yjs's random uint32
    writeRoot(doc, CONTENT_ROOT, { name: 'a' });
    const replica = loadEntryDoc(3, encodeEntryState(doc));
    writeRoot(replica, CONTENT_ROOT, { abstract: 'b' });
    writeRoot(loadEntryDoc(0, encodeEntryState(replica)), CONTENT_ROOT, { name: 'c' });
    for (const d of [doc, replica, loadEntryDoc(9)]) {
      const text = docStateVector(d);
      assert.equal(canonicalStateVector(parseStateVector(text)), text);
    }
  });

  it('covers compares clock by clock', () => {
    assert.ok(covers(parseStateVector('1:5,2:3'), parseStateVector('1:5')));
    assert.ok(covers(parseStateVector('1:5'), parseStateVector('')));
    assert.ok(!covers(parseStateVector('1:5'), parseStateVector('1:5,2:1')));
    assert.ok(!covers(parseStateVector('1:4,2:9'), parseStateVector('1:5')));
  });

  it('encodeStateVectorText round-trips: the diff against it is exactly what the other replica lacks', () => {
    const a = loadEntryDoc(COUNTY);
    const first = writeRoot(a, CONTENT_ROOT, { name: 'n', grading: 'L1' })!;
    const b = loadEntryDoc(COUNTY + 1, first);
    writeRoot(a, CONTENT_ROOT, { grading: 'L2' });
    const hub = loadEntryDoc(HUB, encodeEntryState(a));
    writeRoot(hub, REVIEW_ROOT, { status: 'approved' });
    Y.applyUpdate(a, encodeEntryState(hub));

    const svB = docStateVector(b);
    assert.equal(svB, `${COUNTY}:2`);
    assert.deepEqual(Y.decodeStateVector(encodeStateVectorText(svB)), new Map([[COUNTY, 2]]));
    const diff = Y.encodeStateAsUpdate(a, encodeStateVectorText(svB));
    // The diff holds only structs b lacks: county clocks ≥ 2 and the hub's.
    for (const s of Y.decodeUpdate(diff).structs) assert.ok(s.id.client === HUB || s.id.clock >= 2, `${s.id.client}:${s.id.clock}`);
    Y.applyUpdate(b, diff);
    assert.equal(docStateVector(b), docStateVector(a));
    assert.deepEqual(readRoot(b, CONTENT_ROOT), { name: 'n', grading: 'L2' });
    assert.deepEqual(readRoot(b, REVIEW_ROOT), { status: 'approved' });
    // Against the full vector the diff is empty; against '' it is the whole state.
    assert.deepEqual(Y.decodeUpdate(Y.encodeStateAsUpdate(a, encodeStateVectorText(docStateVector(a)))).structs, []);
    const fresh = loadEntryDoc(5, Y.encodeStateAsUpdate(a, encodeStateVectorText('')));
    assert.equal(docStateVector(fresh), docStateVector(a));
  });

  it('encodeStateVectorText handles client ids and clocks beyond 31 bits', () => {
    const text = '1:1,2147483648:128,4294967295:300000';
    assert.deepEqual(
      Y.decodeStateVector(encodeStateVectorText(text)),
      new Map([
        [1, 1],
        [2147483648, 128],
        [4294967295, 300000],
      ]),
    );
    assert.equal(canonicalStateVector(Y.decodeStateVector(encodeStateVectorText(text))), text);
  });
});

describe('loadEntryDoc', () => {
  it('keeps the given client id after loading state that contains that client’s structs', () => {
    const writer = loadEntryDoc(COUNTY);
    writeRoot(writer, CONTENT_ROOT, { name: 'one' });
    writeRoot(writer, CONTENT_ROOT, { grading: 'L1' });
    const state = encodeEntryState(writer);

    // The trap this guards against: Yjs abandons a client id whose clock a non-local transaction advanced.
    const naive = new Y.Doc();
    naive.clientID = COUNTY;
    const log = console.log;
    console.log = () => {}; // Yjs announces the change on the console
    try {
      Y.applyUpdate(naive, state, 'storage');
    } finally {
      console.log = log;
    }
    assert.notEqual(naive.clientID, COUNTY);

    const doc = loadEntryDoc(COUNTY, state);
    assert.equal(doc.clientID, COUNTY);
    const u = writeRoot(doc, CONTENT_ROOT, { name: 'two' })!;
    const structs = Y.decodeUpdate(u).structs;
    assert.deepEqual(
      structs.map((s) => [s.id.client, s.id.clock]),
      [[COUNTY, 2]],
      'continues the client’s own clock',
    );
    assert.equal(docStateVector(doc), `${COUNTY}:3`);
    // The stored writer accepts it as the next update (no gap, no second identity).
    const again = loadEntryDoc(HUB, state);
    assert.deepEqual(applyChecked(again, u, CONTENT_ONLY, new Set([HUB]), 'county').changedRoots, new Set([CONTENT_ROOT]));
  });

  it('with no or empty state gives an empty doc with the id', () => {
    for (const state of [undefined, null, new Uint8Array(0)]) {
      const doc = loadEntryDoc(COUNTY, state);
      assert.equal(doc.clientID, COUNTY);
      assert.equal(docStateVector(doc), '');
      assert.deepEqual(readRoot(doc, CONTENT_ROOT), {});
    }
  });
});
