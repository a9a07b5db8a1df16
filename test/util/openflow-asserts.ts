/** Assertions and byte helpers shared by the OpenFlow structure tests. */
import type { Test } from 'tap';
import { OpenFlowError } from '../../src/openflow/errors.js';

/** Hex text to bytes; spaces, newlines and `|` (field separators in the tests) are ignored. */
export const hex = (s: string): Buffer => Buffer.from(s.replace(/[\s|]/g, ''), 'hex');

/** Asserts that `fn` throws an OpenFlowError of `type`/`code` (and at `offset`, when given). */
export function throwsOfp(t: Test, fn: () => unknown, type: string, code: string, offset: number | undefined, label: string): void {
  try {
    fn();
    t.fail(`${label}: expected ${type}/${code}, nothing thrown`);
  } catch (err) {
    if (!(err instanceof OpenFlowError)) {
      t.fail(`${label}: expected OpenFlowError, got ${String(err)}`);
      return;
    }
    t.equal(`${err.typeName}/${err.codeName}`, `${type}/${code}`, `${label}: error kind (${err.message})`);
    if (offset !== undefined) t.equal(err.offset, offset, `${label}: offset`);
  }
}
