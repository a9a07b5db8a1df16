/**
 * Endpoint-only syncs against full recomputation: two controllers with the same fake switches
 * get the same random learn/move/remove events; one may recompute only the changed endpoints,
 * the other is forced down the full path before every step (a migration's start and end among
 * them: changes of the endpoints whose entry changed). After each step the switches'
 * tables must be equal, and each switch must have received the same changes, stage by stage.
 */
import t from 'tap';
import { makeWorld, type World } from './world.js';
import { canonicalKey } from '../../controller/core/flows.js';
import type { MigrationInProgress } from '../../controller/core/forwarding.js';
import { seededRandom } from '../util/random.js';
import { marks, received, tables } from './sent-changes.js';

t.test('endpoint-only syncs leave the same tables and send the same changes as full recomputation', async (t) => {
  const incremental = await makeWorld('grid-12.json');
  t.teardown(() => incremental.close());
  const full = await makeWorld('grid-12.json');
  t.teardown(() => full.close());
  t.same(tables(incremental), tables(full), 'same tables to start with');

  const { topology } = incremental;
  const nodes = Object.keys(topology.nodes).sort();
  const plannedEdge = (node: string) => topology.nodes[node]!.bridge.ports.filter((p) => p.kind !== 'tunnel').map((p) => p.ofport);
  const rand = seededRandom(20240611);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const known = () => incremental.app.controller.locations.all();
  let nextMac = 0x100;
  const freedIps: string[] = [];
  const reference = { ...full.app.controller.syncCounts };
  /** Per node, the ports that flood reaches: planned ones and those where a location is. */
  const edgePorts = () => canonicalKey(nodes.map((n) => [...new Set([...plannedEdge(n), ...known().filter((l) => l.node === n).map((l) => l.ofport)])].sort()));
  let edgeSteps = 0;

  const hosts = nodes.filter((n) => plannedEdge(n).length > 0);
  // Mostly hosts: switches have no planned edge ports, so every location there adds one.
  const someNode = () => (rand() < 0.8 ? pick(hosts) : pick(nodes));
  for (let step = 0; step < 60; step++) {
    const target = someNode();
    /** A location: mostly a port the switch reports, sometimes one it does not (it joins the flood group). */
    const spot = (node: string) => {
      const planned = plannedEdge(node);
      return planned.length === 0 || rand() < 0.05 ? 7000 + Math.floor(rand() * 3) : pick(planned);
    };
    const events: ((w: World) => void)[] = [];
    if (step === 20 || step === 40) {
      // A migration in progress (then gone): bicast flows for one endpoint while others change.
      const mover = pick(known());
      const migrations: MigrationInProgress[] = step === 20 ? [{ name: mover.name, mac: mover.mac, from: { bridge: mover.node, ofport: mover.ofport }, to: { bridge: target, ofport: spot(target) } }] : [];
      events.push((w) => { w.app.controller.migrations = migrations; });
    }
    const count = 1 + Math.floor(rand() * 5);
    const planned = new Set<string>();
    for (let i = 0; i < count; i++) {
      const r = rand();
      const entries = known().filter((l) => !planned.has(l.name));
      if (r < 0.45 || entries.length < 3) {
        // A new MAC, sometimes with an IP another endpoint just gave up.
        const node = someNode();
        const at = spot(node);
        const mac = `02:aa:00:00:${(nextMac >> 8).toString(16).padStart(2, '0')}:${(nextMac & 0xff).toString(16).padStart(2, '0')}`;
        nextMac++;
        const ip = freedIps.length > 0 && rand() < 0.5 ? freedIps.shift() : rand() < 0.5 ? `10.1.${nextMac >> 8}.${nextMac & 0xff}` : undefined;
        events.push((w) => w.app.controller.learn(node, at, mac, ip, undefined));
      } else if (r < 0.75) {
        // A host move seen in traffic, or a move through the API with a new IP.
        const l = pick(entries);
        planned.add(l.name);
        const at = spot(target);
        if (rand() < 0.5) {
          events.push((w) => w.app.controller.learn(target, at, l.mac, undefined, undefined));
        } else {
          const ip = `10.2.${step}.${i + 1}`;
          if (l.ip) freedIps.push(l.ip);
          events.push((w) => void w.app.controller.placeContainer({ name: l.name, mac: l.mac, ip, node: target, ofport: at }));
        }
      } else if (r < 0.85) {
        // The same name with another MAC (a container replaced), moved at the same time.
        const l = pick(entries);
        planned.add(l.name);
        const mac = `02:bb:00:00:${(nextMac >> 8).toString(16).padStart(2, '0')}:${(nextMac & 0xff).toString(16).padStart(2, '0')}`;
        nextMac++;
        const at = spot(target);
        events.push((w) => void w.app.controller.placeContainer({ name: l.name, mac, ...(l.ip ? { ip: l.ip } : {}), node: target, ofport: at }));
      } else if (r < 0.92) {
        // The same MAC and IP under another name: old and new flows share their keys.
        const l = pick(entries);
        planned.add(l.name);
        const at = spot(target);
        events.push((w) => {
          void w.app.controller.removeContainer(l.name);
          void w.app.controller.placeContainer({ name: `${l.name}-${step}`, mac: l.mac, ...(l.ip ? { ip: l.ip } : {}), node: target, ofport: at });
        });
      } else {
        const l = pick(entries);
        planned.add(l.name);
        if (l.ip) freedIps.push(l.ip);
        events.push((w) => void w.app.controller.removeContainer(l.name));
      }
    }

    const before = { a: marks(incremental), b: marks(full) };
    const counts = { ...incremental.app.controller.syncCounts };
    const edgesBefore = edgePorts();
    full.app.controller.recomputeAllNext();
    for (const w of [incremental, full]) {
      for (const e of events) e(w);
    }
    await Promise.all([incremental.app.controller.requestSync('step done'), full.app.controller.requestSync('step done')]);

    t.same(tables(incremental), tables(full), `step ${step}: same tables`);
    const got = received(incremental, before.a);
    const want = received(full, before.b);
    for (const node of nodes) t.same(got.get(node), want.get(node), `step ${step}: ${node} received the same changes, stage by stage`);
    const now = incremental.app.controller.syncCounts;
    // A change of the migrations is one of the endpoints whose entry changed; one of the edge
    // ports, of the flood groups of their bridges (and of the label flows towards a new edge).
    if (edgePorts() !== edgesBefore) edgeSteps++;
    t.ok(now.full === counts.full && now.endpoints > counts.endpoints, `step ${step}: only the changed endpoints and edges were recomputed`);
  }
  t.ok(edgeSteps >= 10, `many steps change edge ports too (${edgeSteps})`);
  t.equal(full.app.controller.syncCounts.endpoints, reference.endpoints, 'the reference never took the endpoint-only path');
  t.equal(full.app.controller.syncCounts.full, reference.full + 60, 'the reference recomputed everything, once per step');

  // The in-place model matches the switches: a full recomputation now finds nothing to change.
  const settled = marks(incremental);
  incremental.app.controller.recomputeAllNext();
  await incremental.app.controller.requestSync('check');
  t.same([...received(incremental, settled).values()].flat(2), [], 'nothing to send after a full recomputation');
});
