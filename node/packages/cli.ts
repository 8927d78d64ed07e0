/**
 * @module `jilian node package <resource>`: force a package of a front-end table. The command queues a
 * request in the node's database and waits while the running node (`jilian node start`) builds it and
 * the hub stores it; the request survives if the node is not running yet.
 */
import type { Command } from 'commander';
import { userInfo } from 'node:os';
import type { Db } from '../../engine/storage/db.ts';
import { getTable } from '../staging/table-schema.ts';
import { PackageRequestStore, type PackageRequestRow } from './package-requests.ts';
import { SentPackageStore, type SentSummary } from './sent-packages-store.ts';

export interface PackageCommandContext {
  db: Db;
  close(): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function registerPackageCommand(cmd: Command, open: (dir: string) => PackageCommandContext | Promise<PackageCommandContext>): void {
  cmd
    .command('package')
    .description('立即为前置库表打包并发送给市级枢纽（需节点运行中）/ build and send a package of a front-end table now (the node must be running)')
    .argument('<resource>', '目录条目标识 / catalog entry id')
    .requiredOption('-d, --dir <dir>', '数据目录 / data directory')
    .option('--snapshot', '发送全量快照而非增量 / send a full snapshot, not a delta')
    .option('--no-wait', '只排队，不等待结果 / queue only, do not wait')
    .option('--timeout <seconds>', '等待秒数 / seconds to wait', '300')
    .action(async (resource: string, o: { dir: string; snapshot?: boolean; wait: boolean; timeout: string }) => {
      const timeoutMs = Number(o.timeout) * 1000;
      if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new Error(`--timeout 须为正数 / must be a positive number: ${o.timeout}`);
      const ctx = await open(o.dir);
      try {
        if (!getTable(ctx.db, resource)) {
          throw new Error(`目录条目 ${resource} 没有前置库表，请先导入数据 / entry ${resource} has no front-end table yet; import data first`);
        }
        const requests = new PackageRequestStore(ctx.db);
        const id = requests.queue(resource, { snapshot: o.snapshot === true, requestedBy: `cli:${userInfo().username}`, at: new Date() });
        console.log(`已排队，请求号 ${id} / queued as request ${id}`);
        if (!o.wait) return;
        process.exitCode = await waitFor({ requests, sent: new SentPackageStore(ctx.db) }, id, Date.now() + timeoutMs);
      } finally {
        ctx.close();
      }
    });
}

/** What following a request reads: the request (package-requests.ts) and its package (sent-packages-store.ts). */
interface RequestProgress {
  requests: { get(id: number): PackageRequestRow | undefined };
  sent: { summary(packageId: string): SentSummary | undefined };
}

/** Follow request `id` until the hub answered; prints each step; returns the exit code. */
async function waitFor({ requests, sent }: RequestProgress, id: number, deadline: number): Promise<number> {
  let said = '';
  const say = (line: string) => {
    if (line !== said) console.log(line);
    said = line;
  };
  while (Date.now() < deadline) {
    const r = requests.get(id) as PackageRequestRow;
    if (r.state === 'failed') {
      const e = JSON.parse(r.result_json ?? '{}') as { code?: string; zh?: string; en?: string };
      console.error(`打包失败 / package failed: [${e.code}] ${e.zh} / ${e.en}`);
      return 1;
    }
    if (r.state === 'done') {
      const res = JSON.parse(r.result_json ?? '{}') as { status: string; version?: number };
      if (res.status === 'unchanged') {
        say(`自上次打包（版本 ${res.version}）以来没有变化，未发送 / nothing changed since the last package (version ${res.version}); nothing sent`);
        return 0;
      }
      const p = sent.summary(r.package_id!) as SentSummary;
      const what = `${p.kind === 'delta' ? `增量 delta ${p.base_version} → ${p.new_version}` : `快照 snapshot ${p.new_version}`}，${p.row_count ?? '?'} 行 rows，包 package ${r.package_id}`;
      if (p.state === 'stored') {
        say(`枢纽已存储 / stored by the hub: ${what}`);
        return 0;
      }
      if (p.state === 'refused') {
        console.error(`枢纽拒绝 / refused by the hub [${p.code}]: ${what}`);
        return 1;
      }
      say(`已发送，等待枢纽确认 / sent, waiting for the hub: ${what}`);
    } else {
      say('等待节点处理（jilian node start 须在运行）/ waiting for the node (jilian node start must be running)');
    }
    await sleep(250);
  }
  const r = requests.get(id) as PackageRequestRow;
  console.error(
    r.state === 'queued'
      ? '等待超时；请求仍在队列中，节点运行时会继续处理 / timed out; the request stays queued and the running node will carry it out'
      : '等待超时；包已发送，枢纽尚未确认，传输会自动续传 / timed out; the package was sent and the hub has not confirmed yet (the transfer resumes by itself)',
  );
  return 1;
}
