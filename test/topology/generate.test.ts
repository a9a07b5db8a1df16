/** generateTopology: valid files of the requested size, with or without cycles, and clear errors. */
import t from 'tap';
import { generateTopology, type GeneratedShape } from '../../src/topology/generate.js';
import { analyzeTopology } from '../../src/topology/analyze.js';

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
  t.throws(() => generateTopology({ shape: 'mesh' as GeneratedShape, bridges: 24, containers: 1 }), /shape: expected "tree" or "ring", got mesh/);
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
