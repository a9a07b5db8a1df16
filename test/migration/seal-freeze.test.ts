// The explicit freeze with the old port up (the orchestrator cuts the old host off only once it
// answers): the old edge reports what it delivers, the hold flow goes in at the new edge, the old
// edge is sealed, in that order, each barrier-confirmed; held frames the old edge reported are not
// replayed. Fake switches (the walk of every intermediate state is seal-walk.test.ts).
import t from 'tap';
import { getMigration, makeWorld, numberedFrame, postJson, untilValue, type World } from '../controller/world.js';
import { fakePort } from '../../src/openflow-sim/fake-switch.js';
import { RuleKind, cookieKind, ruleCookie } from '../../controller/core/cookies.js';
import { EDGE_TABLE, LABEL_TABLE } from '../../controller/core/forwarding.js';
import type { Message } from '../../src/openflow/types/index.js';

interface View {
  id: string; state: string; timeline: { event: string; detail?: string }[];
  freeze: null | { by: string; held: number; replayed: number; dropped: number; takenAtOld?: number; reportedAtOld?: number };
}

const holdCookie = (mac: string) => ruleCookie(RuleKind.MIGRATION_HOLD, `hold:${mac}`);
type FlowMod = Extract<Message, { type: 'FLOW_MOD' }>;
const toController = (f: FlowMod) => JSON.stringify(f.instructions).includes('4294967293');

async function setup(t: { teardown: (fn: () => unknown) => void }) {
  const mods: { node: string; msg: FlowMod }[] = [];
  const w = await makeWorld('two-region.json', {
    session: { packetInRate: 0 },
    onModify: (node, msg) => {
      if (msg.type === 'FLOW_MOD' && cookieKind(msg.cookie) === RuleKind.MIGRATION_HOLD) mods.push({ node, msg });
    },
  });
  t.teardown(() => w.close());
  const home = w.app.controller.locations.get('web')!;
  return { w, mods, home, target: 'h3' };
}

/**
 * Once `held` frames are held at the new edge (h3), the new port appears there: the migration
 * once its replay is done, and the numbers of the frames replayed to that port, in order.
 */
async function portAppears(w: World, id: string, held: number, port: ReturnType<typeof fakePort>): Promise<{ done: View; replayed: number[] }> {
  await untilValue('held', () => getMigration<View>(w, id), (v) => v.freeze!.held === held);
  const sw = w.switches.get('h3')!;
  sw.addPort(port);
  const done = await untilValue('replayed', () => getMigration<View>(w, id), (v) => v.timeline.some((e) => e.event === 'replayed'));
  const outs = sw.received.filter((x): x is Extract<Message, { type: 'PACKET_OUT' }> => x.type === 'PACKET_OUT' && JSON.stringify(x.actions).includes(`"port":${port.portNo}`));
  return { done, replayed: outs.map((o) => o.data.readUInt32BE(14)) };
}

t.test('freeze with the old port up: report, hold, seal, in that order; what the old edge reported is not replayed', async (t) => {
  const { w, mods, home, target } = await setup(t);
  const m = await (await postJson(w, '/api/v1/migrations', { container: 'web', to: { switch: target, port: 'c-seal' } })).json() as View;
  t.equal(mods.length, 0, 'no hold or seal flow before the freeze');
  const fr = await postJson(w, `/api/v1/migrations/${m.id}/freeze`);
  t.equal(fr.status, 200);
  const frozen = (await fr.json()) as View;
  const events = frozen.timeline.map((e) => e.event);
  t.ok(events.indexOf('frozen') < events.indexOf('reporting') && events.indexOf('reporting') < events.indexOf('holding'), `timeline: ${events.join(', ')}`);
  t.match(frozen.timeline.find((e) => e.event === 'reporting')!.detail, /no report within \d+ ms/, 'no traffic: the hold went in after the bounded wait for a report');

  const adds = (node: string) => mods.filter((x) => x.node === node && x.msg.command === 'ADD');
  const reportAt = mods.findIndex((x) => x.node === home.node && toController(x.msg));
  const holdAt = mods.findIndex((x) => x.node === target);
  const sealAt = mods.findIndex((x, i) => i > reportAt && x.node === home.node && !toController(x.msg));
  t.ok(reportAt >= 0 && holdAt > reportAt && sealAt > holdAt, `report (${reportAt}) → hold (${holdAt}) → seal (${sealAt})`);
  t.same(adds(home.node).filter((x) => toController(x.msg)).map((x) => x.msg.tableId).sort(), [EDGE_TABLE, LABEL_TABLE], 'the old edge reports: one flow for local senders, one for labelled frames');
  // Sealed: the old edge's flows for it now send nothing to the old port nor to the controller.
  const old = w.tables.get(home.node)!.flows.filter((f) => cookieKind(f.cookie) === RuleKind.MIGRATION_HOLD);
  t.equal(old.length, 2);
  for (const f of old) {
    const text = JSON.stringify(f.instructions);
    t.notOk(text.includes('4294967293'), `table ${f.tableId}: no copy to the controller once sealed`);
    t.notOk(text.includes(`"port":${home.ofport}`), `table ${f.tableId}: nothing to the old port once sealed`);
  }

  // Frames 0-9 held at the new edge; the old edge had reported delivering 0-4 (its twins).
  const mac = home.mac;
  const oldSw = w.switches.get(home.node)!;
  const newSw = w.switches.get(target)!;
  for (let i = 0; i < 5; i++) oldSw.packetIn(home.ofport, numberedFrame(mac, i), holdCookie(mac), LABEL_TABLE);
  for (let i = 0; i < 10; i++) newSw.packetIn(100, numberedFrame(mac, i), holdCookie(mac), LABEL_TABLE);
  // A 58-byte frame reported padded to the Ethernet minimum (60) is the same frame.
  const short = numberedFrame(mac, 100).subarray(0, 58);
  oldSw.packetIn(home.ofport, Buffer.concat([short, Buffer.alloc(2)]), holdCookie(mac), LABEL_TABLE);
  newSw.packetIn(100, short, holdCookie(mac), LABEL_TABLE);
  const { done, replayed } = await portAppears(w, m.id, 11, fakePort(909, 'c-seal'));
  t.same(replayed, [5, 6, 7, 8, 9], 'only the frames the old host did not take, in order');
  t.match(done.freeze, { held: 11, replayed: 5, dropped: 0, takenAtOld: 6, reportedAtOld: 6 });
  const c = await postJson(w, `/api/v1/migrations/${m.id}/commit`);
  t.equal(c.status, 200);
  t.equal(((await c.json()) as View).state, 'committed');
  t.equal(w.tables.get(home.node)!.flows.filter((f) => cookieKind(f.cookie) === RuleKind.MIGRATION_HOLD).length, 0, 'the seal goes with the flip');
});

t.test('the hold goes in once the old edge\'s reports are seen (its datapath uses the report flow)', async (t) => {
  const { w, mods, home, target } = await setup(t);
  const m = await (await postJson(w, '/api/v1/migrations', { container: 'web', to: { switch: target, port: 'c-seal3' } })).json() as View;
  const answer = postJson(w, `/api/v1/migrations/${m.id}/freeze`);
  await untilValue('report flows', () => mods.filter((x) => x.node === home.node && toController(x.msg)).length, (n) => n === 2);
  t.notOk(mods.some((x) => x.node === target), 'no hold flow before a report or the wait');
  w.switches.get(home.node)!.packetIn(home.ofport, numberedFrame(home.mac, 1), holdCookie(home.mac), LABEL_TABLE);
  const frozen = (await (await answer).json()) as View;
  t.match(frozen.timeline.find((e) => e.event === 'reporting')!.detail, /first report \d+ ms after the barrier/);
  t.ok(mods.some((x) => x.node === target), 'then the hold flow');
  t.match(frozen.freeze, { reportedAtOld: 1 });
});

t.test('implicit freeze (the old port went down): no report stage, the old edge is sealed with the hold', async (t) => {
  const { w, mods, home, target } = await setup(t);
  const m = await (await postJson(w, '/api/v1/migrations', { container: 'web', to: { switch: target, port: 'c-seal2' } })).json() as View;
  w.switches.get(home.node)!.removePort(home.ofport);
  const v = await untilValue('implicit freeze', () => getMigration<View>(w, m.id), (x) => x.timeline.some((e) => e.event === 'holding'));
  t.equal(v.freeze!.by, 'old-port-gone');
  t.notOk(v.timeline.some((e) => e.event === 'reporting'), 'no report stage');
  t.notOk(mods.some((x) => x.node === home.node && toController(x.msg)), 'the old edge never reports');
  t.ok(mods.some((x) => x.node === home.node), 'the old edge is sealed');
  const ab = await postJson(w, `/api/v1/migrations/${m.id}/abort`);
  t.equal(((await ab.json()) as View).state, 'aborted');
  t.equal(w.tables.get(home.node)!.flows.filter((f) => cookieKind(f.cookie) === RuleKind.MIGRATION_HOLD).length, 0, 'abort removes the seal');
});

t.test('a report that comes after the old port went away is no delivery: its held twin is replayed', async (t) => {
  const { w, home, target } = await setup(t);
  const m = await (await postJson(w, '/api/v1/migrations', { container: 'web', to: { switch: target, port: 'c-cut' } })).json() as View;
  t.equal((await postJson(w, `/api/v1/migrations/${m.id}/freeze`)).status, 200);
  const mac = home.mac;
  const oldSw = w.switches.get(home.node)!;
  const newSw = w.switches.get(target)!;
  // 0-4 reported while the old port is up (the old host took them); then the orchestrator cuts
  // the old port, and a datapath flow not yet revalidated still reports 5 and 6.
  for (let i = 0; i < 5; i++) oldSw.packetIn(home.ofport, numberedFrame(mac, i), holdCookie(mac), LABEL_TABLE);
  await untilValue('reports', () => getMigration<View>(w, m.id), (v) => v.freeze!.reportedAtOld === 5);
  oldSw.removePort(home.ofport);
  await untilValue('old port gone', () => w.app.controller.sessions.get(home.node)?.ports.has(home.ofport), (has) => has === false);
  for (let i = 5; i < 7; i++) oldSw.packetIn(home.ofport, numberedFrame(mac, i), holdCookie(mac), LABEL_TABLE);
  for (let i = 0; i < 10; i++) newSw.packetIn(100, numberedFrame(mac, i), holdCookie(mac), LABEL_TABLE);
  const { done, replayed } = await portAppears(w, m.id, 10, fakePort(910, 'c-cut'));
  t.same(replayed, [5, 6, 7, 8, 9], 'the frames reported after the cut are replayed with the rest, in order');
  t.match(done.freeze, { held: 10, replayed: 5, dropped: 0, takenAtOld: 5, reportedAtOld: 5 });
  // When the switch said so is in the timeline (once), between the freeze and the replay.
  const events = done.timeline.map((e) => e.event);
  t.equal(events.filter((e) => e === 'old port gone').length, 1, 'the old port\'s removal is in the timeline once');
  t.ok(events.indexOf('frozen') < events.indexOf('old port gone') && events.indexOf('old port gone') < events.indexOf('replayed'), `timeline: ${events.join(', ')}`);
});
