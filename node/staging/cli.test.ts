import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Command } from 'commander';
import { AuditLog } from '../../engine/audit/log.ts';
import { systemClock } from '../../engine/clock.ts';
import { loadSodium } from '../../protocol/sodium.ts';
import { openFrontendDb, PERSON_ITEMS, writePersonCsv } from '../../test/helpers/frontend.ts';
import { registerImportCommand } from './cli.ts';
import { FRONTEND_AUDIT_ACTIONS } from './importer.ts';

const ENTRY = '410602-0195bbbb-0000-7000-8000-000000000001';
let dir: string;
before(async () => {
  await loadSodium();
  dir = mkdtempSync(join(tmpdir(), 'jilian-fe-cli-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Run `import …` in-process and capture what it prints. */
async function cli(args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerImportCommand(program, (d) => {
    const db = openFrontendDb(join(d, 'node.db'));
    return { db, items: () => PERSON_ITEMS, audit: new AuditLog(db, systemClock, { actions: FRONTEND_AUDIT_ACTIONS }), close: () => db.close() };
  });
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => lines.push(a.join(' '));
  try {
    await program.parseAsync(['node', 'jilian', 'import', ...args]);
  } finally {
    console.log = log;
  }
  return lines.join('\n');
}

describe('jilian node import', () => {
  it('imports a file, prints a bilingual summary, writes the rejects report next to the file, audits', async () => {
    const file = join(dir, 'people.csv');
    await writePersonCsv(file, 500, { badEvery: 100, chineseHeader: true, bom: true });
    const out = await cli([ENTRY, file, '--dir', dir, '--batch-size', '100']);
    assert.match(out, /导入完成 \/ import done: 读取 read 500，新增 inserted 495，更新 updated 0，未变 unchanged 0，删除 deleted 0，拒绝 rejected 5，批次 batches 5/);
    assert.match(out, /拒绝记录报告 \/ rejects report: .*people\.csv\.rejects\.csv/);
    assert.ok(existsSync(`${file}.rejects.csv`));
    assert.equal(readFileSync(`${file}.rejects.csv`, 'utf8').trim().split('\n').length, 6);
    const again = await cli([ENTRY, file, '--dir', dir]);
    assert.match(again, /新增 inserted 0，更新 updated 0，未变 unchanged 495/);
    const db = openFrontendDb(join(dir, 'node.db'));
    const audit = new AuditLog(db, systemClock, { actions: FRONTEND_AUDIT_ACTIONS });
    assert.equal(audit.search({ action: 'frontend.import' }).total, 2);
    assert.match(audit.search({ action: 'frontend.import' }).records[0]!.actor, /^os:/);
    db.close();
  });

  it('explains a bad file in both languages', async () => {
    const file = join(dir, 'bad.csv');
    (await import('node:fs')).writeFileSync(file, 'id_no,籍贯\n1,x\n');
    await assert.rejects(cli([ENTRY, file, '--dir', dir]), /表头含未知列：籍贯.* \/ unknown columns in the header: 籍贯/);
    await assert.rejects(cli([ENTRY, file, '--dir', dir, '--format', 'xls']), /unknown format xls/);
  });
});
