/** The example topologies in topologies/ are valid and are what their names say. */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { analyzeTopologyFile } from '../../src/topology/load.js';
import { formatProblem } from '../../src/topology/problems.js';
import type { ResolvedTopology } from '../../src/topology/types.js';
import { exampleFiles } from './fixtures.js';

const expected: Record<string, { nodes: number; switches?: number }> = {
  'paper-fig1.json': { nodes: 4, switches: 2 },
  'two-region.json': { nodes: 7 },
  'three-region.json': { nodes: 10, switches: 4 },
  'line-3.json': { nodes: 3 },
  'grid-12.json': { nodes: 12 },
  'paper-24.json': { nodes: 24 },
};

async function load(file: string): Promise<ResolvedTopology> {
  const { topology, problems } = await analyzeTopologyFile(file);
  if (!topology) throw new Error(problems.map((p) => formatProblem(p, file)).join('\n'));
  return topology;
}

t.test('every expected example exists', async (t) => {
  t.same(exampleFiles().map((f) => basename(f)).sort(), Object.keys(expected).sort());
});

for (const file of exampleFiles()) {
  const name = basename(file);
  t.test(name, async (t) => {
    const topo = await load(file);
    t.equal(Object.keys(topo.nodes).length, expected[name]?.nodes, 'node count');
    if (expected[name]?.switches !== undefined) {
      t.equal(Object.values(topo.nodes).filter((n) => n.kind === 'switch').length, expected[name]!.switches);
    }
    t.equal(`${topo.name}.json`, name, 'topology name matches the file name');
    const raw = JSON.parse(readFileSync(file, 'utf8'));
    if (raw.$schema !== undefined) t.equal(raw.$schema, '../schema/topology.schema.json');
    // The embedded testbed runs each node as a network namespace: keep names short.
    for (const n of Object.values(topo.nodes)) {
      t.ok(n.name.length <= 8, `${n.name}: short node name`);
      t.ok(n.bridge.name.length <= 10, `${n.bridge.name}: short bridge name`);
    }
  });
}

t.test('two-region: a container meant to migrate from CORE to EDGE', async (t) => {
  const topo = await load(exampleFiles().find((f) => f.endsWith('two-region.json'))!);
  const regions = new Set(Object.values(topo.nodes).map((n) => n.region));
  t.ok(regions.has('CORE'));
  t.ok([...regions].some((r) => r.startsWith('EDGE')), 'an EDGE region');
  t.ok(Object.values(topo.nodes).filter((n) => n.kind === 'switch').length >= 2);
  const m = /Container "([^"]+)" starts on (\w+) in (\S+) and is the one meant to migrate across regions, to (\w+) in ([^;]+);/.exec(topo.description ?? '');
  t.ok(m, 'the description names the migrating container, its source and its destination');
  if (!m) return;
  const [, container, from, fromRegion, to, toRegion] = m;
  t.equal(topo.containers[container!]?.node, from, 'the container starts where the description says');
  t.equal(topo.nodes[from!]?.region, fromRegion);
  t.equal(topo.nodes[to!]?.kind, 'host');
  t.equal(topo.nodes[to!]?.region, toRegion!.trim());
  t.not(fromRegion, toRegion!.trim(), 'across regions');
});
