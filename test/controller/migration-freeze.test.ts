import t from 'tap';
import { getMigration, makeWorld, numberedFrame, postJson, untilValue, walkBetween, type World } from './world.js';
import { fakePort } from '../../src/openflow-sim/fake-switch.js';
import { RuleKind, cookieKind, ruleCookie } from '../../controller/core/cookies.js';
import type { Message } from '../../src/openflow/types/index.js';
import type { HoldLimits } from '../../controller/migration/hold.js';

interface View {
  id: string; state: string; to: { ofport: number | null }; timeline: { event: string }[];
  freeze: null | { by: string; held: number; heldBytes: number; replayed: number; dropped: number; refractoryMs: number | null; firstAtNew: string | null };
}

async function setup(t: { teardown: (fn: () => unknown) => void }, holdLimits?: Partial<HoldLimits>) {
  // The flood below measures the hold caps: the per-switch PACKET_IN rate limit (its own tests
  // in fuzz-live and session) would drop part of the burst before the hold sees it.
  const w = await makeWorld('two-region.json', { ...(holdLimits ? { holdLimits } : {}), session: { packetInRate: 0 } });
  t.teardown(() => w.close());
  const mover = 'web';
  const home = w.app.controller.locations.get(mover)!;
  return { w, mover, home, target: 'h3', peers: ['db', 'client'] };
}

const holdFlows = (w: World, node: string) => w.tables.get(node)!.flows.filter((f) => cookieKind(f.cookie) === RuleKind.MIGRATION_HOLD);

const HOLD_COOKIE = (mac: string) => ruleCookie(RuleKind.MIGRATION_HOLD, `hold:${mac}`);
const replays = (msgs: Message[], ofport: number) => msgs.filter((m): m is Extract<Message, { type: 'PACKET_OUT' }> => m.type === 'PACKET_OUT'
  && m.actions.length === 1 && m.actions[0]!.type === 'OUTPUT' && (m.actions[0] as { port: number }).port === ofport);

t.test('freeze holds the frames at the new edge; the port appears: replayed in arrival order, then the hold flow goes; commit', async (t) => {
  const { w, mover, home, target, peers } = await setup(t);
  const events: string[] = [];
  w.app.controller.on('event', (e: { type: string }) => events.push(e.type));
  const m = await (await postJson(w, '/api/v1/migrations', { container: mover, to: { switch: target, port: 'c-held' } })).json() as View;
  t.equal(holdFlows(w, target).length, 0, 'no hold flow before the freeze');

  const fr = await postJson(w, `/api/v1/migrations/${m.id}/freeze`);
  t.equal(fr.status, 200);
  const frozen = await fr.json() as View;
  t.match(frozen.freeze, { by: 'api', held: 0, replayed: 0, dropped: 0, firstAtNew: null });
  t.equal(holdFlows(w, target).length, 1, 'the hold flow is at the new edge once freeze answers');
  // The old edge is sealed: its two flows for the container deliver nothing (test/migration/seal-freeze.test.ts).
  for (const node of Object.keys(w.topology.nodes)) if (node !== target) t.equal(holdFlows(w, node).length, node === home.node ? 2 : 0, `${node}: ${node === home.node ? 'sealed' : 'no hold flow'}`);
  for (const p of peers) {
    const r = walkBetween(w, p, mover);
    t.same(r.toController.filter((d) => d.frame.eth_dst === home.mac).map((d) => d.switch), [target], `${p}: its frame for ${mover} is held at ${target}`);
  }
  t.equal((await postJson(w, `/api/v1/migrations/${m.id}/freeze`)).status, 200, 'a second freeze returns the first');

  // The held frames as the hold flow sends them (forwarding table, whole frame).
  const sw = w.switches.get(target)!;
  const mac = home.mac;
  const first = 40;
  for (let i = 0; i < first; i++) sw.packetIn(100, numberedFrame(mac, i), HOLD_COOKIE(mac), 1);
  await untilValue('frames held', () => getMigration<View>(w, m.id), (v) => v.freeze!.held === first);
  t.equal(replays(sw.received, 901).length, 0, 'nothing replayed before the port exists');

  // The port appears; frames keep arriving meanwhile and must come out behind the first ones.
  sw.addPort(fakePort(901, 'c-held'));
  const more = 25;
  for (let i = first; i < first + more; i++) sw.packetIn(100, numberedFrame(mac, i), HOLD_COOKIE(mac), 1);
  const done = await untilValue('replayed', () => getMigration<View>(w, m.id), (v) => v.freeze!.replayed === first + more && v.timeline.some((e) => e.event === 'replayed'));
  const outs = replays(sw.received, 901);
  t.same(outs.map((o) => o.data.readUInt32BE(14)), [...Array(first + more).keys()], 'replayed once each, in arrival order');
  t.ok(outs.every((o) => o.bufferId === 0xffffffff && o.data.length === 64), 'whole frames, no switch buffer');
  const iLastOut = sw.received.lastIndexOf(outs[first - 1]!);
  const iHoldDelete = sw.received.findIndex((x) => x.type === 'FLOW_MOD' && (x.command === 'DELETE' || x.command === 'DELETE_STRICT') && cookieKind(x.cookie) === RuleKind.MIGRATION_HOLD);
  t.ok(iHoldDelete > iLastOut, 'the hold flow is removed only after the held frames went out');
  t.ok(sw.received.slice(iLastOut, iHoldDelete).some((x) => x.type === 'BARRIER_REQUEST'), 'with a barrier between');
  t.equal(holdFlows(w, target).length, 0, 'no hold flow after the replay');
  t.match(done.freeze, { held: first + more, heldBytes: 64 * (first + more), dropped: 0 });
  t.type(done.freeze!.refractoryMs, 'number');
  for (const p of peers) t.same(walkBetween(w, p, mover).delivered.map((d) => `${d.switch}:${d.port}`), [`${target}:901`], `${p}: to the new port now (the old edge is sealed)`);

  // A frame the hold flow sends after its removal was confirmed (a datapath cache not yet
  // revalidated): sent on at once, behind the replay, and counted.
  sw.packetIn(100, numberedFrame(mac, 999), HOLD_COOKIE(mac), 1);
  const late = await untilValue('late frame', () => getMigration<View>(w, m.id), (v) => v.freeze!.replayed === first + more + 1);
  t.equal((late.freeze as { afterRelease?: number }).afterRelease, 1, 'counted as after the release');
  t.equal(replays(sw.received, 901).at(-1)!.data.readUInt32BE(14), 999, 'after everything held');

  const c = await postJson(w, `/api/v1/migrations/${m.id}/commit`);
  t.equal(c.status, 200);
  const committed = await c.json() as View;
  t.equal(committed.state, 'committed');
  const timeline = committed.timeline.map((e) => e.event);
  for (const e of ['frozen', 'holding', 'replay started', 'first frame at the new port', 'replayed', 'committed']) t.ok(timeline.includes(e), `timeline has "${e}"`);
  t.ok(timeline.indexOf('replayed') < timeline.indexOf('committed'));
  for (const e of ['migration-frozen', 'migration-replayed', 'migration-committed']) t.ok(events.includes(e), `event ${e}`);
  const metrics = await (await fetch(`${w.apiUrl}/metrics`)).text();
  t.match(metrics, /vino_migration_held_frames_sum 65\b/);
  t.match(metrics, /vino_migration_refractory_seconds_count 1\b/);
  t.match(metrics, /vino_migration_replayed_frames_total 66\b/);
  t.match(metrics, /vino_migration_held_bytes 0\b/);
});

t.test('a commit during the hold waits for the replay; the old port going away freezes by itself', async (t) => {
  const { w, mover, home, target } = await setup(t);
  const m = await (await postJson(w, '/api/v1/migrations', { container: mover, to: { switch: target, port: 'c-imp' } })).json() as View;
  w.switches.get(home.node)!.removePort(home.ofport);
  const v = await untilValue('implicit freeze', () => getMigration<View>(w, m.id), (x) => x.freeze !== null && x.timeline.some((e) => e.event === 'holding'));
  t.equal(v.freeze!.by, 'old-port-gone');
  await w.app.controller.requestSync('test');
  t.equal(holdFlows(w, target).length, 1, 'hold flow installed');
  const sw = w.switches.get(target)!;
  for (let i = 0; i < 10; i++) sw.packetIn(100, numberedFrame(home.mac, i), HOLD_COOKIE(home.mac), 1);
  await untilValue('held', () => getMigration<View>(w, m.id), (x) => x.freeze!.held === 10);
  sw.addPort(fakePort(902, 'c-imp'));
  const c = await postJson(w, `/api/v1/migrations/${m.id}/commit`);
  t.equal(c.status, 200);
  const done = await c.json() as View;
  t.equal(done.state, 'committed');
  t.equal(done.freeze!.replayed, 10, 'commit answered after every held frame was replayed');
  t.same(replays(sw.received, 902).map((o) => o.data.readUInt32BE(14)), [...Array(10).keys()]);
});

t.test('with a frame cap of 0 a freeze holds nothing: no hold or seal flow, no sync ahead of the first frame\'s commit', async (t) => {
  const { w, mover, home, target, peers } = await setup(t, { maxFrames: 0 });
  const m = await (await postJson(w, '/api/v1/migrations', { container: mover, to: { switch: target, port: 'c-none' } })).json() as View;
  const flowModsBefore = [...w.switches.values()].reduce((n, sw) => n + sw.received.filter((x) => x.type === 'FLOW_MOD').length, 0);
  w.switches.get(home.node)!.removePort(home.ofport);
  const v = await untilValue('implicit freeze', () => getMigration<View>(w, m.id), (x) => x.freeze !== null && x.timeline.some((e) => e.event === 'not holding'));
  t.equal(v.freeze!.by, 'old-port-gone');
  t.notOk(v.timeline.some((e) => e.event === 'holding'), 'never holding');
  await w.app.controller.requestSync('test');
  for (const node of Object.keys(w.topology.nodes)) t.equal(holdFlows(w, node).length, 0, `${node}: no hold or seal flow`);
  // The port change's own sync may send flow_mods (the old port's flows go); none carries a hold cookie.
  const holdMods = [...w.switches.values()].flatMap((sw) => sw.received).filter((x) => x.type === 'FLOW_MOD' && cookieKind((x as { cookie: bigint }).cookie) === RuleKind.MIGRATION_HOLD);
  t.equal(holdMods.length, 0, `no hold flow_mod sent (${[...w.switches.values()].reduce((n, sw) => n + sw.received.filter((x) => x.type === 'FLOW_MOD').length, 0) - flowModsBefore} flow_mods since the prepare)`);
  const sw = w.switches.get(target)!;
  sw.addPort(fakePort(903, 'c-none'));
  await untilValue('port seen', () => getMigration<View>(w, m.id), (x) => x.to.ofport === 903);
  // From the container (its MAC the source) at its new port: the table-miss packet-in that commits.
  const frame = Buffer.alloc(60);
  Buffer.from('ffffffffffff', 'hex').copy(frame, 0);
  Buffer.from(home.mac.replace(/:/g, ''), 'hex').copy(frame, 6);
  frame.writeUInt16BE(0x88b5, 12);
  sw.packetIn(903, frame);
  const done = await untilValue('committed by the first frame', () => getMigration<View & { committedBy: string }>(w, m.id), (x) => x.state === 'committed');
  t.equal(done.committedBy, 'first-frame');
  t.match(done.freeze, { held: 0, replayed: 0, dropped: 0 });
  const events = done.timeline.map((e) => e.event);
  t.ok(events.indexOf('commit started') < events.indexOf('flip confirmed') && events.indexOf('flip confirmed') < events.indexOf('committed'), `timeline: ${events.join(', ')}`);
  for (const p of peers) {
    const r = walkBetween(w, p, mover);
    t.same(r.delivered.filter((d) => d.frame.eth_dst === home.mac).map((d) => `${d.switch}:${d.port}`), [`${target}:903`], `${p}: delivered at the new port only`);
  }
});

t.test('frames the hold flow sends after the replay go out at once behind it; a commit right after the port appears takes the hold flow away with its flip', async (t) => {
  const { w, mover, home, target } = await setup(t);
  const m = await (await postJson(w, '/api/v1/migrations', { container: mover, to: { switch: target, port: 'c-fast' } })).json() as View;
  t.equal((await postJson(w, `/api/v1/migrations/${m.id}/freeze`)).status, 200);
  const sw = w.switches.get(target)!;
  const mac = home.mac;
  for (let i = 0; i < 5; i++) sw.packetIn(100, numberedFrame(mac, i), HOLD_COOKIE(mac), 1);
  await untilValue('held', () => getMigration<View>(w, m.id), (v) => v.freeze!.held === 5);
  sw.addPort(fakePort(904, 'c-fast'));
  await untilValue('replay started', () => getMigration<View>(w, m.id), (v) => v.timeline.some((e) => e.event === 'replay started'));
  // Still through the controller (the hold flow is there until a release or a flip): sent on
  // as they come, behind the replay, whether or not the release has happened yet.
  for (let i = 5; i < 12; i++) sw.packetIn(100, numberedFrame(mac, i), HOLD_COOKIE(mac), 1);
  await untilValue('sent on', () => replays(sw.received, 904).length, (n) => n === 12);
  t.same(replays(sw.received, 904).map((o) => o.data.readUInt32BE(14)), [...Array(12).keys()], 'once each, in arrival order');
  const c = await postJson(w, `/api/v1/migrations/${m.id}/commit`);
  t.equal(c.status, 200);
  const done = await c.json() as View;
  t.equal(done.state, 'committed');
  t.equal(done.freeze!.replayed, 12);
  t.equal(done.freeze!.dropped, 0);
  t.equal(holdFlows(w, target).length, 0, 'no hold flow after the commit');
  const events = done.timeline.map((e) => e.event);
  t.ok(events.indexOf('replay started') < events.indexOf('committed'), 'the replay began before the flip');
});

t.test('abort discards what is held; freeze of an unknown or finished migration: 404/409', async (t) => {
  const { w, mover, home, target, peers } = await setup(t);
  t.equal((await postJson(w, '/api/v1/migrations/nope/freeze')).status, 404);
  const m = await (await postJson(w, '/api/v1/migrations', { container: mover, to: { switch: target, port: 'c-ab' } })).json() as View;
  await postJson(w, `/api/v1/migrations/${m.id}/freeze`);
  const sw = w.switches.get(target)!;
  for (let i = 0; i < 7; i++) sw.packetIn(100, numberedFrame(home.mac, i), HOLD_COOKIE(home.mac), 1);
  await untilValue('held', () => getMigration<View>(w, m.id), (x) => x.freeze!.held === 7);
  const ab = await (await postJson(w, `/api/v1/migrations/${m.id}/abort`)).json() as View;
  t.equal(ab.state, 'aborted');
  t.match(ab.freeze, { held: 7, replayed: 0, dropped: 7 });
  t.equal(holdFlows(w, target).length, 0, 'hold flow gone');
  for (const p of peers) t.same(walkBetween(w, p, mover).delivered.map((d) => `${d.switch}:${d.port}`), [`${home.node}:${home.ofport}`]);
  t.equal((await postJson(w, `/api/v1/migrations/${m.id}/freeze`)).status, 200, 'freeze of a frozen (even finished) migration returns it');
  const m2 = await (await postJson(w, '/api/v1/migrations', { container: mover, to: { switch: target, port: 'c-ab2' } })).json() as View;
  await postJson(w, `/api/v1/migrations/${m2.id}/abort`);
  t.equal((await postJson(w, `/api/v1/migrations/${m2.id}/freeze`)).status, 409, 'freeze after abort: 409');
});

t.test('a flood towards a frozen container stays within the caps, is dropped in order, and other switches are served', async (t) => {
  const caps = { maxFrames: 100, maxBytes: 100 * 200, maxTotalFrames: 1000, maxTotalBytes: 1 << 20 };
  const { w, mover, home, target } = await setup(t, caps);
  const m = await (await postJson(w, '/api/v1/migrations', { container: mover, to: { switch: target, port: 'c-fl' } })).json() as View;
  await postJson(w, `/api/v1/migrations/${m.id}/freeze`);
  const sw = w.switches.get(target)!;
  const other = w.switches.get('h4')!;
  const otherBefore = other.received.length;
  const flood = 20_000;
  const budget = (w.app.migrations as unknown as { holdBudget: { frames: number; bytes: number } }).holdBudget;
  let peak = 0;
  const watch = setInterval(() => { peak = Math.max(peak, budget.bytes); }, 1);
  for (let i = 0; i < flood; i++) sw.packetIn(100, numberedFrame(home.mac, i, 150), HOLD_COOKIE(home.mac), 1);
  // Meanwhile a new MAC appears at another switch: the controller learns it and installs its flows.
  const newcomer = Buffer.alloc(60);
  Buffer.from('ffffffffffff', 'hex').copy(newcomer, 0);
  Buffer.from('02000000aa01', 'hex').copy(newcomer, 6);
  newcomer.writeUInt16BE(0x88b5, 12);
  // At an unplanned port: a container (a host's own internal port is never learned).
  other.packetIn(951, newcomer);
  await other.waitFor((x) => x.type === 'FLOW_MOD' && JSON.stringify(x.match, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)).includes('02:00:00:00:aa:01'));
  const v = await untilValue('flood counted', () => getMigration<View>(w, m.id), (x) => x.freeze!.held + x.freeze!.dropped === flood);
  clearInterval(watch);
  t.equal(v.freeze!.held, 100, 'held up to the per-migration frame cap');
  t.equal(v.freeze!.dropped, flood - 100, 'the rest dropped and counted');
  t.ok(budget.frames <= caps.maxFrames && peak <= caps.maxBytes, `held bytes never above the cap (peak ${peak})`);
  t.notOk(other.received.slice(otherBefore).some((x) => x.type === 'PACKET_OUT'), 'nothing of the flood reaches another switch');
  sw.addPort(fakePort(903, 'c-fl'));
  await untilValue('replayed', () => getMigration<View>(w, m.id), (x) => x.timeline.some((e) => e.event === 'replayed'));
  t.same(replays(sw.received, 903).map((o) => o.data.readUInt32BE(14)), [...Array(100).keys()], 'what is replayed is the first 100, in order');
  const metrics = await (await fetch(`${w.apiUrl}/metrics`)).text();
  t.match(metrics, new RegExp(`vino_migration_hold_dropped_frames_total ${flood - 100}\\b`));
});
