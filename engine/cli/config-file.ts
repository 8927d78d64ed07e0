/** @module Reading and writing the JSON config file that `init` creates (validated with zod on every start). */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { bilingualIssues } from '../../protocol/validation-error.ts';
import { CliError } from './support.ts';

export const CONFIG_FILE = 'jilian.json';

export function configPath(dir: string): string {
  return join(dir, CONFIG_FILE);
}

const SIDE = {
  node: { zh: '县（区）节点', en: 'node', cmd: 'jilian node' },
  hub: { zh: '市级枢纽', en: 'hub', cmd: 'jilian hub' },
} as const;

/** The `role` literal a config schema requires ('node' or 'hub'), if any. */
function roleOf(schema: z.ZodType): string | undefined {
  const role = schema instanceof z.ZodObject ? (schema.shape as Record<string, unknown>).role : undefined;
  return role instanceof z.ZodLiteral && typeof role.value === 'string' ? role.value : undefined;
}

function readRaw(dir: string): unknown {
  const file = configPath(dir);
  if (!existsSync(file)) {
    throw new CliError('CONFIG_MISSING', `${dir} 中没有 ${CONFIG_FILE}：目录不对，或尚未运行 init / enroll`, `no ${CONFIG_FILE} in ${dir}: wrong directory, or run init (or enroll) first`);
  }
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new CliError('CONFIG_INVALID', `配置文件 ${file} 不是合法的 JSON（${why}）`, `${file} is not valid JSON (${why})`);
  }
}

/** Whether `dir` is a node's or the hub's data directory (its config's `role`; a config without one is a node's). */
export function dataDirRole(dir: string): 'node' | 'hub' {
  const raw = readRaw(dir);
  return raw && typeof raw === 'object' && (raw as { role?: unknown }).role === 'hub' ? 'hub' : 'node';
}

export function readConfig<T extends z.ZodType>(dir: string, schema: T): z.infer<T> {
  const file = configPath(dir);
  const raw = readRaw(dir);
  // A hub's directory given to a node command (or the reverse) would otherwise fail on every field.
  const want = roleOf(schema);
  const have = raw && typeof raw === 'object' ? (raw as { role?: unknown }).role : undefined;
  if (want && want !== have && (have === 'node' || have === 'hub') && (want === 'node' || want === 'hub')) {
    const h = SIDE[have];
    const w = SIDE[want];
    throw new CliError('WRONG_DATA_DIR', `这是${h.zh}的数据目录，不是${w.zh}的：${dir}（${h.zh}请用 ${h.cmd} …）`, `this is a ${h.en} data directory, not a ${w.en}'s: ${dir} (use ${h.cmd} … for it)`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const fields = bilingualIssues(parsed.error).map(({ path, code, message }) => ({ path, code, message }));
    throw new CliError('CONFIG_INVALID', `配置文件 ${file} 无效`, `invalid ${file}`, fields);
  }
  return parsed.data;
}

/** Validate a configuration about to be written (from command-line options); bilingual field errors. */
export function checkConfig<T extends z.ZodType>(schema: T, draft: unknown): z.infer<T> {
  const parsed = schema.safeParse(draft);
  if (parsed.success) return parsed.data;
  const fields = bilingualIssues(parsed.error).map(({ path, code, message }) => ({ path, code, message }));
  const where = fields.map((f) => f.path || '(root)').join(', ');
  throw new CliError('INVALID_OPTIONS', `参数无效：${where}`, `invalid options: ${where}`, fields);
}

export function writeConfig(dir: string, config: unknown): void {
  writeFileSync(configPath(dir), JSON.stringify(config, null, 2) + '\n', { mode: 0o640 });
}

/** Refuse a directory that already holds a configuration (before `init`/`enroll` creates anything). */
export function assertNotInitialised(dir: string): void {
  if (existsSync(configPath(dir))) {
    throw new CliError('DIR_INITIALISED', `${configPath(dir)} 已存在：该目录已初始化，请换一个目录`, `${configPath(dir)} already exists: this directory is already initialised; use another one`);
  }
}

/**
 * Remember what exists at and under `dir` now; the returned function removes everything created
 * since (the directory itself, and parents, if they did not exist). Files that were there before are
 * never touched. For `init`/`enroll`, so a failure leaves the directory as it was.
 */
export function undoNewFiles(dir: string): () => void {
  let top = resolve(dir);
  if (!existsSync(top)) {
    while (!existsSync(dirname(top)) && dirname(top) !== top) top = dirname(top);
    return () => rmSync(top, { recursive: true, force: true });
  }
  const before = new Set(readdirSync(top, { recursive: true }).map(String));
  return () => {
    if (!existsSync(top)) return;
    const now = readdirSync(top, { recursive: true }).map(String);
    for (const rel of now) if (!before.has(rel)) rmSync(join(top, rel), { recursive: true, force: true });
  };
}
