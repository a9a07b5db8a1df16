import t from 'tap';
import { addRegion, generateTopology } from '../../src/topology/generate.js';
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
