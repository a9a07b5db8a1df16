/**
 * How stages go out (Controller.applyStages): a stage waits for every other switch's barrier
 * replies to the stages before it, but a stage for one switch alone goes at once behind that
 * switch's own unconfirmed barrier (the switch applies what follows a barrier only after what
 * precedes it). And what a prepared flip's stages are: the new edge, then every other changed
 * switch whose path to it crosses no other changed switch, the old edge's relabel and its
 * known-source removal with its ingress change; all in one stage when the new edge's copy flow
 * already delivers what the others' change sends it (the new port exists). Barrier replies are held back here, so what
 * was sent before which reply is exact, not a matter of timing.
 */
import t, { type Test } from 'tap';
import { fakePort, type FakeSwitch } from '../../src/openflow-sim/fake-switch.js';
import type { Message } from '../../src/openflow/types/index.js';
import { ruleCookie, RuleKind } from '../../controller/core/cookies.js';
import { emptyDiff } from '../../controller/core/diff.js';
import type { TransitionStage } from '../../controller/core/transition.js';
import { Port } from '../../src/openflow/constants.js';
import { ipv4Frame, makeWorld, walkBetween } from './world.js';

/** Keeps the switch's BARRIER_REPLYs until released (everything else is answered as usual). */
function holdBarrierReplies(sw: FakeSwitch): { release: () => void; held: () => number } {
  const write = sw.write.bind(sw);
  const held: Message[] = [];
  let holding = true;
  sw.write = (msg: Message) => {
    if (holding && msg.type === 'BARRIER_REPLY') held.push(msg);
    else write(msg);
  };
  return {
    release: () => {
      holding = false;
      for (const m of held.splice(0)) write(m);
    },
    held: () => held.length,
  };
}

/** The messages a switch received since index `from`, cut into batches at each BARRIER_REQUEST. */
function batchesSince(sw: FakeSwitch, from: number): Message[][] {
  const batches: Message[][] = [[]];
  for (const m of sw.received.slice(from)) {
    if (m.type === 'BARRIER_REQUEST') batches.push([]);
    else batches[batches.length - 1]!.push(m);
  }
  return batches.slice(0, -1);
}

const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setTimeout(r, 5));
};

t.test('prepared flip: the new edge, the old edge and the peers\' edges in one stage (the copy flow delivers already); the old edge drops stale copies before it relabels', async (t) => {
  const w = await makeWorld('two-region.json');
  t.teardown(() => w.close());
  const mover = Object.keys(w.topology.containers)[0]!;
  const peers = Object.keys(w.topology.containers).filter((n) => n !== mover);
  const home = w.app.controller.locations.get(mover)!;
  const target = Object.values(w.topology.nodes).find((n) => n.kind === 'host' && n.region !== w.topology.nodes[home.node]!.region)!.name;
  w.switches.get(target)!.addPort(fakePort(921, 'c-staged'));
  for (let i = 0; i < 200 && !w.app.controller.sessions.get(target)!.ports.has(921); i++) await turns(1);
  const m = await w.app.migrations.prepare(mover, { node: target, port: 'c-staged' });
  await w.waitSettled();
  // Every peer sends to the mover: their edges' ingress entries are part of the flip.
  for (const p of peers) walkBetween(w, p, mover);
  await w.waitSettled();

  const stagesApplied: { stage: string; switches: string[] }[] = [];
  const onEvent = (e: { type: string; stage?: string; switches?: string[]; reason?: string }) => {
    if (e.type === 'flows-stage-applied' && e.reason?.startsWith('commit migration')) stagesApplied.push({ stage: e.stage!, switches: e.switches! });
  };
  w.app.controller.on('event', onEvent);
  t.teardown(() => w.app.controller.off('event', onEvent));
  const holds = new Map([...w.switches].map(([name, sw]) => [name, holdBarrierReplies(sw)]));
  t.teardown(() => {
    for (const h of holds.values()) h.release();
  });
  const start = new Map([...w.switches].map(([name, sw]) => [name, sw.received.length]));
  const batches = (node: string) => batchesSince(w.switches.get(node)!, start.get(node)!);
  const others = [...w.switches.keys()].filter((n) => n !== target);
  const prepared = w.app.controller.syncCounts.prepared;
  const committed = w.app.migrations.commit(m.id);

  for (let i = 0; i < 400 && (batches(target).length < 1 || batches(home.node).length < 1); i++) await turns(1);
  await turns(4);
  // No barrier reply has come back yet: everything sent so far went out at once.
  t.equal(batches(target).length, 1, 'the new edge gets its part');
  const upstream = others.filter((n) => batches(n).length > 0);
  t.ok(upstream.length > 1 && upstream.includes(home.node), `the old edge and the peers' edges get theirs without waiting for the new edge's reply (${upstream.join(' ')})`);
  t.ok(upstream.every((n) => batches(n).length === 1), 'one batch each');
  const old = batches(home.node)[0]!.filter((msg) => msg.type === 'FLOW_MOD');
  const kinds = old.map((msg) => `${msg.command} ${msg.priority}${msg.cookie === ruleCookie(RuleKind.RELABEL, home.mac) ? ' relabel' : msg.cookie === ruleCookie(RuleKind.KNOWN_SOURCE, home.mac) ? ' known-source' : ''}`);
  const relabels = kinds.filter((k) => k.endsWith('relabel'));
  t.ok(relabels.length === 3 && relabels.every((k, i) => i === 0 || Number(k.split(' ')[1]) < Number(relabels[i - 1]!.split(' ')[1])), `the old edge's relabel entries, the most specific (the stale-copy drop) first (${kinds.join(', ')})`);
  t.ok(kinds.some((k) => k.startsWith('DELETE_STRICT') && k.endsWith('known-source')), 'its known source at the old port removed in the same batch');

  for (const h of holds.values()) h.release();
  const done = await committed;
  t.equal(done.state, 'committed');
  t.equal(w.app.controller.syncCounts.prepared, prepared + 1, 'the flip was sent as prepared');
  t.same(stagesApplied.map((s) => s.switches), [[target, ...upstream].sort()], `one stage (${stagesApplied.map((x) => `${x.stage}: ${x.switches.join(' ')}`).join(', ')})`);
  for (const p of peers) {
    t.same(walkBetween(w, p, mover).delivered.map((d) => `${d.switch}:${d.port}`), [`${target}:921`], `${p}: delivered at the new port only`);
  }
});

t.test('a stage for one switch alone goes behind that switch\'s own barrier; a stage for others waits for its reply', async (t) => {
  const w = await makeWorld('two-region.json');
  t.teardown(() => w.close());
  await w.waitSettled();
  const [a, b] = [...w.switches.keys()].sort();
  // Harmless flows of ours (never matched: no port 4000 on these switches), one per stage.
  const part = (n: number) => {
    const d = emptyDiff();
    d.flowsToAdd.push({ tableId: 0, priority: 1, cookie: ruleCookie(RuleKind.KNOWN_SOURCE, `test-${n}`), match: { fields: [{ field: 'in_port', value: 4000 + n }] }, instructions: [] });
    return d;
  };
  const stage = (label: string, nodes: string[], n: number): TransitionStage => ({ label, changes: new Map(nodes.map((node) => [node, part(n)])) });
  const stages = [stage('a1', [a!], 1), stage('a2', [a!], 2), stage('b3', [b!], 3), stage('ab4', [a!, b!], 4), stage('b5', [b!], 5)];
  const holds = new Map([a!, b!].map((name) => [name, holdBarrierReplies(w.switches.get(name)!)]));
  t.teardown(() => {
    for (const h of holds.values()) h.release();
  });
  const start = new Map([a!, b!].map((name) => [name, w.switches.get(name)!.received.length]));
  const batches = (node: string) => batchesSince(w.switches.get(node)!, start.get(node)!).length;
  const announced: string[] = [];
  const onEvent = (e: { type: string; stage?: string; reason?: string }) => {
    if (e.type === 'flows-stage-applied' && e.reason === 'test: staging') announced.push(e.stage!);
  };
  w.app.controller.on('event', onEvent);
  t.teardown(() => w.app.controller.off('event', onEvent));
  const applying = (w.app.controller as unknown as { applyStages(stages: TransitionStage[], reason: string): Promise<void> }).applyStages(stages, 'test: staging');

  for (let i = 0; i < 400 && batches(a!) < 2; i++) await turns(1);
  await turns(4);
  t.equal(batches(a!), 2, `${a}: its two stages at once, the second behind the first's barrier`);
  t.equal(batches(b!), 0, `${b}: nothing while ${a} has not answered`);
  t.same(announced, [], 'no stage announced before its replies');

  holds.get(a!)!.release();
  for (let i = 0; i < 400 && batches(b!) < 1; i++) await turns(1);
  await turns(4);
  t.equal(batches(b!), 1, `${b}: its stage once ${a} answered both`);
  t.equal(batches(a!), 2, `${a}: the stage for both waits for ${b}'s reply`);
  t.same(announced, ['a1', 'a2'], 'the stages answered are announced, in order');

  holds.get(b!)!.release();
  await applying;
  t.equal(batches(a!), 3);
  t.equal(batches(b!), 3, `${b}: its last stage followed the stage for both`);
  t.same(announced, ['a1', 'a2', 'b3', 'ab4', 'b5'], 'every stage announced, in order');
});

/**
 * A prepared flip and the changes sent before it (Controller.requestPreparedMove): here a peer's
 * ingress entry at the new edge, sent without ordering and unconfirmed when the commit comes.
 * The flip need not wait for that reply (the switch applies what came first first); the commit
 * still resolves only once every reply is back, its own and the earlier change's.
 */
async function flipBehindUnconfirmed(t: Test, port: number) {
  const w = await makeWorld('two-region.json');
  t.teardown(() => w.close());
  const mover = 'web';
  const home = w.app.controller.locations.get(mover)!;
  const target = Object.values(w.topology.nodes).find((n) => n.kind === 'host' && n.region !== w.topology.nodes[home.node]!.region)!.name;
  // A container nobody at the new edge has sent to yet, on a third host.
  const third = Object.values(w.topology.nodes).find((n) => n.kind === 'host' && n.name !== target && n.name !== home.node)!.name;
  w.switches.get(third)!.addPort(fakePort(port + 1, 'c-peer'));
  w.switches.get(target)!.addPort(fakePort(port, 'c-behind'));
  for (let i = 0; i < 200 && !(w.app.controller.sessions.get(target)!.ports.has(port) && w.app.controller.sessions.get(third)!.ports.has(port + 1)); i++) await turns(1);
  // (Not w.waitSettled: it walks frames between every pair of containers, asking for entries.)
  await w.app.controller.placeContainer({ name: 'peer', mac: '02:00:00:00:0b:0b', ip: '192.168.200.150', node: third, ofport: port + 1, port: 'c-peer' });
  const peer = w.app.controller.locations.get('peer')!;
  const m = await w.app.migrations.prepare(mover, { node: target, port: 'c-behind' });
  await w.app.controller.requestSync('test: settle');
  t.notOk(w.app.controller.demand.has(target, peer.mac), `${target} has no entry for ${peer.name} yet`);

  const holds = new Map([...w.switches].map(([name, sw]) => [name, holdBarrierReplies(sw)]));
  t.teardown(() => {
    for (const h of holds.values()) h.release();
  });
  const start = new Map([...w.switches].map(([name, sw]) => [name, sw.received.length]));
  const batches = (node: string) => batchesSince(w.switches.get(node)!, start.get(node)!);
  const flowMods = (batch: Message[]) => batch.filter((msg): msg is Extract<Message, { type: 'FLOW_MOD' }> => msg.type === 'FLOW_MOD');
  // A frame from the new edge to the peer: the switch asks for an ingress entry.
  w.switches.get(target)!.packetIn(Port.LOCAL, ipv4Frame(peer.mac, '02:00:00:00:0a:0a'), ruleCookie(RuleKind.TO_CONTROLLER, 'controller'), 1);
  for (let i = 0; i < 400 && batches(target).length < 1; i++) await turns(1);
  t.ok(flowMods(batches(target)[0] ?? []).some((f) => f.cookie === ruleCookie(RuleKind.INGRESS_ENTRY, peer.mac)), `${target}: the peer's ingress entry sent, its reply held back`);

  const prepared = w.app.controller.syncCounts.prepared;
  let settled = false;
  const committed = w.app.migrations.commit(m.id);
  void committed.then(() => (settled = true), () => (settled = true));
  for (let i = 0; i < 400 && (batches(target).length < 2 || batches(home.node).length < 1); i++) await turns(1);
  await turns(4);
  t.equal(batches(target).length, 2, `${target}: the flip's part sent behind the ingress entry's unconfirmed barrier`);
  t.ok(flowMods(batches(target)[1]!).some((f) => f.cookie === ruleCookie(RuleKind.DELIVER, home.mac)), 'it delivers the mover at its new port');
  t.equal(batches(home.node).length, 1, `${home.node}: its part sent at the same time`);
  t.equal(w.app.controller.syncCounts.prepared, prepared + 1, 'sent as prepared: the entry meanwhile is another MAC\'s and left the plan valid');
  return { w, m, target, home, holds, committed, settled: () => settled };
}

t.test('a prepared flip goes out before the previous change\'s barrier reply; the commit resolves only once every reply is back', async (t) => {
  const { w, target, holds, committed, settled } = await flipBehindUnconfirmed(t, 931);
  for (const [name, h] of holds) if (name !== target) h.release();
  await turns(6);
  t.notOk(settled(), `not committed while ${target}'s replies are held back`);
  holds.get(target)!.release();
  const done = await committed;
  t.equal(done.state, 'committed');
  for (const p of ['db', 'client']) {
    t.same(walkBetween(w, p, 'web').delivered.map((d) => `${d.switch}:${d.port}`), [`${target}:931`], `${p}: delivered at the new port only`);
  }
  t.same(walkBetween(w, 'web', 'client').delivered.map((d) => d.switch), [w.app.controller.locations.get('client')!.node], 'the mover reaches the peer');
  // A full recomputation against every switch's read-back tables wants nothing more.
  let changes = 0;
  const count = (e: { type: string; flowMods?: unknown }) => {
    if (e.type === 'flows-applied') changes += Number(e.flowMods);
  };
  w.app.controller.on('event', count);
  t.teardown(() => w.app.controller.off('event', count));
  await Promise.all(Object.keys(w.topology.nodes).map((n) => w.app.controller.requestSync(`test: reconcile ${n}`, { reconcile: n })));
  t.equal(changes, 0, 'a reconcile of every switch changes nothing');
});

t.test('a switch that disconnects before confirming the flip fails the commit, saying so', async (t) => {
  const { w, target, holds, committed } = await flipBehindUnconfirmed(t, 932);
  for (const [name, h] of holds) if (name !== target) h.release();
  w.switches.get(target)!.close();
  const done = await committed;
  t.equal(done.state, 'failed');
  t.match(done.error, new RegExp(`${target} disconnected before confirming it`), `the error names the switch and what happened (${done.error})`);
  t.notOk(w.app.controller.sessions.has(target), 'the switch is gone');
});
