/**
 * Which reported ports the fabric counts as edge ports (flooded to, learned at): the topology's
 * host ports and unknown ports, never a port named as a tunnel to a node of the overlay that the
 * topology does not list (a link just added or just removed).
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { fabricFromTopology } from '../../controller/core/topology-fabric.js';
import { defaultTunnelPortName } from '../../src/topology/derive.js';
import { resolveTopology } from '../../src/topology/load.js';
import type { PortDesc } from '../../src/openflow/types/index.js';
import { repoRoot } from '../../testbed/workload/overlay.js';

const topology = resolveTopology(JSON.parse(readFileSync(`${repoRoot()}/topologies/three-region.json`, 'utf8')));
const port = (portNo: number, name: string): PortDesc => ({
  portNo, name, hwAddr: '02:00:00:00:aa:01', config: 0, state: 0, curr: 0, advertised: 0, supported: 0, peer: 0, currSpeed: 0, maxSpeed: 0,
} as PortDesc);

t.test('a tunnel-named port the topology does not list is not an edge port; an unknown port is', async (t) => {
  const node = topology.nodes['sw1']!;
  const planned = node.bridge.ports.map((p) => port(p.ofport, p.name));
  const tunnelPeers = new Set(node.bridge.ports.filter((p) => p.kind === 'tunnel').map((p) => p.peer));
  const stranger = Object.keys(topology.nodes).find((n) => n !== 'sw1' && !tunnelPeers.has(n))!;
  t.ok(stranger, 'a node sw1 has no tunnel to');
  const reported = new Map([['sw1', new Map([
    ...planned.map((p) => [p.portNo, p] as const),
    [900, port(900, defaultTunnelPortName(stranger))],
    [901, port(901, 'veth-by-hand')],
  ])]]);
  const edge = fabricFromTopology(topology, reported).bridges.get('sw1')!.edgePorts;
  t.notOk(edge.includes(900), `${defaultTunnelPortName(stranger)} (a tunnel to ${stranger} not in the topology) is not flooded to`);
  t.ok(edge.includes(901), 'a port plugged in by hand is an edge port');
  for (const p of node.bridge.ports.filter((p) => p.kind === 'tunnel')) t.notOk(edge.includes(p.ofport), `${p.name} is a tunnel`);
});
