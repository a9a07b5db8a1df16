/**
 * Groups are compared as data (diff.ts sameData), not as canonical text: equal whatever the key
 * order or an undefined field (a decoder's objects against the forwarding code's), different on
 * any value, bucket count or order.
 */
import t from 'tap';
import { diffSwitchState } from '../../controller/core/diff.js';
import type { GroupSpec, SwitchState } from '../../controller/core/flows.js';

const bucket = (port: number) => ({ weight: 0, watchPort: 0xffffffff, watchGroup: 0xffffffff, actions: [{ type: 'OUTPUT' as const, port, maxLen: 0 }] });
const group = (ports: number[]): GroupSpec => ({ groupId: 1, groupType: 'ALL', buckets: ports.map(bucket) });
const state = (g: GroupSpec): SwitchState => ({ flows: [], groups: [g], meters: [] });
const modifies = (desired: GroupSpec, installed: GroupSpec) => diffSwitchState(state(desired), state(installed)).groupsToModify.length;

t.test('a group equal as data needs no GROUP_MOD, whatever its key order or undefined fields', async (t) => {
  const reordered: GroupSpec = {
    groupType: 'ALL', groupId: 1,
    buckets: [1, 2, 3].map((port) => ({ actions: [{ maxLen: 0, port, type: 'OUTPUT' as const }], watchGroup: 0xffffffff, watchPort: 0xffffffff, weight: 0, extra: undefined })),
  };
  t.equal(modifies(group([1, 2, 3]), reordered), 0);
  t.equal(modifies(group([1, 2, 3]), group([1, 2, 3])), 0);
});

t.test('a group that differs in a port, its buckets or their order is modified', async (t) => {
  t.equal(modifies(group([1, 2, 3]), group([1, 2, 4])), 1, 'another port');
  t.equal(modifies(group([1, 2, 3]), group([1, 2])), 1, 'a bucket fewer');
  t.equal(modifies(group([1, 2, 3]), group([1, 3, 2])), 1, 'another order');
  const other = group([1, 2, 3]);
  other.buckets[0] = { ...other.buckets[0]!, weight: 1 };
  t.equal(modifies(group([1, 2, 3]), other), 1, 'another weight');
  t.equal(modifies(group([1, 2, 3]), { ...group([1, 2, 3]), groupType: 'SELECT' as GroupSpec['groupType'] }), 1, 'another type');
});
