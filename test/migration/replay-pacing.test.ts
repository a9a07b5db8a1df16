// The replay of a freeze's held frames goes out in bursts (replayBurst), each burst's barrier
// reply before the next: a receiver gets the backlog at the pace the switch delivers it. The new
// edge's barrier replies are withheld here, so a controller that did not wait would have sent
// everything before the first reply.
import t from 'tap';
import { getMigration, makeWorld, numberedFrame, postJson, untilValue, type World } from '../controller/world.js';
import { fakePort, type FakeSwitch } from '../../src/openflow-sim/fake-switch.js';
import { RuleKind, cookieKind, ruleCookie } from '../../controller/core/cookies.js';
import type { Message } from '../../src/openflow/types/index.js';
import { encodeMessage } from '../../src/openflow/encode/index.js';
import type { HoldLimits } from '../../controller/migration/hold.js';

interface View {
  id: string; state: string; timeline: { event: string }[];
  freeze: null | { held: number; replayed: number; dropped: number; behindRelease?: number; passed?: number };
}

const holdCookie = (mac: string) => ruleCookie(RuleKind.MIGRATION_HOLD, `hold:${mac}`);
const isReplay = (m: Message, ofport: number) => m.type === 'PACKET_OUT' && m.actions.length === 1 && m.actions[0]!.type === 'OUTPUT' && (m.actions[0] as { port: number }).port === ofport;
const seqs = (msgs: Message[], ofport: number) => msgs.filter((m) => isReplay(m, ofport)).map((m) => (m as Extract<Message, { type: 'PACKET_OUT' }>).data.readUInt32BE(14));

/**
 * Barrier replies of `sw` for the barriers that close a burst of PACKET_OUTs to `ofport` are kept
 * back (answered by `release`); every other barrier is answered at once.
 */
function gateReplayBarriers(sw: FakeSwitch, ofport: number) {
  // The fake switch answers barriers itself unless told not to (as in session.test.ts).
  (sw as unknown as { options: { answerBarrier: boolean } }).options.answerBarrier = false;
  const held: number[] = [];
  let previous: Message | undefined;
  const onMessage = (m: Message) => {
    if (m.type === 'BARRIER_REQUEST') {
      if (previous && isReplay(previous, ofport)) held.push(m.xid);
      else sw.write({ type: 'BARRIER_REPLY', xid: m.xid });
    }
    previous = m;
  };
  sw.on('message', onMessage);
  return {
    held,
    release(): void {
      const xid = held.shift();
      if (xid !== undefined) sw.write({ type: 'BARRIER_REPLY', xid });
    },
    stop(): void {
      sw.off('message', onMessage);
      (sw as unknown as { options: { answerBarrier: boolean } }).options.answerBarrier = true;
      while (held.length > 0) this.release();
    },
  };
}

async function frozenWorld(t: { teardown: (fn: () => unknown) => void }, replayBurst: number, port: string, limits: Partial<HoldLimits> = {}) {
  // packetInRate 0: the session's PACKET_IN rate limit (tested on its own) stays out of the count.
  // The barrier pace alone unless a test gives a replay window (the fake switch counts PACKET_OUTs
  // as tx and nothing as rx: a window would close on its own).
  const w = await makeWorld('two-region.json', { holdLimits: { replayBurst, replayWindow: 0, ...limits }, session: { packetInRate: 0 } });
  t.teardown(() => w.close());
  const home = w.app.controller.locations.get('web')!;
  const target = 'h3';
  const m = await (await postJson(w, '/api/v1/migrations', { container: 'web', to: { switch: target, port } })).json() as View;
  if ((await postJson(w, `/api/v1/migrations/${m.id}/freeze`)).status !== 200) throw new Error('freeze refused');
  return { w, m, mac: home.mac, sw: w.switches.get(target)! };
}

/**
 * A frozen world with two bursts of frames held (sequence numbers 0 to 2 × burst - 1), the replay's
 * barrier replies gated, the new port `name` (`ofport`) added and the first burst out.
 */
async function firstBurstOut(t: { teardown: (fn: () => unknown) => void }, burst: number, name: string, ofport: number) {
  const world = await frozenWorld(t, burst, name);
  const { w, m, mac, sw } = world;
  const seq = 2 * burst;
  for (let i = 0; i < seq; i++) sw.packetIn(100, numberedFrame(mac, i), holdCookie(mac), 1);
  await untilValue('frames held', () => getMigration<View>(w, m.id), (v) => v.freeze!.held === seq);
  const gate = gateReplayBarriers(sw, ofport);
  t.teardown(() => gate.stop());
  sw.addPort(fakePort(ofport, name));
  await untilValue('first burst', () => gate.held.length, (n) => n === 1);
  return { ...world, gate, seq };
}

t.test('replay in bursts: the next burst only after the previous burst\'s barrier reply; frames arriving meanwhile go behind', async (t) => {
  const burst = 8;
  const { w, m, mac, sw } = await frozenWorld(t, burst, 'c-paced');
  const held = 3 * burst + 5;
  for (let i = 0; i < held; i++) sw.packetIn(100, numberedFrame(mac, i), holdCookie(mac), 1);
  await untilValue('frames held', () => getMigration<View>(w, m.id), (v) => v.freeze!.held === held);

  const gate = gateReplayBarriers(sw, 905);
  t.teardown(() => gate.stop());
  sw.addPort(fakePort(905, 'c-paced'));
  await untilValue('first burst', () => gate.held.length, (n) => n === 1);
  // Arrive during the replay: they must come out after every held frame.
  const late = 3;
  for (let i = held; i < held + late; i++) sw.packetIn(100, numberedFrame(mac, i), holdCookie(mac), 1);
  await untilValue('late frames queued', () => getMigration<View>(w, m.id), (v) => v.freeze!.held === held + late);
  t.same(seqs(sw.received, 905), [...Array(burst).keys()], 'only the first burst went out before its barrier reply');

  // Each released barrier lets exactly one more burst out.
  for (let b = 1; seqs(sw.received, 905).length < held + late; b++) {
    const before = seqs(sw.received, 905).length;
    gate.release();
    await untilValue(`burst ${b + 1}`, () => seqs(sw.received, 905).length, (n) => n > before);
    // A burst is written in one go: give the event loop a moment to show it does not go on alone.
    await new Promise((r) => setTimeout(r, 30));
    t.ok(seqs(sw.received, 905).length - before <= burst, `burst ${b + 1}: at most ${burst} frames after one barrier reply`);
  }
  gate.stop();
  t.same(seqs(sw.received, 905), [...Array(held + late).keys()], 'every frame once, in arrival order, the late ones last');
  const done = await untilValue('replayed', () => getMigration<View>(w, m.id), (v) => v.timeline.some((e) => e.event === 'replayed'));
  t.match(done.freeze, { held: held + late, replayed: held + late, dropped: 0 });
  const c = await postJson(w, `/api/v1/migrations/${m.id}/commit`);
  t.equal(c.status, 200);
  t.equal(((await c.json()) as View).state, 'committed');
});

t.test('only the freeze\'s backlog is paced by barriers: a stream that keeps coming does not keep the replay (and a commit) waiting', async (t) => {
  const burst = 4;
  const { w, m, mac, sw, gate, seq: held } = await firstBurstOut(t, burst, 'c-stream', 908);
  let seq = held;
  t.equal(seqs(sw.received, 908).length, burst);
  for (const end = seq + burst; seq < end; seq++) sw.packetIn(100, numberedFrame(mac, seq), holdCookie(mac), 1);
  await untilValue('queued', () => getMigration<View>(w, m.id), (v) => v.freeze!.held === seq);
  gate.release();
  // The rest of the backlog and what came during the first burst: the last paced burst.
  await untilValue('last burst', () => gate.held.length, (n) => n === 1);
  t.equal(seqs(sw.received, 908).length, 3 * burst);
  // The replay is over: what comes now goes out at once, without waiting for that barrier reply.
  for (const end = seq + burst; seq < end; seq++) sw.packetIn(100, numberedFrame(mac, seq), holdCookie(mac), 1);
  await untilValue('sent on as they come', () => seqs(sw.received, 908).length, (n) => n === seq);
  const c = postJson(w, `/api/v1/migrations/${m.id}/commit`);
  gate.stop();
  const done = (await (await c).json()) as View;
  t.equal(done.state, 'committed');
  t.same(seqs(sw.received, 908), [...Array(seq).keys()], 'every frame once, in arrival order');
});

t.test('the hold flow goes only once the switch has sent the replay and the frames sent on during its last burst', async (t) => {
  // A flow_mod written while the switch still works through PACKET_OUTs lets it deliver directly
  // before it has sent what it gave us meanwhile (those can only go out behind the flow_mod):
  // the release waits for the barrier replies first.
  const burst = 4;
  const { w, m, mac, sw, gate, seq: held } = await firstBurstOut(t, burst, 'c-drain', 909);
  let seq = held;
  const holdGone = () => sw.received.findIndex((x) => x.type === 'FLOW_MOD' && (x.command === 'DELETE' || x.command === 'DELETE_STRICT') && cookieKind(x.cookie) === RuleKind.MIGRATION_HOLD);
  gate.release();
  await untilValue('last burst', () => gate.held.length, (n) => n === 1);
  t.equal(seqs(sw.received, 909).length, 2 * burst, 'the whole backlog is written');
  // Sent on at once behind the replay, still before the hold flow goes.
  for (const end = seq + 3; seq < end; seq++) sw.packetIn(100, numberedFrame(mac, seq), holdCookie(mac), 1);
  await untilValue('sent on as they come', () => seqs(sw.received, 909).length, (n) => n === seq);
  await new Promise((r) => setTimeout(r, 50));
  t.equal(holdGone(), -1, 'no removal of the hold flow while the last burst\'s barrier reply is outstanding');
  gate.release();
  await untilValue('the forwarded frames\' barrier', () => gate.held.length, (n) => n >= 1);
  await new Promise((r) => setTimeout(r, 50));
  t.equal(holdGone(), -1, 'nor while that of the frames sent on during it is');
  gate.stop();
  await untilValue('hold flow removed', holdGone, (i) => i >= 0);
  const lastOut = sw.received.map((x) => isReplay(x, 909)).lastIndexOf(true);
  t.ok(holdGone() > lastOut, 'after every frame sent on');
  const done = await untilValue('replayed', () => getMigration<View>(w, m.id), (v) => v.timeline.some((e) => e.event === 'replayed'));
  t.match(done.freeze, { held: seq, replayed: seq, dropped: 0, behindRelease: 0 });
  t.same(seqs(sw.received, 909), [...Array(seq).keys()], 'every frame once, in arrival order');
});

t.test('a commit during a paced replay waits for the whole backlog before its flip', async (t) => {
  const { w, m, mac, sw } = await frozenWorld(t, 4, 'c-pcommit');
  for (let i = 0; i < 18; i++) sw.packetIn(100, numberedFrame(mac, i), holdCookie(mac), 1);
  await untilValue('frames held', () => getMigration<View>(w, m.id), (v) => v.freeze!.held === 18);
  sw.addPort(fakePort(906, 'c-pcommit'));
  const c = await postJson(w, `/api/v1/migrations/${m.id}/commit`);
  t.equal(c.status, 200);
  const done = (await c.json()) as View;
  t.equal(done.state, 'committed');
  t.same(seqs(sw.received, 906), [...Array(18).keys()], 'in order');
  const lastOut = sw.received.map((x) => isReplay(x, 906)).lastIndexOf(true);
  const holdGone = sw.received.findIndex((x) => x.type === 'FLOW_MOD' && (x.command === 'DELETE' || x.command === 'DELETE_STRICT') && cookieKind(x.cookie) === RuleKind.MIGRATION_HOLD);
  t.ok(holdGone > lastOut, 'the hold flow goes only after the last replayed frame');
});

/** A frame from `mac` (the container's own) as the new port hands it to the switch. */
function fromContainer(mac: string): Buffer {
  const f = Buffer.alloc(60);
  Buffer.from('ffffffffffff', 'hex').copy(f, 0);
  Buffer.from(mac.replace(/:/g, ''), 'hex').copy(f, 6);
  f.writeUInt16BE(0x88b5, 12);
  return f;
}

for (const by of ['api', 'first-frame'] as const) {
  t.test(`a commit (${by}) during a paced replay keeps the pace (the resumed container's socket still overflowed at once), then its flip alone takes the hold flow away`, async (t) => {
    const burst = 4;
    const ofport = by === 'api' ? 909 : 910;
    const { w, m, mac, sw } = await frozenWorld(t, burst, `c-end-${by === 'api' ? 'api' : 'ff'}`);
    const held = 5 * burst + 2;
    for (let i = 0; i < held; i++) sw.packetIn(100, numberedFrame(mac, i), holdCookie(mac), 1);
    await untilValue('frames held', () => getMigration<View>(w, m.id), (v) => v.freeze!.held === held);
    const gate = gateReplayBarriers(sw, ofport);
    t.teardown(() => gate.stop());
    sw.addPort(fakePort(ofport, `c-end-${by === 'api' ? 'api' : 'ff'}`));
    await untilValue('first burst', () => gate.held.length, (n) => n === 1);
    let commit: Promise<Response> | undefined;
    if (by === 'api') commit = postJson(w, `/api/v1/migrations/${m.id}/commit`);
    else sw.packetIn(ofport, fromContainer(mac));
    // Let the commit reach the manager (HTTP, or the packet-in) before the first burst's barrier reply.
    await new Promise((r) => setTimeout(r, 50));
    // Each released barrier lets one more burst out, commit or not.
    for (let b = 1; seqs(sw.received, ofport).length < held; b++) {
      const before = seqs(sw.received, ofport).length;
      t.ok(before <= b * burst, `burst ${b}: at most ${b * burst} frames before its barrier reply`);
      gate.release();
      await untilValue(`burst ${b + 1}`, () => seqs(sw.received, ofport).length, (n) => n > before);
    }
    gate.stop();
    const done = by === 'api'
      ? (await (await commit!).json()) as View
      : await untilValue('committed', () => getMigration<View>(w, m.id), (v) => v.state === 'committed');
    t.equal(done.state, 'committed');
    t.same(seqs(sw.received, ofport), [...Array(held).keys()], 'every frame once, in arrival order');
    const lastOut = sw.received.map((x) => isReplay(x, ofport)).lastIndexOf(true);
    const holdGone = sw.received.map((x, i) => (x.type === 'FLOW_MOD' && (x.command === 'DELETE' || x.command === 'DELETE_STRICT') && cookieKind(x.cookie) === RuleKind.MIGRATION_HOLD ? i : -1)).filter((i) => i >= 0);
    t.equal(holdGone.length, 1, 'the hold flow removed once: by the flip, no release of its own');
    t.ok(holdGone[0]! > lastOut, 'after the last frame of the backlog');
    const replayed = await untilValue('replayed', () => getMigration<View>(w, m.id), (v) => v.timeline.some((e) => e.event === 'replayed'));
    t.match(replayed.timeline.find((e) => e.event === 'replayed'), { detail: /goes with the flip/ });
    t.match(replayed.freeze, { held, replayed: held, dropped: 0, afterRelease: 0 });
  });
}

t.test('replayBurst 0: the whole backlog in one batch', async (t) => {
  const { w, m, mac, sw } = await frozenWorld(t, 0, 'c-burst');
  for (let i = 0; i < 40; i++) sw.packetIn(100, numberedFrame(mac, i), holdCookie(mac), 1);
  await untilValue('frames held', () => getMigration<View>(w, m.id), (v) => v.freeze!.held === 40);
  const gate = gateReplayBarriers(sw, 907);
  t.teardown(() => gate.stop());
  sw.addPort(fakePort(907, 'c-burst'));
  await untilValue('the batch', () => gate.held.length, (n) => n === 1);
  t.same(seqs(sw.received, 907), [...Array(40).keys()], 'all 40 before any barrier reply');
  // Settled (its release written and saved) before the world goes away.
  gate.stop();
  await untilValue('replayed', () => getMigration<View>(w, m.id), (v) => v.timeline.some((e) => e.event === 'replayed'));
});

/** Frames replayed to `ofport` so far, by the switch's own count. */
const txCount = (sw: FakeSwitch, ofport: number) => Number(sw.portCounters.get(ofport)?.txPackets ?? 0n);
const answered = (sw: FakeSwitch, ofport: number, n: number) => {
  const c = sw.portCounters.get(ofport) ?? { rxPackets: 0n, txPackets: 0n };
  sw.portCounters.set(ofport, { ...c, rxPackets: BigInt(n) });
};

t.test('replay window: no more frames at the new port than the window after the container last sent one; its frames open it again', async (t) => {
  const burst = 4;
  const window = 6;
  // No idle fallback in this test: only answers open the window.
  const { w, m, mac, sw } = await frozenWorld(t, burst, 'c-window', { replayWindow: window, replayIdleMs: 3_600_000 });
  const held = 20;
  for (let i = 0; i < held; i++) sw.packetIn(100, numberedFrame(mac, i), holdCookie(mac), 1);
  await untilValue('frames held', () => getMigration<View>(w, m.id), (v) => v.freeze!.held === held);
  sw.addPort(fakePort(911, 'c-window'));
  await untilValue('window full', () => txCount(sw, 911), (n) => n === window);
  // The replay now reads the counters until they change: let it read them several times.
  const polls = () => sw.received.filter((x) => x.type === 'MULTIPART_REQUEST' && x.body.kind === 'PORT_STATS').length;
  const before = polls();
  await untilValue('counters read again', polls, (n) => n >= before + 5);
  t.equal(seqs(sw.received, 911).length, window, 'nothing more while the container sends nothing');

  answered(sw, 911, 3);
  await untilValue('window open again', () => txCount(sw, 911), (n) => n === 2 * window);
  const again = polls();
  await untilValue('counters read again', polls, (n) => n >= again + 5);
  t.equal(seqs(sw.received, 911).length, 2 * window, 'the container sent: one more window, no more');

  // Frames arriving during the replay are paced with the rest, behind them.
  for (let i = held; i < held + 2; i++) sw.packetIn(100, numberedFrame(mac, i), holdCookie(mac), 1);
  await untilValue('late frames queued', () => getMigration<View>(w, m.id), (v) => v.freeze!.held === held + 2);
  // A container that answers every frame it gets (counts ahead of the deliveries earn no credit).
  const echo = setInterval(() => answered(sw, 911, txCount(sw, 911)), 1);
  t.teardown(() => clearInterval(echo));
  const done = await untilValue('replayed', () => getMigration<View>(w, m.id), (v) => v.timeline.some((e) => e.event === 'replayed'));
  clearInterval(echo);
  t.same(seqs(sw.received, 911), [...Array(held + 2).keys()], 'every frame once, in arrival order');
  t.match(done.freeze, { held: held + 2, replayed: held + 2, dropped: 0 });
});

t.test('replay window: a container that never answers still gets its backlog, one burst per idle time', async (t) => {
  const { w, m, mac, sw } = await frozenWorld(t, 4, 'c-sink', { replayWindow: 4, replayIdleMs: 5 });
  for (let i = 0; i < 30; i++) sw.packetIn(100, numberedFrame(mac, i), holdCookie(mac), 1);
  await untilValue('frames held', () => getMigration<View>(w, m.id), (v) => v.freeze!.held === 30);
  sw.addPort(fakePort(912, 'c-sink'));
  const done = await untilValue('replayed', () => getMigration<View>(w, m.id), (v) => v.timeline.some((e) => e.event === 'replayed'));
  t.same(seqs(sw.received, 912), [...Array(30).keys()], 'every frame once, in arrival order');
  t.match(done.freeze, { held: 30, replayed: 30, dropped: 0 });
});

t.test('replay window: an abort while the window is closed ends the replay and drops the rest', async (t) => {
  const { w, m, mac, sw } = await frozenWorld(t, 4, 'c-wabort', { replayWindow: 4, replayIdleMs: 3_600_000 });
  for (let i = 0; i < 12; i++) sw.packetIn(100, numberedFrame(mac, i), holdCookie(mac), 1);
  await untilValue('frames held', () => getMigration<View>(w, m.id), (v) => v.freeze!.held === 12);
  sw.addPort(fakePort(913, 'c-wabort'));
  await untilValue('window full', () => txCount(sw, 913), (n) => n === 4);
  const a = await postJson(w, `/api/v1/migrations/${m.id}/abort`);
  t.equal(a.status, 200);
  const v = await untilValue('aborted', () => getMigration<View>(w, m.id), (x) => x.state === 'aborted');
  t.match(v.freeze, { held: 12, replayed: 4, dropped: 8 });
  answered(sw, 913, 4);
  // The replay loop must not send anything after the abort, answers or not.
  const polls = () => sw.received.filter((x) => x.type === 'MULTIPART_REQUEST' && x.body.kind === 'PORT_STATS').length;
  const p = polls();
  await new Promise((r) => setTimeout(r, 20));
  t.ok(polls() <= p + 1, 'the replay stopped reading the counters');
  t.equal(seqs(sw.received, 913).length, 4);
});

t.test('replay window: a stream that never lets the queue shrink ends the pacing after twice the freeze\'s backlog; every frame once, in order', async (t) => {
  const { w, m, mac, sw } = await frozenWorld(t, 2, 'c-wstream', { replayWindow: 4, replayIdleMs: 3_600_000 });
  let seq = 0;
  for (; seq < 8; seq++) sw.packetIn(100, numberedFrame(mac, seq), holdCookie(mac), 1);
  await untilValue('frames held', () => getMigration<View>(w, m.id), (v) => v.freeze!.held === seq);
  // The container answers everything it gets; frames keep coming faster than the window lets out.
  const echo = setInterval(() => answered(sw, 914, txCount(sw, 914)), 1);
  const stream = setInterval(() => {
    for (let i = 0; i < 6; i++, seq++) sw.packetIn(100, numberedFrame(mac, seq), holdCookie(mac), 1);
  }, 1);
  t.teardown(() => {
    clearInterval(echo);
    clearInterval(stream);
  });
  sw.addPort(fakePort(914, 'c-wstream'));
  await untilValue('replayed', () => getMigration<View>(w, m.id), (v) => v.timeline.some((e) => e.event === 'replayed'));
  clearInterval(stream);
  const sent = seq;
  const done = await untilValue('every frame out', () => getMigration<View>(w, m.id), (v) => v.freeze!.replayed === sent);
  clearInterval(echo);
  t.same(seqs(sw.received, 914), [...Array(sent).keys()], 'every frame once, in arrival order');
  t.match(done.freeze, { held: sent, dropped: 0 });
});

t.test('a frame the hold flow sent before the flip removes it is written before that removal, even when it arrives as the release ends', async (t) => {
  // The release's wait for the switch (drain) is bounded in round trips: a stream that keeps
  // coming ends it with frames just received. Each such frame must be written at once: one
  // written a turn of the event loop later went out behind the flip's removal of the hold flow,
  // and the switch delivered a later frame directly before it (reordered; seen on real OVS).
  const { w, m, mac, sw, gate, seq: held } = await firstBurstOut(t, 4, 'c-race', 910);
  let seq = held;
  gate.release();
  await untilValue('last burst', () => gate.held.length, (n) => n === 1);
  // Sent on behind the replay (their barriers held back too), then the commit, which waits.
  for (const end = seq + 2; seq < end; seq++) sw.packetIn(100, numberedFrame(mac, seq), holdCookie(mac), 1);
  await untilValue('sent on', () => seqs(sw.received, 910).length, (n) => n === seq);
  const commit = postJson(w, `/api/v1/migrations/${m.id}/commit`);
  await new Promise((r) => setTimeout(r, 50));
  // Every reply but the last: the drain's last round trip waits for that one.
  while (gate.held.length > 1) gate.release();
  await new Promise((r) => setTimeout(r, 50));
  // The last round trip's reply and a new frame in one read: the release ends right there.
  const replyXid = gate.held.shift()!;
  const lastSeq = seq++;
  sw.writeRaw(Buffer.concat([
    encodeMessage({ type: 'BARRIER_REPLY', xid: replyXid }),
    encodeMessage({ type: 'PACKET_IN', xid: 0, bufferId: 0xffffffff, totalLen: 64, reason: 'ACTION', tableId: 1, cookie: holdCookie(mac), match: { fields: [{ field: 'in_port', value: 100 }] }, data: numberedFrame(mac, lastSeq) }),
  ]));
  const c = await commit;
  gate.stop();
  t.equal(c.status, 200);
  t.equal(((await c.json()) as View).state, 'committed');
  await untilValue('every frame out', () => seqs(sw.received, 910).length, (n) => n === seq);
  const holdGone = sw.received.findIndex((x) => x.type === 'FLOW_MOD' && (x.command === 'DELETE' || x.command === 'DELETE_STRICT') && cookieKind(x.cookie) === RuleKind.MIGRATION_HOLD);
  const outAt = sw.received.findIndex((x) => isReplay(x, 910) && (x as Extract<Message, { type: 'PACKET_OUT' }>).data.readUInt32BE(14) === lastSeq);
  t.ok(holdGone >= 0, 'the flip removed the hold flow');
  t.ok(outAt >= 0 && outAt < holdGone, `the frame received as the release ended is written before the hold flow's removal (at ${outAt}, removal at ${holdGone})`);
  t.same(seqs(sw.received, 910), [...Array(seq).keys()], 'every frame once, in arrival order');
});

t.test('during the replay a frame of a conversation with nothing held is sent on at once; one of a held conversation waits behind its own', async (t) => {
  const burst = 4;
  const { w, m, mac, sw, gate, seq: held } = await firstBurstOut(t, burst, 'c-pass', 915);
  // Another conversation to the container (another EtherType: another key), e.g. a new connection.
  const other = (seq: number) => {
    const f = numberedFrame(mac, seq);
    f.writeUInt16BE(0x88b6, 12);
    return f;
  };
  sw.packetIn(100, other(1000), holdCookie(mac), 1);
  sw.packetIn(100, other(1001), holdCookie(mac), 1);
  sw.packetIn(100, numberedFrame(mac, held), holdCookie(mac), 1);
  await untilValue('the new conversation sent on', () => seqs(sw.received, 915), (s) => s.includes(1001));
  await untilValue('all three counted', () => getMigration<View>(w, m.id), (v) => v.freeze!.held === held + 3);
  t.same(seqs(sw.received, 915), [...Array(burst).keys(), 1000, 1001], 'before the first burst\'s barrier reply, in their own order; the held conversation\'s new frame not yet');
  gate.stop();
  const done = await untilValue('replayed', () => getMigration<View>(w, m.id), (v) => v.timeline.some((e) => e.event === 'replayed'));
  await untilValue('every frame out', () => seqs(sw.received, 915).length, (n) => n === held + 3);
  t.same(seqs(sw.received, 915).filter((s) => s < 1000), [...Array(held + 1).keys()], 'the held conversation: every frame once, in arrival order');
  t.match(done.freeze, { held: held + 3, dropped: 0, passed: 2 });
});
