/** @module Which batch grants the provider must shape, and the shaping of one row: filter on clear values, granted items only, masked. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batchNeedsShaping, shapeRow } from './grant-shaping.ts';

const ITEMS = ['citizen_id', 'name', 'gender', 'household_address'];
const all = { items: ITEMS, rowFilter: null, desensitization: { citizen_id: 'none', name: 'none', gender: 'none', household_address: 'none' } } as const;

describe('batchNeedsShaping', () => {
  it('a grant of every item, every row, nothing masked is served by the resource’s own packages', () => {
    assert.equal(batchNeedsShaping(all, ITEMS), false);
    assert.equal(batchNeedsShaping({ ...all, rowFilter: { all: [] } }, ITEMS), false, '{ all: [] } matches every row');
  });
  it('fewer items, a row filter or any masked item needs the provider to shape', () => {
    assert.equal(batchNeedsShaping({ ...all, items: ['citizen_id', 'name'] }, ITEMS), true, 'items withheld');
    assert.equal(batchNeedsShaping({ ...all, rowFilter: { all: [{ item: 'gender', op: 'eq', value: '1' }] } }, ITEMS), true, 'rows withheld');
    assert.equal(batchNeedsShaping({ ...all, desensitization: { ...all.desensitization, name: 'name' } }, ITEMS), true, 'a value masked');
    assert.equal(batchNeedsShaping({ ...all, desensitization: { citizen_id: 'none' } }, ITEMS), true, 'an item without a profile is withheld (fail closed)');
    assert.equal(batchNeedsShaping(all, [...ITEMS, 'birth_date']), true, 'the resource gained an item the grant does not name');
  });
});

describe('shapeRow', () => {
  const grant = {
    items: ['citizen_id', 'name'],
    rowFilter: { all: [{ item: 'gender', op: 'eq' as const, value: '1' }] },
    desensitization: { citizen_id: 'citizen_id' as const, name: 'name' as const },
  };
  it('filters on the clear values, keeps the granted items only, masks each', () => {
    const row = { citizen_id: '140525199001011234', name: '张伟', gender: '1', household_address: '泽州县金村镇1号', _version: 7 };
    assert.deepEqual(shapeRow(row, grant), { citizen_id: '140525********1234', name: '张*' });
    assert.equal(shapeRow({ ...row, gender: '2' }, grant), null, 'outside the grant’s rows');
  });
  it('a granted item the row lacks is null', () => {
    assert.deepEqual(shapeRow({ gender: '1', citizen_id: null }, grant), { citizen_id: null, name: null });
  });
});
