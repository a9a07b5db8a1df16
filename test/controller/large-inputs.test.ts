/**
 * Paths that once spread a list into call arguments (`push(...xs)`, `set(...xs)`), which
 * overflows the call stack past ~120k elements: they take 200k now.
 */
import t from 'tap';
import { diffToMessages, emptyDiff } from '../../controller/core/diff.js';
import type { FlowSpec } from '../../controller/core/flows.js';
import { setOf, uuid } from '../../src/ovsdb/values.js';

const MANY = 200_000;

t.test('a diff of 200k flow adds and deletes becomes 400k messages', async (t) => {
  const d = emptyDiff();
  for (let i = 0; i < MANY; i++) {
    const f: FlowSpec = { tableId: 1, priority: 100, cookie: 0x5649n << 48n | BigInt(i), match: { fields: [{ field: 'in_port', value: i + 1 }] }, instructions: [] } as FlowSpec;
    d.flowsToAdd.push(f);
    d.flowsToDelete.push(f);
  }
  const msgs = diffToMessages(d);
  t.equal(msgs.length, 2 * MANY);
  t.match(msgs[0], { type: 'FLOW_MOD', command: 'ADD' });
  t.match(msgs[2 * MANY - 1], { type: 'FLOW_MOD', command: 'DELETE_STRICT' });
});

t.test('an OVSDB set of 200k references', async (t) => {
  const refs = Array.from({ length: MANY }, (_, i) => uuid(`00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`));
  const s = setOf(refs);
  t.equal(s.size, MANY);
});
