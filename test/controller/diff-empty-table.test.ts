/**
 * A switch that holds none of our flows (start-up) is diffed without keying its desired flows:
 * the result must be what the general diff gives, message for message, and applying it must
 * leave the same installed index.
 */
import t from 'tap';
import { buildFabric, ep } from './fabric-fixture.js';
import { BridgeMacs, computeDesiredState, OWN_GROUP_IDS } from '../../controller/core/forwarding.js';
import { allInstalled, applyDiff, diffInstalled, diffToMessages, indexInstalled, installedFlow, type InstalledState } from '../../controller/core/diff.js';
import { flowKey, type FlowSpec, type SwitchState } from '../../controller/core/flows.js';
import { ruleCookie } from '../../controller/core/cookies.js';
import { encodeMessage } from '../../src/openflow/encode/index.js';

const OWN = { groupIds: OWN_GROUP_IDS, meterIds: new Set([1]) };
const EMPTY: SwitchState = { flows: [], groups: [], meters: [] };

/** A flow of ours no rule wants: holding it sends the diff down the general path. */
const stray: FlowSpec = { tableId: 7, priority: 1, match: { fields: [{ field: 'eth_dst', value: '02:ff:ff:ff:ff:ff' }] }, instructions: [], cookie: ruleCookie(1, 'stray') };
/** The same without a MAC in its match: the installed index keeps MAC flows and the others apart. */
const strayByPort: FlowSpec = { tableId: 7, priority: 1, match: { fields: [{ field: 'in_port', value: 99 }] }, instructions: [], cookie: ruleCookie(1, 'stray-port') };

const wire = (msgs: ReturnType<typeof diffToMessages>) => msgs.map((m) => encodeMessage(m).toString('hex')).sort();
const index = (i: InstalledState) => [...allInstalled(i)].map((f) => flowKey(f)).sort();

t.test('an empty table gets every desired flow, group and meter, as the general diff sends them', async (t) => {
  const { fabric } = buildFabric(['a', 'b', 'c', 'd'], [['a', 'b'], ['b', 'c'], ['c', 'd'], ['d', 'a']]);
  const endpoints = [ep('e1', 1, 'a', 1), ep('e2', 2, 'b', 2), ep('e3', 3, 'c', 1), ep('e4', 4, 'd', 3)];
  const demand = new BridgeMacs();
  demand.add('a', endpoints[2]!.mac);
  demand.add('c', endpoints[0]!.mac);
  const desired = computeDesiredState({ fabric, endpoints, demand });
  for (const [bridge, state] of desired) {
    const empty = indexInstalled(EMPTY);
    const fast = diffInstalled(state, empty, OWN);
    t.equal(fast.flowsToAdd.length, state.flows.length, `${bridge}: every flow added`);
    t.equal(fast.flowsToDelete.length, 0, `${bridge}: nothing deleted`);
    t.ok(fast.groupsToAdd.length > 0 && fast.metersToAdd.length > 0, `${bridge}: groups and meters added`);

    applyDiff(empty, fast);
    for (const s of [stray, strayByPort]) {
      // A switch holding one flow, a MAC flow or another, is not empty: the general diff runs.
      const holding = indexInstalled({ ...EMPTY, flows: [s] });
      const general = diffInstalled(state, holding, OWN);
      t.same(general.flowsToDelete, [s], `${bridge}: the general diff deletes the stray flow (${s.cookie === stray.cookie ? 'eth_dst' : 'in_port'})`);
      t.same(wire(diffToMessages(fast)), wire(diffToMessages({ ...general, flowsToDelete: [] })), `${bridge}: same messages`);
      applyDiff(holding, general);
      t.same(index(empty), index(holding), `${bridge}: same installed index`);
    }
  }
});

t.test('two desired flows with one key: the later one is installed, as the general diff does', async (t) => {
  const first: FlowSpec = { ...stray, tableId: 1, instructions: [{ type: 'GOTO_TABLE', tableId: 2 }] };
  const later: FlowSpec = { ...first, instructions: [{ type: 'GOTO_TABLE', tableId: 3 }] };
  const installed = indexInstalled(EMPTY);
  const d = diffInstalled({ ...EMPTY, flows: [first, later] }, installed, OWN);
  applyDiff(installed, d);
  t.equal(installedFlow(installed, later), later, "the later one is the one installed");
  t.equal(diffToMessages(d).at(-1)?.type === 'FLOW_MOD' && (diffToMessages(d).at(-1) as { instructions: unknown }).instructions, later.instructions, 'the later one is sent last');
});
