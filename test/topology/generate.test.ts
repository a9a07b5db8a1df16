/** generateTopology (every shape) and addRegion: valid files of the requested size, with or without cycles, and clear errors. */
import t from 'tap';
import { addRegion, generateTopology, type GeneratedShape } from '../../src/topology/generate.js';
import { analyzeTopology } from '../../src/topology/analyze.js';
import { diffTopologies, formatTopologyDiff } from '../../src/topology/diff.js';

for (const shape of ['tree', 'ring'] as GeneratedShape[]) {
  for (const bridges of [24, 1000]) {
    t.test(`${shape} of ${bridges} bridges validates`, async (t) => {
      const file = generateTopology({ shape, bridges, containers: 2 * bridges });
      const { topology, problems } = analyzeTopology(file);
      t.same(problems, [], 'no problems');
      t.equal(Object.keys(topology!.nodes).length, bridges, 'exactly the bridges asked for');
      t.equal(Object.keys(topology!.containers).length, 2 * bridges, 'every container');
      const switches = Object.values(topology!.nodes).filter((n) => n.kind === 'switch').length;
      const switchLinks = topology!.links.filter((l) => l.kind === 'switch-switch').length;
      // A connected graph of n switches without cycles has n - 1 links; a ring has more.
      if (shape === 'tree') t.equal(switchLinks, switches - 1, 'a tree: no cycles');
      else t.ok(switchLinks > switches, 'cycles among the switches');
      const hosts = Object.values(topology!.nodes).filter((n) => n.kind === 'host').map((n) => n.name);
      const used = new Set(Object.values(topology!.containers).map((c) => c.node));
      t.ok(hosts.every((h) => used.has(h)), 'containers spread over every host');
    });
  }
}

t.test('the same options give the same file', async (t) => {
  t.same(generateTopology({ shape: 'ring', bridges: 50, containers: 70 }), generateTopology({ shape: 'ring', bridges: 50, containers: 70 }));
});

t.test('bad options are refused with the option named', async (t) => {
  t.throws(() => generateTopology({ shape: 'tree', bridges: 5, containers: 1 }), /bridges: expected an integer of at least 6, got 5/);
  t.throws(() => generateTopology({ shape: 'tree', bridges: 24, containers: -1 }), /containers: expected a non-negative integer/);
  t.throws(() => generateTopology({ shape: 'tree', bridges: 24, containers: 2_000_000 }), /containers: 2000000 do not fit the overlay subnet/);
  t.throws(() => generateTopology({ shape: 'mesh' as GeneratedShape, bridges: 24, containers: 1 }), /shape: expected "tree", "ring" or "regions", got mesh/);
  t.throws(() => generateTopology({ shape: 'tree', bridges: 24, containers: 1, hostsPerEdge: 0 }), /hostsPerEdge: expected a positive integer/);
});

t.test('a file of many broken containers lists every one (schema problems are not scanned per entry)', async (t) => {
  const file = generateTopology({ shape: 'tree', bridges: 24, containers: 20_000 });
  for (const c of Object.values(file.containers!)) c.mac = 'not-a-mac';
  const { topology, problems } = analyzeTopology(file);
  t.equal(topology, null);
  t.equal(problems.length, 20_000, 'one problem per container');
  t.match(problems[19_999]!.path, /containers.*c20000.*mac/);
});

t.test('regions: a valid file with the asked numbers of switches, regions and hosts', async (t) => {
  const doc = generateTopology({ shape: 'regions', switches: 23, regionSize: 5, hostsPerRegion: 2 });
  const { topology, problems } = analyzeTopology(doc);
  t.same(problems, []);
  const nodes = Object.values(topology!.nodes);
  t.equal(nodes.filter((n) => n.kind === 'switch').length, 23);
  t.equal(new Set(nodes.map((n) => n.region)).size, 5, '23 switches in regions of 5: 5 regions');
  t.equal(nodes.filter((n) => n.kind === 'host').length, 10);
  t.equal(Object.keys(topology!.containers).length, 10);
  // Regions in a binary tree, switches of a region in a chain: a tree of switches.
  t.equal(topology!.links.filter((l) => l.kind === 'switch-switch').length, 22, 'no cycles');
  t.throws(() => generateTopology({ shape: 'regions', switches: 0, regionSize: 5, hostsPerRegion: 2 }), /switches: expected an integer of at least 1, got 0/);
  t.throws(() => generateTopology({ shape: 'regions', switches: 10, regionSize: 5, hostsPerRegion: -1 }), /hostsPerRegion: expected an integer of at least 0, got -1/);
});

t.test('regions grown by one region: only that region and its link appear in the diff', async (t) => {
  const doc = generateTopology({ shape: 'regions', switches: 10, regionSize: 5, hostsPerRegion: 1 });
  const before = analyzeTopology(doc).topology!;
  const grown = structuredClone(doc);
  addRegion(grown, 2, 1, 2);
  const after = analyzeTopology(grown);
  t.same(after.problems, []);
  t.same(formatTopologyDiff(diffTopologies(before, after.topology!)).sort(), [
    '+ container c2-0', '+ container c2-1', '+ link h2-0~s2-0', '+ link h2-1~s2-0', '+ link s0-0~s2-0', '+ node h2-0', '+ node h2-1', '+ node s2-0',
  ]);
  t.same(diffTopologies(before, analyzeTopology(doc).topology!).empty, true, 'the same document: no change');
  // Addresses continue after the document's: a generated document grown twice stays valid.
  addRegion(grown, 3, 2, 3);
  t.same(analyzeTopology(grown).problems, []);
});

t.test('addRegion refuses a region that is there, or whose parent is not', async (t) => {
  const doc = generateTopology({ shape: 'regions', switches: 10, regionSize: 5, hostsPerRegion: 1 });
  t.throws(() => addRegion(doc, 1, 2, 1), /region 1 is already in the document \(node s1-0\)/);
  t.throws(() => addRegion(doc, 5, 2, 1), /region 5 joins the tree at s2-0, which the document does not have/);
  t.throws(() => addRegion(generateTopology({ shape: 'tree', bridges: 24, containers: 2 }), 1, 1, 1), /joins the tree at s0-0, which the document does not have \(not of the "regions" shape/);
  t.throws(() => addRegion(doc, 2, 0, 1), /switches: expected an integer of at least 1, got 0/);
});

t.test('topology diff: a link written the other way round is no change; changed fields are named', async (t) => {
  const doc = generateTopology({ shape: 'regions', switches: 4, regionSize: 2, hostsPerRegion: 1 });
  const before = analyzeTopology(doc).topology!;
  const reversed = structuredClone(doc);
  const l = reversed.links[0] as { switch: string; peer: string };
  [l.switch, l.peer] = [l.peer, l.switch];
  t.ok(diffTopologies(before, analyzeTopology(reversed).topology!).empty, 'same link, ends swapped');
  const changed = structuredClone(doc);
  changed.nodes['s1-0']!.region = 'ELSEWHERE';
  changed.containers['c0-0']!.ip = '10.0.0.200';
  (changed.links[0] as { vni?: number }).vni = 77;
  const d = diffTopologies(before, analyzeTopology(changed).topology!);
  t.same(formatTopologyDiff(d), ['~ node s1-0: region', '~ link s0-0~s0-1: vni', '~ container c0-0: ip']);
});
