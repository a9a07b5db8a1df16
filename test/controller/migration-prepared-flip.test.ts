/**
 * Flips computed at prepare time (MigrationManager.precomputeFlips): the commit sends the plan
 * only while nothing it was based on has changed, and what it leaves on the switches is exactly
 * what a full recomputation from read-back tables wants (a reconcile of every switch finds
 * nothing to change).
 */
import t from 'tap';
import { makeWorld, walkBetween, type World } from './world.js';
import { fakePort } from '../../src/openflow-sim/fake-switch.js';
import { cookieKind, RuleKind } from '../../controller/core/cookies.js';

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

const delivered = (w: World, from: string, to: string) => walkBetween(w, from, to).delivered.map((d) => `${d.switch}:${d.port}`).sort();

async function addPort(w: World, node: string, ofport: number, name: string): Promise<void> {
  w.switches.get(node)!.addPort(fakePort(ofport, name));
  for (let i = 0; i < 200 && !w.app.controller.sessions.get(node)!.ports.has(ofport); i++) await new Promise((r) => setTimeout(r, 10));
  await w.app.controller.requestSync('test: port settled');
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

t.test('port present at prepare: the commit sends the plan, and it equals a full recomputation', async (t) => {
  const { w, mover, target, peers } = await setup(t);
  await addPort(w, target, 911, 'c-planned');
  const m = await w.app.migrations.prepare(mover, { node: target, port: 'c-planned' });
  const before = w.app.controller.syncCounts.prepared;
  const done = await w.app.migrations.commit(m.id);
  t.equal(done.state, 'committed');
  t.equal(w.app.controller.syncCounts.prepared, before + 1, 'the flip was sent as prepared');
  for (const p of peers) t.same(delivered(w, p, mover), [`${target}:911`], `${p}: delivered at the new port only`);
  t.equal(await changesAfterReconcile(w), 0, 'a full recomputation from the read-back tables changes nothing');
});

t.test('port appearing after prepare: the plan is made when the port is seen', async (t) => {
  const { w, mover, target, peers } = await setup(t);
  const m = await w.app.migrations.prepare(mover, { node: target, port: 'c-late' });
  await addPort(w, target, 912, 'c-late');
  // The plan is computed after the sync the port change queued.
  for (let i = 0; i < 100 && w.app.migrations.get(m.id)!.to.ofport !== 912; i++) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setImmediate(r));
  await w.app.controller.requestSync('test: settle');
  const before = w.app.controller.syncCounts.prepared;
  const done = await w.app.migrations.commit(m.id);
  t.equal(done.state, 'committed');
  t.equal(w.app.controller.syncCounts.prepared, before + 1, 'the flip was sent as prepared');
  for (const p of peers) t.same(delivered(w, p, mover), [`${target}:912`], `${p}: delivered at the new port only`);
  t.equal(await changesAfterReconcile(w), 0, 'a full recomputation from the read-back tables changes nothing');
});

t.test('a change between prepare and commit makes the plan stale: the commit computes afresh', async (t) => {
  const { w, mover, target, peers } = await setup(t);
  await addPort(w, target, 913, 'c-stale');
  const m = await w.app.migrations.prepare(mover, { node: target, port: 'c-stale' });
  // Another container moves meanwhile: the plan did not know it.
  const other = peers[0]!;
  const was = w.app.controller.locations.get(other)!;
  await addPort(w, was.node, 914, 'c-other');
  await w.app.controller.placeContainer({ name: other, mac: was.mac, ...(was.ip ? { ip: was.ip } : {}), node: was.node, ofport: 914, port: 'c-other' });
  const before = w.app.controller.syncCounts.prepared;
  const done = await w.app.migrations.commit(m.id);
  t.equal(done.state, 'committed');
  t.equal(w.app.controller.syncCounts.prepared, before, 'the stale plan was not sent');
  for (const p of peers) t.same(delivered(w, p, mover), [`${target}:913`], `${p}: delivered at the new port only`);
  t.same(delivered(w, mover, other), [`${was.node}:914`], 'the other container is reached at its new port');
  t.equal(await changesAfterReconcile(w), 0, 'a full recomputation from the read-back tables changes nothing');
});

t.test('old port gone (implicit freeze), new port added link-down, then up: the plan is made again after each port change and the commit sends it', async (t) => {
  const { w, mover, home, target, peers } = await setup(t);
  const m = await w.app.migrations.prepare(mover, { node: target, port: 'c-again' });
  const view = () => w.app.migrations.get(m.id)!;
  const until = async (what: string, ok: () => boolean) => {
    for (let i = 0; i < 300 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
    t.ok(ok(), what);
  };
  w.switches.get(home.node)!.removePort(home.ofport);
  await until('frozen, holding at the new edge', () => view().timeline.some((e) => e.event === 'holding'));
  const sw = w.switches.get(target)!;
  sw.addPort({ ...fakePort(916, 'c-again'), state: 1 /* link down */ });
  await until('port seen', () => view().to.ofport === 916);
  await w.app.controller.requestSync('test: settle');
  // The link comes up: an input of the plan made when the port was seen changed.
  sw.write({ type: 'PORT_STATUS', xid: 0, reason: 'MODIFY', desc: fakePort(916, 'c-again') });
  await until('port up', () => w.app.controller.sessions.get(target)!.ports.get(916)?.state === 4);
  await w.app.controller.requestSync('test: settle');
  await new Promise((r) => setImmediate(r));
  const before = w.app.controller.syncCounts.prepared;
  const done = await w.app.migrations.commit(m.id);
  t.equal(done.state, 'committed');
  t.equal(w.app.controller.syncCounts.prepared, before + 1, 'the flip was sent as prepared');
  const holdFlows = (node: string) => w.tables.get(node)!.flows.filter((f) => cookieKind(f.cookie) === RuleKind.MIGRATION_HOLD).length;
  t.equal(holdFlows(target) + holdFlows(home.node), 0, 'no hold or seal flow left');
  for (const p of peers) t.same(delivered(w, p, mover), [`${target}:916`], `${p}: delivered at the new port only`);
  t.equal(await changesAfterReconcile(w), 0, 'a full recomputation from the read-back tables changes nothing');
});

t.test('a commit in the same turn as the port change that makes the plan stale waits for the plan made after it', async (t) => {
  const { w, mover, target, peers } = await setup(t);
  const sw = w.switches.get(target)!;
  sw.addPort({ ...fakePort(917, 'c-race'), state: 1 /* link down */ });
  for (let i = 0; i < 300 && !w.app.controller.sessions.get(target)!.ports.has(917); i++) await new Promise((r) => setTimeout(r, 10));
  await w.app.controller.requestSync('test: settle');
  const m = await w.app.migrations.prepare(mover, { node: target, port: 'c-race' });
  const before = w.app.controller.syncCounts.prepared;
  // Listeners run in order: the migration manager has seen the link come up when this one commits.
  const committed = new Promise<ReturnType<typeof w.app.migrations.commit>>((resolve) => {
    const onEvent = (e: { type: string; switch?: string }) => {
      if (e.type !== 'port-change' || e.switch !== target) return;
      w.app.controller.off('event', onEvent);
      resolve(w.app.migrations.commit(m.id));
    };
    w.app.controller.on('event', onEvent);
  });
  sw.write({ type: 'PORT_STATUS', xid: 0, reason: 'MODIFY', desc: fakePort(917, 'c-race') });
  const done = await (await committed);
  t.equal(done.state, 'committed');
  t.equal(w.app.controller.syncCounts.prepared, before + 1, 'the flip was sent as prepared');
  for (const p of peers) t.same(delivered(w, p, mover), [`${target}:917`], `${p}: delivered at the new port only`);
  t.equal(await changesAfterReconcile(w), 0, 'a full recomputation from the read-back tables changes nothing');
});
