/**
 * A port's instructions, in_port field and flood bucket are made once per port number and shared
 * by every bridge and every computation (forwarding.ts ByPort): they must be exactly what a flow
 * or group built on its own would hold, for port numbers in the dense range and beyond it.
 */
import t from 'tap';
import { buildFabric, ep } from './fabric-fixture.js';
import { ByPort, computeDesiredState, FLOOD_GROUP } from '../../controller/core/forwarding.js';
import { RuleKind, cookieKind } from '../../controller/core/cookies.js';
import type { FlowSpec } from '../../controller/core/flows.js';
import { Port } from '../../src/openflow/constants.js';

// Below 2^16 (an array slot), above it (a Map entry), and an edge case of each.
const PORTS = [1, 4096, 65279, 65535, 65536, 70000, 0xfffff000];

function edgeFlows(port: number) {
  const { fabric } = buildFabric(['a', 'b'], [['a', 'b']], { a: [port], b: [2] });
  const state = computeDesiredState({ fabric, endpoints: [ep('x', 1, 'a', port)] }).get('a')!;
  const kind = (k: number) => state.flows.find((f: FlowSpec) => cookieKind(f.cookie) === k)!;
  return { known: kind(RuleKind.KNOWN_SOURCE), local: kind(RuleKind.UNICAST), deliver: kind(RuleKind.DELIVER), group: state.groups.find((g) => g.groupId === FLOOD_GROUP)! };
}

t.test('per-port objects hold what a flow built on its own would', async (t) => {
  for (const port of PORTS) {
    const { known, local, deliver, group } = edgeFlows(port);
    const out = { type: 'OUTPUT', port, maxLen: 0 };
    t.same(local.instructions, [{ type: 'APPLY_ACTIONS', actions: [out] }], `port ${port}: local delivery outputs to it`);
    t.same(deliver.instructions, [{ type: 'APPLY_ACTIONS', actions: [{ type: 'POP_VLAN' }, out] }], `port ${port}: labelled delivery pops and outputs to it`);
    t.same(known.match.fields[0], { field: 'in_port', value: port }, `port ${port}: known source matches it`);
    const bucket = group.buckets.find((b) => b.actions.some((a) => a.type === 'OUTPUT' && a.port === port));
    t.same(bucket, { weight: 0, watchPort: Port.ANY, watchGroup: 0xffffffff, actions: [out] }, `port ${port}: its flood bucket`);
  }
});

t.test('a port number is one set of objects, whichever bridge and computation', async (t) => {
  for (const port of PORTS) {
    const first = edgeFlows(port);
    const again = edgeFlows(port);
    t.equal(again.local.instructions, first.local.instructions, `port ${port}: output instructions shared`);
    t.equal(again.deliver.instructions, first.deliver.instructions, `port ${port}: pop-output instructions shared`);
    t.equal(again.known.match.fields[0], first.known.match.fields[0], `port ${port}: in_port field shared`);
    const bucketOf = (g: typeof first.group) => g.buckets.find((b) => b.actions.some((a) => a.type === 'OUTPUT' && a.port === port));
    t.equal(bucketOf(again.group), bucketOf(first.group), `port ${port}: flood bucket shared`);
    t.equal(bucketOf(first.group)!.actions, (first.local.instructions[0] as { actions: unknown }).actions, `port ${port}: the bucket's actions are the output instruction's`);
  }
});

t.test('ByPort makes a value once per number, dense or not', async (t) => {
  let made = 0;
  const by = new ByPort((port) => ({ port, n: made++ }));
  for (const port of [0, 7, 65535, 65536, 2 ** 32 - 2, 7, 65536]) t.equal(by.get(port).port, port);
  t.equal(made, 5, 'seven lookups of five numbers made five values');
  t.equal(by.get(7), by.get(7));
  t.equal(by.get(2 ** 32 - 2), by.get(2 ** 32 - 2));
});
