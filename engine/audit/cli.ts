/** @module `jilian node|hub audit …`: verify the chain and export records, for administrators and auditors. */
import type { Command } from 'commander';
import { createWriteStream } from 'node:fs';
import { userInfo } from 'node:os';
import { finished } from 'node:stream/promises';
import { loadSodium } from '../../protocol/sodium.ts';
import { printJson } from '../cli-support.ts';
import { systemClock } from '../clock.ts';
import type { Db } from '../db.ts';
import { EXPORT_FORMATS, type ExportFormat } from './format.ts';
import { AuditLog } from './log.ts';

/** ISO 8601 date or date-time; a bare date (2024-05-01) means 00:00 China Standard Time (UTC+8). */
export function parseCliTime(value: string, option: string): Date {
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00+08:00` : value);
  if (Number.isNaN(d.getTime())) throw new Error(`${option} 不是有效的日期时间 / ${option} is not a valid ISO 8601 date or time: ${value}`);
  return d;
}

export function registerAuditCommands(cmd: Command, openDb: (dir: string) => Db): void {
  const audit = cmd.command('audit').description('审计日志：校验与导出 / audit log: verify and export');

  audit
    .command('verify')
    .description('校验审计哈希链，损坏时以状态码 1 退出并给出首个损坏序号 / verify the hash chain; exits 1 with the first broken seq')
    .requiredOption('-d, --dir <dir>', '数据目录 / data directory')
    .action(async (o) => {
      await loadSodium();
      const db = openDb(o.dir);
      try {
        const result = new AuditLog(db, systemClock).verify();
        printJson(result);
        if (!result.ok) {
          console.error(`审计链损坏 / audit chain broken: ${result.message['zh-CN']} / ${result.message.en}`);
          process.exitCode = 1;
        } else if (!result.guardsIntact) {
          console.error('审计链完整，但防篡改触发器缺失 / chain intact, but the append-only triggers are missing');
          process.exitCode = 1;
        }
      } finally {
        db.close();
      }
    });

  audit
    .command('export')
    .description('导出时间段内的审计记录（含哈希，可离线复核）/ export records in a time range (with hashes, re-verifiable offline)')
    .requiredOption('-d, --dir <dir>', '数据目录 / data directory')
    .requiredOption('--from <time>', '起始时间（含），ISO 8601；仅日期按北京时间 0 点 / start (inclusive), ISO 8601; a bare date is 00:00 UTC+8')
    .requiredOption('--to <time>', '结束时间（不含）/ end (exclusive)')
    .option('--format <format>', 'csv（UTF-8 带 BOM，Excel 可直接打开）或 ndjson / csv (UTF-8 with BOM, opens in Excel) or ndjson', 'csv')
    .option('--out <file>', '输出文件，缺省为标准输出 / output file (default: stdout)')
    .action(async (o) => {
      const format = o.format as ExportFormat;
      if (!EXPORT_FORMATS.includes(format)) throw new Error(`未知格式 / unknown format ${o.format} (csv | ndjson)`);
      const from = parseCliTime(o.from, '--from');
      const to = parseCliTime(o.to, '--to');
      await loadSodium();
      const db = openDb(o.dir);
      try {
        const log = new AuditLog(db, systemClock);
        const out = o.out ? createWriteStream(o.out, { mode: 0o600 }) : process.stdout;
        const count = await log.export(from, to, format, out);
        if (o.out) {
          out.end();
          await finished(out);
        }
        // Reading the log is itself a use of data (R7): record who exported what.
        log.append({
          actor: `os:${userInfo().username}`,
          actorRole: 'admin',
          action: 'audit.export',
          result: 'ok',
          detail: { from: from.toISOString(), to: to.toISOString(), format, count, out: o.out ?? '-' },
        });
        console.error(`已导出 ${count} 条记录 / exported ${count} records`);
      } finally {
        db.close();
      }
    });
}
