/** @module Tests of unified resource code templates and the per-prefix counter. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openDatabase } from '../../engine/storage/db.ts';
import { HUB_MIGRATIONS } from '../storage/migrations.ts';
import { CodeAllocator, DEFAULT_CODE_TEMPLATE, validateCodeTemplate, type CodeFields } from './code-template.ts';

const POLICE: CodeFields = { muni: '410800', county: '410802', dept: 'jc-gaj', classification: 'base', year: 2024 };

describe('validateCodeTemplate', () => {
  it('accepts the default and templates using every placeholder', () => {
    validateCodeTemplate(DEFAULT_CODE_TEMPLATE);
    validateCodeTemplate('{muni}.{county}.{dept}.{class}.{year}.{seq:4}');
    validateCodeTemplate('{year}{seq:12}-{county}');
    validateCodeTemplate('{seq:1}');
  });

  it('rejects a template without {seq:N}', () => {
    for (const t of ['{muni}-{county}', '', '{muni}-{seq}', '{muni}-{seq:0}', '{muni}-{seq:100}', '{muni}-{seq:x}']) {
      assert.throws(() => validateCodeTemplate(t), /exactly one \{seq:N\}/, t);
    }
  });

  it('rejects a template with two {seq:N}', () => {
    assert.throws(() => validateCodeTemplate('{seq:3}-{seq:3}'), /exactly one \{seq:N\}/);
    assert.throws(() => validateCodeTemplate('{muni}-{seq:2}{seq:4}'), /exactly one \{seq:N\}/);
  });

  it('rejects unknown placeholders, naming them', () => {
    assert.throws(() => validateCodeTemplate('{muni}-{town}-{seq:4}'), /unknown placeholder \{town\}/);
    assert.throws(() => validateCodeTemplate('{MUNI}-{seq:4}'), /unknown placeholder \{MUNI\}/);
    assert.throws(() => validateCodeTemplate('{}-{seq:4}'), /unknown placeholder \{\}/);
  });

  it('the allocator validates its template on construction', () => {
    assert.throws(() => new CodeAllocator(undefined as never, '{muni}-{county}'), /exactly one/);
  });
});

describe('CodeAllocator', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'jilian-codes-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('renders the default template and counts per prefix', () => {
    const db = openDatabase(join(dir, 'a.db'), HUB_MIGRATIONS);
    try {
      const codes = new CodeAllocator(db, DEFAULT_CODE_TEMPLATE);
      assert.equal(codes.next(POLICE), '410800-410802-J-jc-gaj-000001');
      assert.equal(codes.next(POLICE), '410800-410802-J-jc-gaj-000002');
      assert.equal(codes.next({ ...POLICE, dept: 'jc-scjgj' }), '410800-410802-J-jc-scjgj-000001', 'another department, another counter');
      assert.equal(codes.next({ ...POLICE, county: '410803' }), '410800-410803-J-jc-gaj-000001');
      assert.equal(codes.next({ ...POLICE, classification: 'thematic' }), '410800-410802-Z-jc-gaj-000001');
      assert.equal(codes.next({ ...POLICE, classification: 'department' }), '410800-410802-B-jc-gaj-000001');
      assert.equal(codes.next({ ...POLICE, classification: 'other' }), '410800-410802-X-jc-gaj-000001');
      assert.equal(codes.next(POLICE), '410800-410802-J-jc-gaj-000003');
      assert.equal(codes.next({ ...POLICE, year: 2031 }), '410800-410802-J-jc-gaj-000004', 'year is not in the default template');
    } finally {
      db.close();
    }
  });

  it('the prefix is what renders before {seq}; text after it is a suffix that shares the counter', () => {
    const db = openDatabase(join(dir, 'b.db'), HUB_MIGRATIONS);
    try {
      const codes = new CodeAllocator(db, '{year}/{seq:3}-{county}');
      assert.equal(codes.next(POLICE), '2024/001-410802');
      assert.equal(codes.next({ ...POLICE, county: '410803' }), '2024/002-410803');
      assert.equal(codes.next({ ...POLICE, year: 2025 }), '2025/001-410802', 'a new year restarts the count');
    } finally {
      db.close();
    }
  });

  it('pads to the width but never truncates', () => {
    const db = openDatabase(join(dir, 'c.db'), HUB_MIGRATIONS);
    try {
      const codes = new CodeAllocator(db, 'R{seq:1}');
      const got = Array.from({ length: 11 }, () => codes.next(POLICE));
      assert.deepEqual(got.slice(8), ['R9', 'R10', 'R11']);
      assert.equal(new Set(got).size, 11);
    } finally {
      db.close();
    }
  });

  it('the counter persists: a new allocator on the same database continues', () => {
    const file = join(dir, 'd.db');
    let db = openDatabase(file, HUB_MIGRATIONS);
    assert.equal(new CodeAllocator(db, DEFAULT_CODE_TEMPLATE).next(POLICE), '410800-410802-J-jc-gaj-000001');
    assert.equal(new CodeAllocator(db, DEFAULT_CODE_TEMPLATE).next(POLICE), '410800-410802-J-jc-gaj-000002');
    db.close();
    db = openDatabase(file, HUB_MIGRATIONS);
    try {
      assert.equal(new CodeAllocator(db, DEFAULT_CODE_TEMPLATE).next(POLICE), '410800-410802-J-jc-gaj-000003', 'after reopening');
    } finally {
      db.close();
    }
  });

  it('a counter value taken inside a rolled-back transaction is taken again (nothing stored used it)', () => {
    const db = openDatabase(join(dir, 'e.db'), HUB_MIGRATIONS);
    try {
      const codes = new CodeAllocator(db, DEFAULT_CODE_TEMPLATE);
      assert.throws(() =>
        db.transaction(() => {
          assert.equal(codes.next(POLICE), '410800-410802-J-jc-gaj-000001');
          throw new Error('store failed');
        })(),
      );
      assert.equal(codes.next(POLICE), '410800-410802-J-jc-gaj-000001');
    } finally {
      db.close();
    }
  });
});
