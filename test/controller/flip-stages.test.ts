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
import t from 'tap';
import { fakePort, type FakeSwitch } from '../../src/openflow-sim/fake-switch.js';
import type { Message } from '../../src/openflow/types/index.js';
import { ruleCookie, RuleKind } from '../../controller/core/cookies.js';
import { emptyDiff } from '../../controller/core/diff.js';
import type { TransitionStage } from '../../controller/core/transition.js';
import { makeWorld, walkBetween } from './world.js';

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
