/**
 * The pieces a restart or connect storm computes with, against the whole computation they stand
 * in for: the desired state of some switches (DesiredStateBuilder with a subset, each endpoint's
 * flows made only for those switches) is the whole desired state's for them, flow for flow, with
 * migrations (plain, held, sealed, within one bridge), ingress and relabel entries; the by-bridge
 * index of BridgeMacs agrees with its by-MAC entries through adds and deletes; a switch read back
 * (indexInstalled, without a search per flow) is the state set flow by flow would give.
 */
import t from 'tap';
import type { Endpoint } from '../../controller/core/fabric.js';
import { BridgeMacs, DesiredStateBuilder, desiredStateFor, forwardingContext, type MigrationInProgress } from '../../controller/core/forwarding.js';
import { allInstalled, countInstalled, diffInstalled, indexInstalled, installedFlow, MacFlows, readFlowsDecoded, setInstalled, type InstalledState } from '../../controller/core/diff.js';
import { fabricFromTopology } from '../../controller/core/topology-fabric.js';
import { generateTopology } from '../../src/topology/generate.js';
import { resolveTopology } from '../../src/topology/load.js';
import { Prng } from '../../bench/lib/prng.js';
import type { FlowSpec, SwitchState } from '../../controller/core/flows.js';
import { formatMac } from '../../src/openflow/addr.js';
import { decodeRawFlowStats, rawFlowBody, rawOxmValueAt, readRawFlowStatsReply, type RawFlowStats } from '../../src/openflow/decode/flow-stats-raw.js';
import { encodeMessage } from '../../src/openflow/encode/index.js';
import type { FlowStats } from '../../src/openflow/types/index.js';

function scenario(shape: 'tree' | 'ring', bridges: number, containers: number, seed: number) {
  const topology = resolveTopology(generateTopology({ shape, bridges, containers }));
  const located = new Map<string, number[]>();
  for (const c of Object.values(topology.containers)) located.set(c.node, [...(located.get(c.node) ?? []), c.ofport]);
  const fabric = fabricFromTopology(topology, new Map(), located);
  const names = [...fabric.bridges.keys()];
  const hosts = names.filter((n) => fabric.bridges.get(n)!.edgePorts.length > 0);
  const endpoints: Endpoint[] = Object.values(topology.containers).map((c) => ({ name: c.name, mac: c.mac.toLowerCase(), ip: c.ip, at: { bridge: c.node, ofport: c.ofport } }));
  const rng = new Prng(seed);
  const demand = new BridgeMacs();
  const departed = new BridgeMacs();
  for (const ep of endpoints) {
    for (let i = 0; i < 3; i++) demand.add(hosts[rng.below(hosts.length)]!, ep.mac);
    if (rng.below(4) === 0) departed.add(hosts[rng.below(hosts.length)]!, ep.mac);
  }
  const migrations: MigrationInProgress[] = [];
  const kinds: Partial<MigrationInProgress>[] = [{}, { hold: true }, { seal: 'report' }, { seal: 'drop', hold: true }];
  for (let i = 0; i < Math.min(12, endpoints.length); i++) {
    const ep = endpoints[rng.below(endpoints.length)]!;
    if (migrations.some((m) => m.mac === ep.mac)) continue;
    // Now and then within its own bridge, now and then before the new port exists.
    const bridge = i % 5 === 0 ? ep.at.bridge : hosts[rng.below(hosts.length)]!;
    migrations.push({ name: ep.name, mac: ep.mac, from: ep.at, to: { bridge, ...(i % 3 === 0 ? {} : { ofport: 900 + i }) }, ...kinds[i % kinds.length] });
  }
  return { fabric, names, endpoints, ctx: forwardingContext({ fabric, migrations, demand, departed }), rng };
}

for (const [shape, bridges, containers] of [['tree', 24, 300], ['ring', 30, 400]] as const) {
  t.test(`${shape} ${bridges}/${containers}: the desired state of some switches is the whole computation's for them`, async (t) => {
    const { names, endpoints, ctx, rng } = scenario(shape, bridges, containers, bridges);
    const whole = desiredStateFor(ctx, endpoints);
    for (let round = 0; round < 8; round++) {
      const subset = names.filter(() => rng.below(4) === 0);
      if (subset.length === 0) continue;
      const builder = new DesiredStateBuilder({ ...ctx, bridges: subset });
      // In steps, as the controller does between yields.
      builder.addBridges(0, 1);
      builder.addBridges(1);
      const cut = rng.below(endpoints.length);
      builder.addEndpoints(endpoints, 0, cut);
      builder.addEndpoints(endpoints, cut);
      const part = builder.build();
      t.same([...part.keys()], subset, 'the switches asked for');
      let differing = 0;
      for (const b of subset) {
        const a = part.get(b)!;
        const w = whole.get(b)!;
        if (a.flows.length !== w.flows.length || a.flows.some((f, i) => JSON.stringify(f, big) !== JSON.stringify(w.flows[i], big))) differing++;
        if (JSON.stringify(a.groups, big) !== JSON.stringify(w.groups, big)) differing++;
      }
      t.equal(differing, 0, `round ${round}: ${subset.length} switches, the same flows in the same order and the same groups`);
    }
  });
}

t.test('BridgeMacs: the index by bridge follows every add and delete', async (t) => {
  const set = new BridgeMacs();
  const rng = new Prng(7);
  const bridges = ['a', 'b', 'c', 'd', 'e'];
  const macs = Array.from({ length: 40 }, (_, i) => `02:00:00:00:00:${i.toString(16).padStart(2, '0')}`);
  const check = (when: string) => {
    const expected = new Map<string, Set<string>>();
    for (const [b, m] of set.entries()) {
      if (!expected.has(b)) expected.set(b, new Set());
      expected.get(b)!.add(m);
    }
    const bad = bridges.filter((b) => JSON.stringify([...(set.macsAt(b) ?? [])].sort()) !== JSON.stringify([...(expected.get(b) ?? [])].sort()));
    t.same(bad, [], when);
  };
  for (let i = 0; i < 200; i++) set.add(bridges[rng.below(5)]!, macs[rng.below(40)]!);
  t.equal(set.macsAt('a'), undefined, 'not indexed: no answer');
  set.indexBridges(true);
  check('built from what was there');
  for (let i = 0; i < 400; i++) {
    const op = rng.below(10);
    if (op < 5) set.add(bridges[rng.below(5)]!, macs[rng.below(40)]!.toUpperCase());
    else if (op < 8) set.delete(bridges[rng.below(5)]!, macs[rng.below(40)]!);
    else if (op < 9) set.deleteMac(macs[rng.below(40)]!);
    else {
      const dropped = bridges[rng.below(5)];
      set.retainBridges((b) => b !== dropped);
    }
  }
  check('after adds (upper case too), deletes, MACs forgotten and bridges dropped');
  set.indexBridges(false);
  t.equal(set.macsAt('a'), undefined, 'dropped');
  set.add('a', macs[0]!);
  set.indexBridges(true);
  check('built again');
});

t.test('a switch read back is indexed as setting its flows one by one would, and adopting the desired objects keeps it so', async (t) => {
  const { names, endpoints, ctx } = scenario('tree', 24, 300, 3);
  const desired = desiredStateFor(ctx, endpoints);
  // As read back: copies, not the desired objects (some switches share flow objects there).
  const copy = <T>(x: T): T => structuredClone(x);
  const macs = new MacFlows();
  const slow = new MacFlows();
  const fast = new Map<string, InstalledState>();
  const byHand = new Map<string, InstalledState>();
  for (const b of names) {
    const read = desired.get(b)!.flows.map(copy);
    fast.set(b, indexInstalled({ flows: read, groups: [], meters: [] }, b, macs));
    const s: InstalledState = { flows: new Map(), groups: new Map(), meters: new Map(), bridge: b, macs: slow };
    for (const f of read) setInstalled(s, f);
    byHand.set(b, s);
  }
  const listing = (s: InstalledState) => [...allInstalled(s)].map((f) => JSON.stringify(f, big)).sort();
  t.same(names.filter((b) => JSON.stringify(listing(fast.get(b)!)) !== JSON.stringify(listing(byHand.get(b)!))), [], 'every switch holds the same flows');
  // The diff against what was read back: nothing to send, and the model now holds the desired objects.
  let toSend = 0;
  for (const b of names) {
    const d = diffInstalled(desired.get(b)!, fast.get(b)!);
    toSend += d.flowsToAdd.length + d.flowsToDelete.length;
  }
  t.equal(toSend, 0, 'an equal table read back needs nothing sent');
  const notAdopted = names.filter((b) => desired.get(b)!.flows.some((f) => installedFlow(fast.get(b)!, f) !== f) || countInstalled(fast.get(b)!) !== desired.get(b)!.flows.length);
  t.same(notAdopted, [], 'each switch holds the desired objects, as many as it wants');
  // Read back with a stray (a MAC flow no rule wants) and one flow missing: the diff deletes the
  // stray and adds the missing one, nothing else, and holds no stray afterwards.
  const b0 = names.find((b) => desired.get(b)!.flows.filter((f) => f.match.fields.some((m) => m.field === 'eth_dst')).length > 2)!;
  const wanted = desired.get(b0)!.flows;
  const missing = wanted.find((f) => f.match.fields.some((m) => m.field === 'eth_dst'))!;
  const stray = { ...copy(missing), priority: missing.priority + 7 };
  const readAgain = [...wanted.filter((f) => f !== missing).map(copy), stray];
  const again = new MacFlows();
  const held = indexInstalled({ flows: readAgain, groups: [], meters: [] }, b0, again);
  const d = diffInstalled(desired.get(b0)!, held);
  t.same([d.flowsToAdd.length, d.flowsToDelete.length], [1, 1], 'one flow added, one deleted');
  t.equal(d.flowsToAdd[0], missing, 'the missing one added');
  t.equal(d.flowsToDelete[0], stray, 'the stray deleted');
  // A second diff (the model now searched through the runs) agrees.
  const d2 = diffInstalled(desired.get(b0)!, held);
  t.same([d2.flowsToAdd.length, d2.flowsToDelete.length], [1, 1], 'the same again through the runs');
  t.equal(d2.flowsToDelete[0], stray, 'the stray again');

  // A table given with two flows of one identity: the later is held, as set would keep it.
  const [first] = desired.get(names.find((b) => desired.get(b)!.flows.some((f) => f.match.fields.some((m) => m.field === 'eth_dst')))!)!.flows.filter((f) => f.match.fields.some((m) => m.field === 'eth_dst'));
  const later = { ...copy(first!), instructions: [] };
  const twice = indexInstalled({ flows: [copy(first!), later], groups: [], meters: [] }, 'x');
  t.equal(countInstalled(twice), 1, 'one flow per identity');
  t.equal(installedFlow(twice, first!), later, 'the later one');
});

function big(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? `${v}n` : v;
}

/** A switch's table as it reads back raw: its MAC flows by MAC (bytes), the others decoded. */
function readRaw(flows: readonly FlowSpec[], spoil?: (body: Buffer, f: FlowSpec) => void): { state: SwitchState; byMac: Map<string, RawFlowStats[]> } {
  const stats: FlowStats[] = flows.map((f) => ({
    tableId: f.tableId, durationSec: 1, durationNsec: 2, priority: f.priority, idleTimeout: f.idleTimeout ?? 0, hardTimeout: 0, flags: 0, cookie: f.cookie,
    packetCount: 3n, byteCount: 4n, match: f.match, instructions: f.instructions,
  }));
  const state: SwitchState = { flows: [], groups: [], meters: [] };
  const byMac = new Map<string, RawFlowStats[]>();
  for (let i = 0; i < stats.length; i += 50) {
    const part = readRawFlowStatsReply(encodeMessage({ type: 'MULTIPART_REPLY', xid: 1, flags: 0, body: { kind: 'FLOW', flows: stats.slice(i, i + 50) } }));
    part.flows.forEach((r, j) => {
      spoil?.(rawFlowBody(r), flows[i + j]!);
      const dst = rawOxmValueAt(r, 3);
      const at = dst >= 0 ? dst : rawOxmValueAt(r, 4);
      if (at < 0) {
        state.flows.push(decodeRawFlowStats(r));
        return;
      }
      const mac = formatMac(r.frame, at);
      (byMac.get(mac) ?? byMac.set(mac, []).get(mac)!).push(r);
    });
  }
  return { state, byMac };
}

t.test('a switch read back raw: equal flows compared as bytes, the desired objects held; what differs decoded', async (t) => {
  const { names, endpoints, ctx } = scenario('tree', 24, 300, 3);
  const desired = desiredStateFor(ctx, endpoints);
  const macs = new MacFlows();
  let toSend = 0;
  const decodedBefore = readFlowsDecoded.count;
  const states = new Map<string, InstalledState>();
  for (const b of names) {
    const { state, byMac } = readRaw(desired.get(b)!.flows);
    states.set(b, indexInstalled(state, b, macs, byMac));
    const d = diffInstalled(desired.get(b)!, states.get(b)!);
    toSend += d.flowsToAdd.length + d.flowsToDelete.length;
  }
  t.equal(toSend, 0, 'an equal table read back raw needs nothing sent');
  t.equal(readFlowsDecoded.count - decodedBefore, 0, 'and decodes none of its MAC flows');
  t.ok(names.every((b) => desired.get(b)!.flows.every((f) => installedFlow(states.get(b)!, f) === f)), 'each switch holds the desired objects');

  // One switch, several flows spoiled in ways a switch may report them.
  const b0 = names.find((b) => desired.get(b)!.flows.filter((f) => f.match.fields.some((m) => m.field === 'eth_dst')).length > 3)!;
  const wanted = desired.get(b0)!.flows;
  const macFlows = wanted.filter((f) => f.match.fields.some((m) => (m.field === 'eth_dst' || m.field === 'eth_src') && m.mask === undefined));
  const changed = macFlows.find((f) => f.instructions.some((i) => i.type === 'APPLY_ACTIONS' && i.actions.some((a) => a.type === 'OUTPUT')))!;
  const twoFields = macFlows.find((f) => f !== changed && f.match.fields.length === 2)!;
  const undecodable = macFlows.find((f) => f !== changed && f !== twoFields && f.instructions.length > 0)!;
  // Read back with another cookie (low bit flipped: the same owner and kind): not equal.
  const recookied = macFlows.find((f) => f !== changed && f !== twoFields && f !== undecodable)!;
  t.ok(changed && twoFields && undecodable && recookied, 'the switch has flows to spoil');
  const stray: FlowSpec = { ...changed, priority: changed.priority + 7 };
  const read = readRaw([...wanted.map((f) => (f === recookied ? { ...f, cookie: f.cookie ^ 1n } : f)), stray], (body, f) => {
    const at = ((body.readUInt16BE(2) + 7) & ~7);
    if (f === changed) {
      // Another output port: the last 16 bytes of an APPLY_ACTIONS ending in OUTPUT are that action.
      const out = body.length - 16;
      body.writeUInt32BE(body.readUInt32BE(out + 4) + 1000, out + 4);
    } else if (f === twoFields) {
      // The match's two fields in the other order: bytes differ, the flow does not.
      const first = 4 + body[4 + 3]!;
      const a = Buffer.from(body.subarray(4, 4 + first));
      const c = Buffer.from(body.subarray(4 + first, body.readUInt16BE(2)));
      Buffer.concat([c, a]).copy(body, 4);
    } else if (f === undecodable) {
      // An instruction type nobody knows, with a valid length: read, but not decodable.
      body.writeUInt16BE(0x7777, at);
    }
  });
  const held = indexInstalled(read.state, b0, new MacFlows(), read.byMac);
  const d = diffInstalled(desired.get(b0)!, held);
  t.same(d.flowsToAdd.map((f) => f === changed ? 'changed' : f === undecodable ? 'undecodable' : f === recookied ? 'recookied' : 'other').sort(), ['changed', 'recookied', 'undecodable'], 'added: the changed flow, the one read back with another cookie and the one whose read-back does not decode');
  t.equal(d.flowsToDelete.length, 1, 'one deleted');
  t.equal(d.flowsToDelete[0]!.priority, stray.priority, 'the stray, decoded');
  t.same(d.flowsToDelete[0]!.match, stray.match);
  const cur = installedFlow(held, changed)!;
  t.not(cur, changed, 'until the ADD is confirmed, the changed flow is held as read');
  t.same(cur.match, changed.match, 'decoded: its match');
  t.equal(installedFlow(held, twoFields), twoFields, 'fields in another order: the desired object held, nothing sent');
  t.equal(installedFlow(held, undecodable), undefined, 'one that does not decode is not held');

  // Any other use than the diff enters what was read, decoded.
  const other = readRaw(wanted);
  const settled = indexInstalled(other.state, b0, new MacFlows(), other.byMac);
  const f = macFlows[0]!;
  const got = installedFlow(settled, f)!;
  t.same({ ...got, cookie: String(got.cookie) }, { ...f, cookie: String(f.cookie) }, 'a flow read raw, settled, equals the one sent');
  t.equal(countInstalled(settled), wanted.length, 'as many as were read');
});

t.test('entries added many at once are those added one by one', async (t) => {
  const rng = new Prng(5);
  const bridges = Array.from({ length: 40 }, (_, i) => `b${i}`);
  const macs = Array.from({ length: 30 }, (_, i) => `02:00:00:00:00:${i.toString(16).padStart(2, '0')}`);
  for (const indexed of [false, true]) {
    const one = new BridgeMacs();
    const many = new BridgeMacs();
    one.indexBridges(indexed);
    many.indexBridges(indexed);
    // Some there before; then batches with repeats, upper case, and MACs past a small list's size.
    for (let i = 0; i < 50; i++) {
      const b = bridges[rng.below(bridges.length)]!;
      const m = macs[rng.below(macs.length)]!;
      one.add(b, m);
      many.add(b, m);
    }
    for (let round = 0; round < 3; round++) {
      const batch: [string, string][] = [];
      for (let i = 0; i < 400; i++) {
        const m = macs[rng.below(macs.length)]!;
        batch.push([bridges[rng.below(bridges.length)]!, i % 7 === 0 ? m.toUpperCase() : m]);
      }
      for (const [b, m] of batch) one.add(b, m);
      // The key asked for once per MAC new to the set, in lower case.
      const before = new Set(macs.filter((m) => many.countOf(m) > 0));
      const asked: string[] = [];
      many.addMany(batch.map(([b]) => b), batch.map(([, m]) => m), (m) => (asked.push(m), m));
      t.same(asked.sort(), [...new Set(batch.map(([, m]) => m.toLowerCase()))].filter((m) => !before.has(m)).sort(), 'keyOf asked for each MAC new to the set, once');
    }
    const dump = (s: BridgeMacs) => macs.map((m) => [m, [...(s.bridgesOf(m) ?? [])].sort(), s.countOf(m)]);
    t.same(dump(many), dump(one), `the same bridges per MAC${indexed ? ' (indexed)' : ''}`);
    t.equal(many.size, one.size, 'the same count');
    if (indexed) t.same(bridges.map((b) => [...(many.macsAt(b) ?? [])].sort()), bridges.map((b) => [...(one.macsAt(b) ?? [])].sort()), 'the same index by bridge');
    t.ok(macs.some((m) => one.countOf(m) > 16), 'some MAC past a small list');
    t.throws(() => many.addMany(['b1'], []), /1 bridges but 0 MACs/, 'lists of different lengths refused');
  }
});
