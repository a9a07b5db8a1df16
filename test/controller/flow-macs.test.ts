// The MAC of each flow noted by the desired-state computation (noteFlowMacs) must be the one the
// diff would find in its match (macOf): the diff files every MAC flow under it, so a wrong one
// would hold a flow under another container. Checked on generated topologies with demand,
// departed entries and migrations in every phase (moving, frozen, sealed, same bridge).
import t from 'tap';
import { generateTopology } from '../../src/topology/generate.js';
import { resolveTopology } from '../../src/topology/load.js';
import { fabricFromTopology } from '../../controller/core/topology-fabric.js';
import { BridgeMacs, desiredStateFor, forwardingContext, type MigrationInProgress } from '../../controller/core/forwarding.js';
import { diffInstalled, indexInstalled } from '../../controller/core/diff.js';
import { flowMacsOf, macOf, noteFlowMacs } from '../../controller/core/flows.js';
import type { Endpoint } from '../../controller/core/fabric.js';

const FIRST_PORT = 4096;

function scenario(shape: 'tree' | 'ring', bridges: number, containers: number) {
  const file = generateTopology({ shape, bridges, containers });
  const topology = resolveTopology({ ...file, containers: {} });
  const hosts = Object.keys(topology.nodes).filter((n) => topology.nodes[n]!.kind === 'host');
  const located = new Map<string, number[]>(hosts.map((h) => [h, []]));
  const endpoints: Endpoint[] = [];
  for (const [name, c] of Object.entries(file.containers ?? {})) {
    const ports = located.get(c.host)!;
    const ofport = FIRST_PORT + ports.length;
    ports.push(ofport);
    endpoints.push({ name, mac: c.mac, ip: c.ip, at: { bridge: c.host, ofport } });
  }
  const fabric = fabricFromTopology(topology, new Map(), located);
  const demand = new BridgeMacs();
  const departed = new BridgeMacs();
  endpoints.forEach((e, i) => {
    demand.add(hosts[(i * 7) % hosts.length]!, e.mac.toUpperCase());
    if (i % 5 === 0) departed.add(hosts[(i * 3) % hosts.length]!, e.mac);
  });
  // Migrations of every kind, to another host and to another port of the same one.
  const migrations: MigrationInProgress[] = endpoints.slice(0, 12).map((e, i) => {
    const other = hosts.find((h) => h !== e.at.bridge)!;
    const sameBridge = i % 6 === 5;
    return {
      name: e.name, mac: e.mac, from: e.at,
      to: sameBridge ? { bridge: e.at.bridge, ofport: 60000 + i } : { bridge: other, ...(i % 2 === 0 ? { ofport: 60000 + i } : {}) },
      ...(i % 3 === 1 ? { hold: true } : {}),
      ...(i % 4 === 2 ? { seal: i % 8 === 2 ? 'report' as const : 'drop' as const } : {}),
    };
  });
  return { ctx: forwardingContext({ fabric, demand, departed, migrations }), endpoints, bridges: [...fabric.bridges.keys()] };
}

for (const [shape, bridges, containers] of [['tree', 24, 300], ['ring', 30, 400]] as const) {
  t.test(`${shape} ${bridges}/${containers}: every flow's noted MAC is the one in its match`, (t) => {
    const { ctx, endpoints, bridges: names } = scenario(shape, bridges, containers);
    const desired = desiredStateFor(ctx, endpoints);
    let flows = 0;
    let macFlows = 0;
    const wrong: string[] = [];
    for (const name of names) {
      const state = desired.get(name)!;
      const macs = flowMacsOf(state.flows);
      if (!macs) {
        wrong.push(`${name}: no MACs noted`);
        continue;
      }
      state.flows.forEach((f, i) => {
        flows++;
        if (macs[i] !== undefined) macFlows++;
        if (macs[i] !== macOf(f)) wrong.push(`${name} flow ${i} (table ${f.tableId}, priority ${f.priority}): noted ${macs[i]}, match has ${macOf(f)}`);
      });
    }
    t.same(wrong.slice(0, 5), [], 'no flow noted under another MAC');
    t.ok(macFlows > containers && flows > macFlows, `${flows} flows, ${macFlows} of one MAC`);
    t.end();
  });
}

t.test('MACs noted of a list are not used for another list, nor once the list changed', (t) => {
  const { ctx, endpoints } = scenario('tree', 24, 100);
  const desired = desiredStateFor(ctx, endpoints);
  const [name, state] = [...desired].find(([, s]) => s.flows.some((f) => macOf(f) !== undefined))!;
  t.ok(flowMacsOf(state.flows), 'noted by the computation');
  t.equal(flowMacsOf(state.flows.filter(() => true)), undefined, 'a copy of the list: not noted');
  const changed = state.flows.slice();
  noteFlowMacs(changed, flowMacsOf(state.flows)!.slice());
  changed.push(changed[0]!);
  t.equal(flowMacsOf(changed), undefined, 'a list grown since: not used');
  noteFlowMacs(state.flows, []);
  t.equal(flowMacsOf(state.flows)?.length, state.flows.length, 'MACs of another length are not noted: the right ones stay');
  // A diff of the computed state against itself installed finds nothing to do, with or without the noted MACs.
  const installed = indexInstalled({ ...state, flows: state.flows.slice() }, name);
  const d = diffInstalled(state, installed);
  t.equal(d.flowsToAdd.length + d.flowsToDelete.length, 0, 'nothing to add or delete');
  t.end();
});
