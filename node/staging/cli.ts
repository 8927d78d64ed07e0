/**
 * @module `jilian node import <resource> <file>`: load a CSV, XLSX or NDJSON file into an entry's
 * front-end table with a progress bar (stderr, TTY only) and a zh-CN/English summary. Re-running the
 * same command after an interruption resumes the import.
 */
import type { Command } from 'commander';
import { stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { userInfo } from 'node:os';
import cliProgress from 'cli-progress';
import type { AuditLog } from '../../engine/audit/log.ts';
import { systemClock, type Clock } from '../../engine/clock.ts';
import type { Db } from '../../engine/storage/db.ts';
import { AppError } from '../../engine/errors.ts';
import { CliError } from '../../engine/cli/support.ts';
import { importFile } from './import-file.ts';
import type { ImportSummary } from './importer.ts';
import { IMPORT_FORMATS, type ImportFormat } from './readers/index.ts';
import type { FrontendItem } from './row-validator.ts';

export interface ImportCommandContext {
  db: Db;
  /** The entry's data items; throws (AppError) for an unknown entry or one not shared by table or file. */
  items(entryId: string): FrontendItem[];
  /** Constructed with FRONTEND_AUDIT_ACTIONS among its actions. */
  audit?: AuditLog;
  clock?: Clock;
  /** Called when the command is done with the context (close the database). */
  close?(): void;
}

/** One line, both languages. */
export function summaryLine(s: ImportSummary, seconds: number): string {
  const resumed = s.resumedFrom > 0 ? `；从第 ${s.resumedFrom} 条续传 / resumed after ${s.resumedFrom}` : '';
  return (
    `导入完成 / import done: 读取 read ${s.read}，新增 inserted ${s.inserted}，更新 updated ${s.updated}，未变 unchanged ${s.unchanged}，` +
    `删除 deleted ${s.deleted}，拒绝 rejected ${s.rejected}，批次 batches ${s.batches}${resumed}；用时 ${seconds.toFixed(1)} s`
  );
}

export function registerImportCommand(cmd: Command, open: (dir: string) => ImportCommandContext | Promise<ImportCommandContext>): void {
  cmd
    .command('import')
    .description("把文件导入目录条目的前置库表（CSV/XLSX/NDJSON，中断后重跑即续传）/ import a file into an entry's front-end table (re-run to resume)")
    .argument('<resource>', '目录条目标识 / catalog entry id')
    .argument('<file>', 'CSV（UTF-8 或 GB18030）、XLSX 或 NDJSON 文件 / CSV (UTF-8 or GB18030), XLSX or NDJSON file')
    .requiredOption('-d, --dir <dir>', '数据目录 / data directory')
    .option('--rejects <file>', '拒绝记录报告（CSV）/ rejects report (CSV); default <file>.rejects.csv')
    .option('--format <format>', `格式 / format: ${IMPORT_FORMATS.join(' | ')} (default: by extension)`)
    .option('--batch-size <n>', '每个事务的记录数 / records per transaction')
    .option('--import-id <id>', '续传指定的导入 / resume this import (default: an unfinished import of the same file)')
    .action(async (resource: string, file: string, o: { dir: string; rejects?: string; format?: string; batchSize?: string; importId?: string }) => {
      if (o.format !== undefined && !IMPORT_FORMATS.includes(o.format as ImportFormat)) {
        throw new Error(`未知格式 / unknown format ${o.format} (${IMPORT_FORMATS.join(' | ')})`);
      }
      const batchSize = o.batchSize === undefined ? undefined : Number(o.batchSize);
      if (batchSize !== undefined && (!Number.isInteger(batchSize) || batchSize < 1)) throw new Error(`--batch-size 须为正整数 / must be a positive integer: ${o.batchSize}`);
      const rejectsPath = o.rejects ?? join(dirname(file), `${basename(file)}.rejects.csv`);
      const ctx = await open(o.dir);
      const total = (await stat(file)).size;
      const bar = new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: '导入 / importing [{bar}] {percentage}% | {rows} 行 rows | 拒绝 rejected {rejected} | {eta_formatted}',
          hideCursor: true,
          clearOnComplete: true,
        },
        cliProgress.Presets.shades_classic,
      );
      const started = performance.now();
      bar.start(total, 0, { rows: 0, rejected: 0 });
      try {
        const summary = await importFile(
          ctx.db,
          ctx.clock ?? systemClock,
          {
            entryId: resource,
            items: ctx.items(resource),
            file,
            ...(o.format !== undefined ? { format: o.format as ImportFormat } : {}),
            ...(o.importId !== undefined ? { importId: o.importId } : {}),
            ...(batchSize !== undefined ? { batchSize } : {}),
            rejectsPath,
            actor: { name: `os:${userInfo().username}`, role: 'os' },
            onBytes: (read) => bar.update(read),
            onProgress: (p) => bar.update({ rows: p.seen, rejected: p.rejected }),
          },
          ctx.audit,
        );
        bar.update(total);
        bar.stop();
        console.log(summaryLine(summary, (performance.now() - started) / 1000));
        if (summary.rejected > 0) console.log(`拒绝记录报告 / rejects report: ${rejectsPath}`);
        console.log(`导入标识 / import id: ${summary.importId}；表 / table: ${summary.tableName}`);
      } catch (err) {
        bar.stop();
        if (err instanceof AppError) throw new CliError(err.code, err.zh, err.en, err.fields);
        throw err;
      } finally {
        ctx.close?.();
      }
    });
}
