/**
 * Switches connecting (all at once, as at start-up, a few at a time, or one again later): those
 * connecting together are computed together (a storm's sync waits for the handshakes under way);
 * each one's state is computed alone when it reports its ports as the basis assumed, so a
 * connect storm costs one full computation, not one per sync. Every case ends by forcing a full recomputation of every
 * switch, which must then change nothing: the shortcut left the tables a full computation wants.
 */
import t from 'tap';
import { makeWorld, walkBetween, type World } from './world.js';
import { marks, received, tables } from './sent-changes.js';

/** What a full recomputation of every switch sends now, per switch (only those that get anything). */
async function fullRecomputationSends(w: World): Promise<Map<string, string[][]>> {
  const from = marks(w);
  w.app.controller.recomputeAllNext();
  await w.app.controller.requestSync('reference: everything recomputed');
  const out = new Map<string, string[][]>();
  for (const [node, batches] of received(w, from)) if (batches.some((b) => b.length > 0)) out.set(node, batches);
  return out;
}

async function connectAll(w: World): Promise<void> {
  await Promise.all(Object.keys(w.topology.nodes).map((node) => w.connectSwitch(node)));
  await w.waitSettled();
}

function walksDeliver(t: { ok: (v: unknown, m: string) => void }, w: World, pairs: [string, string][]): void {
  for (const [src, dst] of pairs) {
    const walk = walkBetween(w, src, dst);
    const at = w.app.controller.locations.get(dst)!;
    t.ok(!walk.looped && walk.delivered.some((d) => d.switch === at.node && d.port === at.ofport), `${src} → ${dst} delivered`);
  }
}

/** A few container pairs across the topology (first, middle, last by name). */
function somePairs(w: World): [string, string][] {
  const names = w.app.controller.locations.all().map((l) => l.name);
  const a = names[0]!;
  const b = names[Math.floor(names.length / 2)]!;
  const c = names.at(-1)!;
  return [[a, b], [b, c], [c, a]];
}

t.test('a connect storm: the switches connecting at once are computed together; the tables are the full computation\'s', async (t) => {
  const w = await makeWorld('paper-24.json', { connect: false });
  t.teardown(() => w.close());
  const ctl = w.app.controller;
  const before = { ...ctl.syncCounts };
  await connectAll(w);
  const nodes = Object.keys(w.topology.nodes).length;
  t.ok(ctl.syncCounts.full - before.full <= 1, `at most one full computation for ${nodes} switches connecting (${ctl.syncCounts.full - before.full})`);
  t.same([...(await fullRecomputationSends(w)).keys()], [], 'a full recomputation changes nothing');
  walksDeliver(t, w, somePairs(w));
});

for (const [passes, how] of [[0, 'entries indexed by bridge from the first'], [1000, 'each by a pass over every location']] as const) {
  t.test(`switches connecting after the first, a few at a time: each computed alone (${how}); the tables are the full computation's`, async (t) => {
    const w = await makeWorld('paper-24.json', { connect: false });
    t.teardown(() => w.close());
    const ctl = w.app.controller;
    ctl.stormPassesBeforeIndex = passes;
    const before = { ...ctl.syncCounts };
    const names = Object.keys(w.topology.nodes);
    // A few at a time: a quarter of the switches or fewer per sync is what the index serves.
    for (let i = 0; i < names.length; i += i === 0 ? 1 : 5) {
      await Promise.all(names.slice(i, i === 0 ? 1 : i + 5).map((node) => w.connectSwitch(node)));
      await w.waitSettled();
    }
    t.ok(ctl.syncCounts.full - before.full <= 1, `one full computation, for the first (${ctl.syncCounts.full - before.full})`);
    t.ok(ctl.syncCounts.switches - before.switches >= names.length - 1, `every other switch's state computed alone (${ctl.syncCounts.switches - before.switches})`);
    // Each switch's flows stayed cached as the next switches were computed: a full computation
    // finds every flow there (the switches share those objects), none made anew.
    const cache = (ctl as unknown as { flowCache: { size: number } }).flowCache;
    const cachedAfterStorm = cache.size;
    t.same([...(await fullRecomputationSends(w)).keys()], [], 'a full recomputation changes nothing');
    t.equal(cache.size, cachedAfterStorm, `the flow cache held every switch's flows after the storm (${cachedAfterStorm})`);
    walksDeliver(t, w, somePairs(w));
  });
}

t.test('a switch that reconnects, and one whose table was changed behind our back: only that switch is sent anything', async (t) => {
  const w = await makeWorld('grid-12.json');
  t.teardown(() => w.close());
  const ctl = w.app.controller;
  const host = Object.values(w.topology.nodes).find((n) => n.kind === 'host')!.name;
  const fullBefore = ctl.syncCounts.full;

  // Reconnects with its tables as they were: nothing to send to anyone.
  let from = marks(w);
  await w.connectSwitch(host);
  await w.waitSettled();
  let sent = [...received(w, from)].filter(([, batches]) => batches.some((b) => b.length > 0)).map(([node]) => node);
  t.same(sent, [], 'a switch reconnecting with the flows it had: no flow_mod to anyone');

  // A flow removed by hand on the switch: the read-back of an audit finds it, and puts it back.
  const table = w.tables.get(host)!;
  const removed = table.flows.find((f) => f.tableId === 0 && f.match.fields.some((m) => m.field === 'eth_src'))!;
  t.ok(removed, 'the host has a known-source flow to remove');
  table.flows = table.flows.filter((f) => f !== removed);
  from = marks(w);
  await ctl.requestSync('test audit', { reconcile: host });
  const changes = received(w, from);
  sent = [...changes].filter(([, batches]) => batches.some((b) => b.length > 0)).map(([node]) => node);
  t.same(sent, [host], 'only the audited switch is sent anything');
  t.equal(changes.get(host)!.flat().length, 1, 'one flow_mod: the flow removed by hand');
  t.ok(table.flows.some((f) => f.cookie === removed.cookie && f.tableId === removed.tableId), 'the flow is back');
  t.equal(ctl.syncCounts.full, fullBefore, 'no full computation');
  t.same([...(await fullRecomputationSends(w)).keys()], [], 'a full recomputation changes nothing');
});

t.test('switches whose ports differ from the plan (a container port, a tunnel renumbered) still get the full computation\'s tables', async (t) => {
  // A tunnel renumbered changes the paths (a full computation); a container port renumbered only
  // its bridge's edge ports (confined); a tunnel-less edge port plugged in by hand likewise.
  const tunnelAt = 's2';
  const renumbered: string[] = [];
  const w = await makeWorld('grid-12.json', {
    connect: false,
    renumber: (node, port, planned) => {
      if ((node === tunnelAt && port === 'vx-s3') || (node === 'h3' && port === 'c-c3')) {
        renumbered.push(`${node}/${port}`);
        return planned + 40;
      }
      return planned;
    },
  });
  t.teardown(() => w.close());
  await connectAll(w);
  t.ok(renumbered.includes('sw2/vx-s3'.replace('sw2', tunnelAt)) && renumbered.includes('h3/c-c3'), `ports renumbered: ${renumbered.join(', ')}`);
  t.same([...(await fullRecomputationSends(w)).keys()], [], 'a full recomputation changes nothing');
  walksDeliver(t, w, somePairs(w));
  // Start-up again with the switches holding those tables: nothing to send.
  const copy = tables(w);
  await w.restartController();
  t.same(tables(w), copy, 'after a restart the same tables');
  t.same([...(await fullRecomputationSends(w)).keys()], [], 'and a full recomputation changes nothing');
});
