/**
 * The arrival flow at a migrating container's new port copies its frames to the controller only
 * until the first one is in: that one commits the migration, later copies only loaded the switch
 * while the flip's barriers waited on it. The first frame's packet-in turns the flow into plain
 * forwarding at once, ahead of the flip, and the flip is still sent as prepared.
 */
import t from 'tap';
import { makeWorld, walkBetween, untilValue, type World } from './world.js';
import { buildFabric, desired, ep } from './fabric-fixture.js';
import { fakePort } from '../../src/openflow-sim/fake-switch.js';
import { Port } from '../../src/openflow/constants.js';
import type { FlowMod, Message } from '../../src/openflow/types/index.js';
import { cookieKind, isOurCookie, RuleKind } from '../../controller/core/cookies.js';
import { changedMigrations, migrationsByMac, type MigrationInProgress } from '../../controller/core/forwarding.js';
import type { FlowSpec } from '../../controller/core/flows.js';
import type { Instruction } from '../../src/openflow/types/index.js';

const toController = (instructions: readonly Instruction[]) =>
  instructions.some((i) => i.type === 'APPLY_ACTIONS' && i.actions.some((a) => a.type === 'OUTPUT' && a.port === Port.CONTROLLER));
const gotoTable = (instructions: readonly Instruction[]) => instructions.find((i) => i.type === 'GOTO_TABLE');

t.test('forwarding: an arrived migration\'s arrival flow forwards as the copying one does, without the copy', async (t) => {
  const { fabric } = buildFabric(['b0', 'b1'], [['b0', 'b1']]);
  const mover = ep('web', 1, 'b0', 1);
  const moving: MigrationInProgress = { name: 'web', mac: mover.mac, from: mover.at, to: { bridge: 'b1', ofport: 2 } };
  const arrival = (m: MigrationInProgress): FlowSpec => {
    const flows = desired(fabric, [mover], [m]).get('b1')!.flows.filter((f) => isOurCookie(f.cookie) && cookieKind(f.cookie) === RuleKind.MIGRATION_ARRIVAL);
    t.equal(flows.length, 1, 'one arrival flow at the new edge');
    return flows[0]!;
  };
  const copying = arrival(moving);
  const quiet = arrival({ ...moving, arrived: true });
  t.ok(toController(copying.instructions), 'before the first frame: copied to the controller');
  t.notOk(toController(quiet.instructions), 'after it: not copied');
  t.same(gotoTable(quiet.instructions), gotoTable(copying.instructions), 'forwarded on the same way');
  t.same([quiet.tableId, quiet.priority, quiet.match, quiet.cookie], [copying.tableId, copying.priority, copying.match, copying.cookie], 'the same flow slot and cookie: an ADD replaces it');
  t.same([...changedMigrations(migrationsByMac([moving]), migrationsByMac([{ ...moving, arrived: true }]))], [mover.mac], 'a sync sees the entry changed');
});

async function setup(t: { teardown: (fn: () => unknown) => void }) {
  const w = await makeWorld('two-region.json');
  t.teardown(() => w.close());
  const names = Object.keys(w.topology.containers);
  const mover = names[0]!;
  const home = w.app.controller.locations.get(mover)!;
  const hosts = Object.values(w.topology.nodes).filter((n) => n.kind === 'host');
  const target = hosts.find((h) => h.region !== w.topology.nodes[home.node]!.region)!.name;
  return { w, mover, home, target, peers: names.filter((n) => n !== mover) };
}

/** Flow changes a full recomputation against every switch's read-back tables still wants. */
async function changesAfterReconcile(w: World): Promise<number> {
  let flowMods = 0;
  const count = (e: { type: string; flowMods?: unknown }) => {
    if (e.type === 'flows-applied') flowMods += Number(e.flowMods);
  };
  w.app.controller.on('event', count);
  try {
    await Promise.all(Object.keys(w.topology.nodes).map((n) => w.app.controller.requestSync(`test: reconcile ${n}`, { reconcile: n })));
  } finally {
    w.app.controller.off('event', count);
  }
  return flowMods;
}

/** FLOW_MODs for the flow slot of frames from `mac` at `ofport` (the arrival flow's, then the mover's own). */
const slotMods = (received: readonly Message[], mac: string, ofport: number) => received.filter((m): m is FlowMod => m.type === 'FLOW_MOD'
  && m.match.fields.some((f) => f.field === 'in_port' && Number(f.value) === ofport)
  && m.match.fields.some((f) => f.field === 'eth_src' && String(f.value).toLowerCase() === mac));

t.test('the first frame quiets the arrival flow ahead of the flip; the flip is sent as prepared and leaves nothing to reconcile', async (t) => {
  const { w, mover, target, peers } = await setup(t);
  const sw = w.switches.get(target)!;
  sw.addPort(fakePort(931, 'c-first'));
  await untilValue('port 931 seen', () => w.app.controller.sessions.get(target)!.ports.has(931), (x) => x);
  const m = await w.app.migrations.prepare(mover, { node: target, port: 'c-first' });
  await w.app.controller.requestSync('test: settle');
  const mac = m.mac;
  const pin = () => {
    const walk = w.net.walk(target, 931, { eth_src: mac, eth_dst: w.app.controller.locations.get(peers[0]!)!.mac, eth_type: 0x0800, ipv4_src: '0.0.0.0', ipv4_dst: '0.0.0.0' });
    return walk.toController.filter((d) => d.switch === target && d.port === 931);
  };
  const copies = pin();
  t.equal(copies.length, 1, 'prepared: the container\'s frames at the new port are copied to the controller');
  const arrivalCookie = copies[0]!.cookie!;
  t.equal(cookieKind(arrivalCookie), RuleKind.MIGRATION_ARRIVAL, 'by the arrival flow');

  const from = sw.received.length;
  const prepared = w.app.controller.syncCounts.prepared;
  const frame = Buffer.alloc(60);
  Buffer.from(w.app.controller.locations.get(peers[0]!)!.mac.replace(/:/g, ''), 'hex').copy(frame, 0);
  Buffer.from(mac.replace(/:/g, ''), 'hex').copy(frame, 6);
  frame.writeUInt16BE(0x88b5, 12);
  sw.packetIn(931, frame, arrivalCookie, 0);
  const done = await untilValue('committed by the first frame', () => w.app.migrations.get(m.id)!, (x) => x.state === 'committed');
  t.equal(done.committedBy, 'first-frame');

  const mods = slotMods(sw.received.slice(from), mac, 931);
  t.ok(mods.length >= 2, `the slot changed twice (${mods.length})`);
  t.equal(cookieKind(mods[0]!.cookie), RuleKind.MIGRATION_ARRIVAL, 'first the arrival flow itself, before the flip');
  t.notOk(toController(mods[0]!.instructions), 'without the copy to the controller');
  t.equal(cookieKind(mods.at(-1)!.cookie), RuleKind.KNOWN_SOURCE, 'then the flip\'s own flow for the mover');
  t.equal(w.app.controller.syncCounts.prepared, prepared + 1, 'the flip was sent as prepared (the early flow_mod left the plan valid)');
  t.same(pin(), [], 'no copies after the flip');
  for (const p of peers) t.same(walkBetween(w, p, mover).delivered.map((d) => `${d.switch}:${d.port}`), [`${target}:931`], `${p}: delivered at the new port only`);
  t.equal(await changesAfterReconcile(w), 0, 'the model matched the switches: a reconcile of every switch changes nothing');
});

t.test('a sync between the first frame and the flip keeps the arrival flow quiet', async (t) => {
  const { w, mover, target, peers } = await setup(t);
  const sw = w.switches.get(target)!;
  sw.addPort(fakePort(932, 'c-sync'));
  await untilValue('port 932 seen', () => w.app.controller.sessions.get(target)!.ports.has(932), (x) => x);
  const m = await w.app.migrations.prepare(mover, { node: target, port: 'c-sync' });
  await w.app.controller.requestSync('test: settle');
  // The manager's entry for the migration as the first frame leaves it, published by hand so
  // that no commit follows: a sync from then on keeps the flow it sent.
  w.app.controller.migrations = w.app.controller.migrations.map((x) => (x.mac === m.mac ? { ...x, arrived: true } : x));
  t.ok(w.app.controller.quietArrival(target, m.mac, 932), 'sent');
  await sw.waitFor((x) => x.type === 'FLOW_MOD' && slotMods([x], m.mac, 932).length === 1 && !toController(x.instructions));
  t.notOk(w.app.controller.quietArrival(target, m.mac, 932), 'once: the model holds it');
  const from = sw.received.length;
  await w.app.controller.requestSync('test: a sync meanwhile', { towards: target });
  t.same(slotMods(sw.received.slice(from), m.mac, 932), [], 'the sync leaves it alone');
  const walk = w.net.walk(target, 932, { eth_src: m.mac, eth_dst: w.app.controller.locations.get(peers[0]!)!.mac, eth_type: 0x0800, ipv4_src: '0.0.0.0', ipv4_dst: '0.0.0.0' });
  t.same(walk.toController.filter((d) => d.port === 932), [], 'no copy to the controller');
  t.equal(await changesAfterReconcile(w), 0, 'a reconcile of every switch changes nothing');
});
