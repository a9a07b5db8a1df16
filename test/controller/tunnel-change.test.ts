/**
 * A tunnel port going away or coming back (PORT_STATUS) changes paths: the controller stages the
 * change per label, as for a reload, and traffic takes the remaining (then the restored) path.
 */
import t from 'tap';
import { fakePort } from '../../src/openflow-sim/fake-switch.js';
import { loadTopology } from '../../src/topology/load.js';
import { cutPort, makeWorld, walkBetween } from './world.js';
import { join } from 'node:path';
import { repoRoot } from '../util/paths.js';

t.test('a ring tunnel lost and restored: staged by distance, traffic reroutes and comes back', async (t) => {
  const topology = await loadTopology(join(repoRoot(), 'topologies', 'three-region.json'));
  const w = await makeWorld(topology);
  t.teardown(() => w.close());
  const stages: string[] = [];
  w.app.controller.on('event', (e: { type: string; stage?: string }) => {
    if (e.type === 'flows-stage-applied') stages.push(e.stage!);
  });
  const path = (a: string, b: string) => walkBetween(w, a, b).delivered.map((d) => `${d.switch}:${d.port}`);
  const client = topology.containers['client']!;
  const web = topology.containers['web']!;
  t.same(path('web', 'client'), [`h4:${client.ofport}`], 'web → client before');

  const link = topology.links.find((l) => l.a.node === 'sw1' && l.b.node === 'sw2')!;
  const sw1 = w.switches.get('sw1')!;
  await cutPort(w, 'sw1', link.a.ofport);
  t.ok(stages.some((s) => /^distance \d+$/.test(s)), `the tunnel's loss was staged by distance (${stages.join(', ')})`);
  t.same(path('web', 'client'), [`h4:${client.ofport}`], 'web → client around the ring');
  t.same(path('client', 'web'), [`h1:${web.ofport}`], 'and back');

  stages.length = 0;
  sw1.addPort(fakePort(link.a.ofport, link.a.port));
  w.net.link('sw1', link.a.ofport, 'sw2', link.b.ofport);
  for (let i = 0; i < 200 && !w.app.controller.sessions.get('sw1')!.ports.has(link.a.ofport); i++) await new Promise((r) => setTimeout(r, 10));
  await w.waitSettled();
  t.ok(stages.some((s) => /^distance \d+$/.test(s)), `its return was staged by distance (${stages.join(', ')})`);
  t.same(path('web', 'client'), [`h4:${client.ofport}`], 'web → client over the restored tunnel');
});
