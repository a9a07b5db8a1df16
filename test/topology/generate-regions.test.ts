import t from 'tap';
import { addRegion, generateTopology } from '../../src/topology/generate-regions.js';
import { analyzeTopology } from '../../src/topology/analyze.js';
import { diffTopologies, formatTopologyDiff } from '../../src/topology/diff.js';

t.test('a generated topology is valid, with the asked numbers of switches, regions and hosts', async (t) => {
  const doc = generateTopology({ name: 'gen', switches: 23, regionSize: 5, hostsPerRegion: 2 });
  const { topology, problems } = analyzeTopology(doc);
  t.same(problems, []);
  const nodes = Object.values(topology!.nodes);
  t.equal(nodes.filter((n) => n.kind === 'switch').length, 23);
  t.equal(new Set(nodes.map((n) => n.region)).size, 5, '23 switches in regions of 5: 5 regions');
  t.equal(nodes.filter((n) => n.kind === 'host').length, 10);
  t.equal(Object.keys(topology!.containers).length, 10);
  t.throws(() => generateTopology({ name: 'gen', switches: 0, regionSize: 5, hostsPerRegion: 2 }), /switches must be a whole number ≥ 1, got 0/);
});

t.test('growing by one region: only that region and its link appear in the diff', async (t) => {
  const doc = generateTopology({ name: 'gen', switches: 10, regionSize: 5, hostsPerRegion: 1 });
  const before = analyzeTopology(doc).topology!;
  const grown = structuredClone(doc);
  addRegion(grown, 2, 1, 2);
  const after = analyzeTopology(grown);
  t.same(after.problems, []);
  t.same(formatTopologyDiff(diffTopologies(before, after.topology!)).sort(), [
    '+ container c2-0', '+ container c2-1', '+ link h2-0~s2-0', '+ link h2-1~s2-0', '+ link s0-0~s2-0', '+ node h2-0', '+ node h2-1', '+ node s2-0',
  ]);
  t.same(diffTopologies(before, analyzeTopology(doc).topology!).empty, true, 'the same document: no change');
});

t.test('topology diff: a link written the other way round is no change; changed fields are named', async (t) => {
  const doc = generateTopology({ name: 'gen', switches: 4, regionSize: 2, hostsPerRegion: 1 });
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
