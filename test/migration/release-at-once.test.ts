// Once a freeze's backlog is replayed the network delivers at the new port without the
// controller, before and whether or not a commit comes: the hold flow is released right after
// the replay (the copies still bicast, the old edge stays sealed), and the container's own frames
// at the new port are forwarded by the switch, with a copy to the controller for the first-frame
// commit.
import t from 'tap';
import { getMigration, makeWorld, numberedFrame, postJson, untilValue, walkBetween } from '../controller/world.js';
import { fakePort } from '../../src/openflow-sim/fake-switch.js';
import { RuleKind, cookieKind, ruleCookie } from '../../controller/core/cookies.js';

interface View {
  id: string; state: string; timeline: { event: string; detail?: string }[];
  freeze: null | { held: number; replayed: number; dropped: number; afterRelease?: number };
}

t.test('no commit: the hold flow goes right after the replay; peers reach the new port through the switches alone', async (t) => {
  const w = await makeWorld('two-region.json', { session: { packetInRate: 0 } });
  t.teardown(() => w.close());
  const mover = 'web';
  const home = w.app.controller.locations.get(mover)!;
  const target = 'h3';
  const m = await (await postJson(w, '/api/v1/migrations', { container: mover, to: { switch: target, port: 'c-rel' } })).json() as View;
  t.equal((await postJson(w, `/api/v1/migrations/${m.id}/freeze`)).status, 200);
  const sw = w.switches.get(target)!;
  const holdCookie = ruleCookie(RuleKind.MIGRATION_HOLD, `hold:${home.mac}`);
  for (let i = 0; i < 12; i++) sw.packetIn(100, numberedFrame(home.mac, i), holdCookie, 1);
  await untilValue('held', () => getMigration<View>(w, m.id), (v) => v.freeze!.held === 12);
  sw.addPort(fakePort(911, 'c-rel'));
  const done = await untilValue('replayed', () => getMigration<View>(w, m.id), (v) => v.timeline.some((e) => e.event === 'replayed'));
  t.equal(done.state, 'prepared', 'still prepared: no commit was asked for, none was needed');
  t.match(done.timeline.find((e) => e.event === 'replayed'), { detail: /hold flow released/ });
  t.match(done.freeze, { held: 12, replayed: 12, dropped: 0 });
  t.equal(w.tables.get(target)!.flows.filter((f) => cookieKind(f.cookie) === RuleKind.MIGRATION_HOLD).length, 0, 'no hold flow at the new edge');
  t.equal(w.tables.get(home.node)!.flows.filter((f) => cookieKind(f.cookie) === RuleKind.MIGRATION_HOLD).length, 2, 'the old edge stays sealed');
  for (const p of ['db', 'client']) {
    const r = walkBetween(w, p, mover);
    t.same(r.delivered.map((d) => `${d.switch}:${d.port}`), [`${target}:911`], `${p}: delivered once, at the new port`);
    t.same(r.toController.filter((d) => d.frame.eth_dst === home.mac), [], `${p}: not through the controller`);
  }
  // The container's own frames at its new port: forwarded by the switch (a copy to the
  // controller, which commits on the first).
  const db = w.app.controller.locations.get('db')!;
  const back = w.net.walk(target, 911, { eth_src: home.mac, eth_dst: db.mac, eth_type: 0x0800, ipv4_src: home.ip ?? '0.0.0.0', ipv4_dst: db.ip ?? '0.0.0.0' });
  t.same(back.delivered.map((d) => `${d.switch}:${d.port}`), [`${db.node}:${db.ofport}`], 'its frame to db is forwarded by the switches');
  t.same(back.toController.map((d) => d.switch), [target], 'with one copy to the controller (the first-frame commit)');
});
