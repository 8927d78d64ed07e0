/** @module Assert that a call throws a typed error (AppError, ProtocolError, …) with a given code, and return it. */
import assert from 'node:assert/strict';

export function thrownWithCode<E extends Error & { code: string }>(fn: () => unknown, type: new (...args: never[]) => E, code: E['code']): E {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof type, `expected ${type.name} ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected ${type.name} ${code}, nothing was thrown`);
}
