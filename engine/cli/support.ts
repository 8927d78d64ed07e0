/**
 * @module Small helpers shared by the node and hub CLIs: running a service until a signal, reading a DB,
 * printing, and errors an administrator can act on: zh-CN first, then English, with a code, the
 * address that failed and what to check; times in Asia/Shanghai; a stack only with JILIAN_DEBUG set.
 */
import Database from 'better-sqlite3';
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AppError, isDomainError, toAppError, type ErrorCode, type FieldIssue } from '../errors.ts';
import type { Logger } from '../log.ts';
import { formatShanghaiTime } from '../calendar/shanghai-time.ts';

/** "CODE: 中文 / English" and one line per field: how an error reads at the terminal. */
function describe(e: AppError): string {
  return `${e.code}: ${e.zh} / ${e.en}${e.fields.map((f) => `\n  ${f.path || '(根 root)'}: ${f.message}`).join('')}`;
}

/**
 * An error for the person at the terminal: an AppError whose `message` already holds all of it
 * (code, both languages, one line per field), so it reads well in a log too.
 */
export class CliError extends AppError {
  override readonly name = 'CliError';
  constructor(code: ErrorCode, zh: string, en: string, fields: FieldIssue[] = []) {
    super(code, zh, en, fields);
    this.message = describe(this);
  }
}

/** Every UTC ISO-8601 timestamp in `text` (e.g. in a hub's error message) rewritten in Asia/Shanghai time. */
export function localizeTimestamps(text: string): string {
  return text.replace(/\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?Z\b/g, (iso) => formatShanghaiTime(iso));
}

/** Parse an HTTP(S) base address given on the command line; refuses one without http:// or https:// with the corrected form. */
export function parseHttpUrl(text: string, what: { zh: string; en: string } = { zh: '地址', en: 'address' }): URL {
  let url: URL | null = null;
  try {
    url = new URL(text);
  } catch {
    /* reported below */
  }
  if (url && (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname) return url;
  const bare = text.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const example = `http://${bare || '10.0.0.1:8090'}`;
  throw new CliError(
    'URL_INVALID',
    `${what.zh} "${text}" 无效：须以 http:// 或 https:// 开头，例如 ${example}`,
    `${what.en} "${text}" is invalid: it must start with http:// or https://, e.g. ${example}`,
  );
}

const NET_REASONS: Record<string, { zh: string; en: string; check: { zh: string; en: string } }> = {
  ECONNREFUSED: { zh: '连接被拒绝', en: 'connection refused', check: { zh: '请确认对方服务已启动、端口正确', en: 'check that the service is running and the port is right' } },
  ENOTFOUND: { zh: '找不到该主机', en: 'host not found', check: { zh: '请检查主机名或 DNS', en: 'check the host name and DNS' } },
  EAI_AGAIN: { zh: '域名解析暂时失败', en: 'name resolution failed', check: { zh: '请检查 DNS 与网络', en: 'check DNS and the network' } },
  ETIMEDOUT: { zh: '连接超时', en: 'timed out', check: { zh: '请检查网络、防火墙与地址', en: 'check the network, firewalls and the address' } },
  TIMEOUT: { zh: '等待答复超时', en: 'no answer in time', check: { zh: '请检查网络、防火墙与地址', en: 'check the network, firewalls and the address' } },
  ECONNRESET: { zh: '连接被重置', en: 'connection reset', check: { zh: '请确认地址指向 jilian 服务（http 与 https 是否用错）', en: 'check the address points at a jilian service (http vs https)' } },
  EHOSTUNREACH: { zh: '主机不可达', en: 'host unreachable', check: { zh: '请检查网络与路由', en: 'check the network and routing' } },
  ENETUNREACH: { zh: '网络不可达', en: 'network unreachable', check: { zh: '请检查网络与路由', en: 'check the network and routing' } },
  TLS: {
    zh: 'TLS 握手或证书验证失败',
    en: 'TLS handshake or certificate check failed',
    check: { zh: '请检查证书，或确认应使用 http 还是 https', en: 'check the certificate, or whether http or https is right' },
  },
  EPROTO: { zh: '协议错误', en: 'protocol error', check: { zh: '请确认应使用 http 还是 https', en: 'check whether http or https is right' } },
};

function networkCode(err: unknown): string | undefined {
  const seen = new Set<unknown>();
  for (let e: unknown = err; e && typeof e === 'object' && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    const { code, name, errors } = e as { code?: unknown; name?: unknown; errors?: unknown };
    if (name === 'TimeoutError' || name === 'AbortError' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT') return 'TIMEOUT';
    if (typeof code === 'string') {
      if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL/.test(code)) return 'TLS';
      if (code !== 'UND_ERR_SOCKET') return code;
    }
    if (Array.isArray(errors) && errors.length) return networkCode(errors[0]);
  }
  return undefined;
}

/** A failed `fetch` as a CliError naming the address, the reason and what to check. */
export function unreachable(address: string, err: unknown): CliError {
  const code = networkCode(err);
  const known = code ? NET_REASONS[code] : undefined;
  const zh = known ? `${known.zh}；${known.check.zh}` : `${code ?? (err instanceof Error ? err.message : String(err))}；请检查地址与网络`;
  const en = known ? `${known.en}; ${known.check.en}` : `${code ?? (err instanceof Error ? err.message : String(err))}; check the address and the network`;
  return new CliError('UNREACHABLE', `无法连接 ${address}（${zh}）`, `cannot reach ${address} (${en})`);
}

/** `fetch` whose network failure names the address (the origin of `url`). */
export async function fetchOrExplain(url: URL, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    throw unreachable(url.origin, err);
  }
}

/**
 * How the `jilian` command prints an error: "错误 / error: CODE: 中文 / English", field lines, Shanghai
 * times; the stack only with JILIAN_DEBUG. Domain errors go through `toAppError` as over HTTP; any other
 * error is INTERNAL followed by its own message, which the operator at the terminal needs and may see.
 */
export function formatCliError(err: unknown, debug = Boolean(process.env.JILIAN_DEBUG)): string {
  const shown = err instanceof Error && err.message === 'fetch failed' ? unreachable('(?)', err) : err;
  let text = describe(toAppError(shown));
  if (!isDomainError(shown)) text += ` (${shown instanceof Error ? shown.message : String(shown)})`;
  const out = `错误 / error: ${localizeTimestamps(text)}`;
  return debug && err instanceof Error && err.stack ? `${out}\n${err.stack}` : out;
}

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
      (err) => (log ? log.error({ event: 'service.stop_failed', err: String(err), stack: (err as Error).stack }, 'stop failed') : console.error(formatCliError(err)), process.exit(1)),
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
  const path = join(dir, file);
  if (!existsSync(path)) throw new CliError('DATABASE_MISSING', `数据库文件 ${path} 不存在（节点或枢纽尚未启动过？）`, `database file ${path} does not exist (has the service never started?)`);
  return new Database(path, { readonly: true, fileMustExist: true });
}

export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

export function splitList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw new CliError('PORT_INVALID', `端口 "${value}" 无效：须为 0–65535 的整数`, `invalid port "${value}": use an integer 0–65535`);
  }
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

/** commander's own (English) usage errors, in zh-CN then English. */
const COMMANDER_ERRORS: readonly [RegExp, (m: RegExpExecArray) => string][] = [
  [/unknown option '([^']+)'/, (m) => `未知选项 ${m[1]} / unknown option ${m[1]}`],
  [/required option '([^']+)' not specified/, (m) => `缺少必填选项 ${m[1]} / required option ${m[1]} not specified`],
  [/missing required argument '([^']+)'/, (m) => `缺少必填参数 ${m[1]} / missing required argument ${m[1]}`],
  [/option '([^']+)' argument missing/, (m) => `选项 ${m[1]} 缺少取值 / option ${m[1]} needs a value`],
  [/unknown command '([^']+)'/, (m) => `未知命令 ${m[1]} / unknown command ${m[1]}`],
  [/too many arguments(?: for '([^']+)')?/, (m) => `参数过多${m[1] ? `（${m[1]}）` : ''} / too many arguments${m[1] ? ` for ${m[1]}` : ''}`],
];

/** Render one of commander's error lines ("error: unknown option '--x'") bilingual; unknown ones keep their text. */
export function bilingualUsageError(text: string): string {
  const line = text.replace(/^error:\s*/, '').trim();
  for (const [re, render] of COMMANDER_ERRORS) {
    const m = re.exec(line);
    if (m) return `错误 / error: ${render(m)}\n`;
  }
  return `错误 / error: 命令行用法错误 / usage error: ${line}\n`;
}
