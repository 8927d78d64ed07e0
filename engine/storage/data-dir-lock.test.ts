import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { HOLDER_FILE, lockDataDir } from './data-dir-lock.ts';
import { AppError } from '../errors.ts';

test('a data directory lock is exclusive (also within one process), names its holder, and is released', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jilian-lock-unit-'));
  try {
    const lock = lockDataDir(dir, { role: 'node', nodeId: 'county-410802' });
    lock.update({ url: 'http://127.0.0.1:8080' });
    assert.equal(JSON.parse(readFileSync(join(dir, HOLDER_FILE), 'utf8')).pid, process.pid);
    assert.throws(
      () => lockDataDir(dir),
      (err: unknown) =>
        err instanceof AppError &&
        err.code === 'DATA_DIR_LOCKED' &&
        err.en.includes(`process ${process.pid}`) &&
        err.en.includes('http://127.0.0.1:8080') &&
        err.zh.includes(`进程 ${process.pid}`) &&
        err.message.includes(err.zh) &&
        err.message.includes(err.en),
    );
    lock.release();
    lock.release();
    assert.equal(existsSync(join(dir, HOLDER_FILE)), false);
    lockDataDir(dir).release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
