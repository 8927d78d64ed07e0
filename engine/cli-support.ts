/** @module Small helpers shared by the node and hub CLIs: running a service until a signal, reading a DB, printing. */
import Database from 'better-sqlite3';
import type { Command } from 'commander';
import { join } from 'node:path';
import type { Logger } from './log.ts';

/**
 * Keep a started service running until SIGINT/SIGTERM, then close it cleanly (flushes nothing: every
 * write is already committed). With the service's logger, everything the running process says is a
 * JSON log line (systemd puts stdout and stderr in one journal), a crash included.
 */
export function runUntilSignal(close: () => Promise<void>, log?: Logger): void {
  let closing = false;
  const stop = (signal: string) => {
    if (closing) return;
    closing = true;
    if (log) log.info({ event: 'service.stopping', signal }, `收到 ${signal}，正在停止 / ${signal} received, stopping`);
    else console.error(`收到 ${signal}，正在停止 / ${signal} received, stopping`);
    close().then(
      () => process.exit(0),
      (err) => (log ? log.error({ event: 'service.stop_failed', err: String(err), stack: (err as Error).stack }, 'stop failed') : console.error(err), process.exit(1)),
    );
  };
  if (log) {
    process.on('uncaughtException', (err) => {
      log.fatal({ event: 'process.crashed', err: String(err), stack: err.stack }, 'uncaught exception');
      process.exit(1);
    });
  }
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

/** Open the data directory's database read-only (for status while the service runs). */
export function openReadOnly(dir: string, file: string): Database.Database {
  return new Database(join(dir, file), { readonly: true, fileMustExist: true });
}

export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

export function splitList(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

export function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`invalid port ${value}`);
  return n;
}

/** `start --dir [--http-port]`: run a service until a signal (the same for node and hub). */
export function addStartCommand(cmd: Command, description: string, label: string, start: (dir: string, httpPort?: number) => Promise<{ url: string; log: Logger; close(): Promise<void> }>): void {
  cmd
    .command('start')
    .description(description)
    .requiredOption('-d, --dir <dir>', '数据目录 / data directory')
    .option('--http-port <port>', '覆盖配置中的端口 / override the configured port')
    .action(async (o) => {
      const service = await start(o.dir, o.httpPort === undefined ? undefined : parsePort(o.httpPort));
      service.log.info({ event: 'service.running', url: service.url }, `${label}: ${service.url}`);
      runUntilSignal(() => service.close(), service.log);
    });
}
