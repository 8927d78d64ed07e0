/** @module Reading and writing the JSON config file that `init` creates (validated with zod on every start). */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { formatZodIssues } from '../protocol/validation-error.ts';

export const CONFIG_FILE = 'jilian.json';

export function configPath(dir: string): string {
  return join(dir, CONFIG_FILE);
}

export function readConfig<T extends z.ZodType>(dir: string, schema: T): z.infer<T> {
  const file = configPath(dir);
  if (!existsSync(file)) throw new Error(`no ${CONFIG_FILE} in ${dir}: run init first`);
  const parsed = schema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) {
    const issues = formatZodIssues(parsed.error).map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`invalid ${file}: ${issues}`);
  }
  return parsed.data;
}

export function writeConfig(dir: string, config: unknown): void {
  writeFileSync(configPath(dir), JSON.stringify(config, null, 2) + '\n', { mode: 0o640 });
}
