/** @module `jilian node|hub audit …`: verify the chain and export records, for administrators and auditors. */
import type { Command } from 'commander';
import { createWriteStream } from 'node:fs';
import { userInfo } from 'node:os';
import { finished } from 'node:stream/promises';
import { decodePublicKey } from '../../protocol/keys.ts';
import { loadSodium } from '../../protocol/sodium.ts';
import { printJson } from '../cli/support.ts';
import { systemClock } from '../clock.ts';
import type { Db } from '../storage/db.ts';
import { EXPORT_FORMATS, type ExportFormat } from './format.ts';
import { dataDirAuditContext } from './keyring.ts';
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
    .description(
      '校验审计哈希链及全部签名（清理锚点、清理记录、封记），用数据目录中的本节点公钥与政策保存期；损坏时以状态码 1 退出并给出首个损坏序号 / ' +
        "verify the hash chain and every signature (purge anchor, purge records, seal) with the node's public key and the policy's retention from the data directory; exits 1 with the first broken seq",
    )
    .requiredOption('-d, --dir <dir>', '数据目录 / data directory')
    .option(
      '--public-key <key>',
      '另认可的签名公钥（base64，可多次；如轮换前更早的密钥）/ another accepted signing public key (base64, repeatable; e.g. a key older than the previous one)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .action(async (o) => {
      await loadSodium();
      const extra = (o.publicKey as string[]).map((k) => {
        try {
          return decodePublicKey(k);
        } catch {
          throw new Error(`--public-key 不是有效的 Ed25519 公钥 / --public-key is not a valid Ed25519 public key: ${k}`);
        }
      });
      const context = dataDirAuditContext(o.dir);
      const db = openDb(o.dir);
      try {
        const result = new AuditLog(db, systemClock).verify({ publicKeys: [...context.keys, ...extra], ...(context.retentionDays ? { retentionDays: context.retentionDays } : {}) });
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
