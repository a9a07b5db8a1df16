import t from 'tap';
import { checkHoldLimits, HeldFrames, HoldBudget } from '../../controller/migration/hold.js';
import { transportFlowKey } from '../../controller/core/packet.js';
import { ipv4Packet } from './ipv4-packet.js';

const frame = (seq: number, size = 100) => {
  const f = Buffer.alloc(size);
  f.writeUInt32BE(seq, 0);
  return f;
};
const seqs = (frames: Buffer[]) => frames.map((f) => f.readUInt32BE(0));

t.test('per-migration caps: frames and bytes; what is held is a prefix of what arrived', async (t) => {
  const budget = new HoldBudget(checkHoldLimits({ maxFrames: 5, maxBytes: 350 }));
  const q = new HeldFrames(budget);
  for (let i = 0; i < 10; i++) q.push(frame(i));
  t.equal(q.length, 3, 'the byte cap (350) admits three frames of 100 bytes');
  t.equal(q.dropped, 7);
  t.equal(q.bytes, 300);
  q.push(frame(10, 40));
  t.same(seqs(q.take()), [0, 1, 2, 10], 'a frame that fits after drops is queued in arrival order');
  t.equal(budget.bytes, 0, 'take gives the room back');
  for (let i = 0; i < 10; i++) q.push(frame(20 + i, 10));
  t.same(seqs(q.take()), [20, 21, 22, 23, 24], 'the frame cap (5)');
});

t.test('total caps are shared by every migration', async (t) => {
  const budget = new HoldBudget(checkHoldLimits({ maxFrames: 100, maxBytes: 1e6, maxTotalFrames: 6, maxTotalBytes: 1e6 }));
  const a = new HeldFrames(budget);
  const b = new HeldFrames(budget);
  for (let i = 0; i < 4; i++) a.push(frame(i));
  for (let i = 0; i < 4; i++) b.push(frame(i));
  t.equal(a.length + b.length, 6);
  t.equal(b.dropped, 2);
  t.equal(a.discard(), 4, 'discard counts what it drops');
  t.equal(a.dropped, 4);
  t.ok(b.push(frame(9)), 'room freed by the other migration is usable');
  t.equal(budget.frames, 3);
});

t.test('take(max): the oldest frames first, room given back per frame taken, pushes after a partial take go behind', async (t) => {
  const budget = new HoldBudget(checkHoldLimits({ maxFrames: 6, maxBytes: 1e6 }));
  const q = new HeldFrames(budget);
  for (let i = 0; i < 6; i++) q.push(frame(i, 10 + i));
  t.same(seqs(q.take(4)), [0, 1, 2, 3]);
  t.equal(q.length, 2);
  t.equal(q.bytes, 14 + 15);
  t.equal(budget.frames, 2);
  t.equal(budget.bytes, 14 + 15);
  t.ok([6, 7, 8, 9].every((i) => q.push(frame(i))), 'the room of the frames taken is free again (frame cap 6)');
  t.notOk(q.push(frame(10)), 'and no more than that');
  t.same(seqs(q.take(3)), [4, 5, 6]);
  t.same(seqs(q.take(10)), [7, 8, 9], 'max beyond the queue: what is left');
  t.equal(q.length, 0);
  t.equal(budget.bytes, 0);
  t.same(q.take(2), []);
});

t.test('frames are copied: the receive buffer may be reused', async (t) => {
  const q = new HeldFrames(new HoldBudget(checkHoldLimits({})));
  const buf = frame(7);
  q.push(buf);
  buf.writeUInt32BE(8, 0);
  t.same(seqs(q.take()), [7]);
});

t.test('bad limits are named', async (t) => {
  t.throws(() => checkHoldLimits({ maxBytes: -1 }), /hold limit maxBytes: expected a non-negative integer, got -1/);
  t.throws(() => checkHoldLimits({ maxFrames: 1.5 }), /maxFrames/);
});

/** A UDP datagram from 10.0.0.`from`:`sport` to 10.0.0.9:`dport`, `tag` in its payload. */
const udp = (from: number, sport: number, dport: number, tag = 0) => ipv4Packet({ src: from, proto: 17, sport, dport, payload: tag });

t.test('the queue knows which conversations it holds frames of, until they are taken or dropped', async (t) => {
  const budget = new HoldBudget(checkHoldLimits({ maxFrames: 3, maxBytes: 1e6 }));
  const q = new HeldFrames(budget);
  const a = transportFlowKey(udp(1, 1000, 7777));
  const b = transportFlowKey(udp(1, 1001, 7777));
  q.push(udp(1, 1000, 7777, 1));
  q.push(udp(1, 1000, 7777, 2));
  q.push(udp(2, 5, 6));
  t.ok(q.holdsFlow(a));
  t.notOk(q.holdsFlow(b), 'another source port is another conversation');
  t.notOk(q.push(udp(1, 1001, 7777)), 'beyond the cap: dropped');
  t.notOk(q.holdsFlow(b), 'a dropped frame is not held');
  q.take(1);
  t.ok(q.holdsFlow(a), 'one of its two frames is still queued');
  t.equal(q.discard(), 2);
  t.notOk(q.holdsFlow(a), 'discarded');
  t.notOk(q.holdsFlow(transportFlowKey(udp(2, 5, 6))), 'discarded');
  q.push(udp(1, 1000, 7777, 3));
  q.take();
  t.notOk(q.holdsFlow(a), 'taken');
});

t.test('taken one frame per conversation in turn, each conversation in its own arrival order', async (t) => {
  const q = new HeldFrames(new HoldBudget(checkHoldLimits({})));
  const tags = (frames: Buffer[]) => frames.map((f) => `${f[29]}:${f.readUInt32BE(42)}`);
  // A stream's backlog (from .1), then two connection attempts (.2, .3) and more of the stream.
  for (let i = 0; i < 4; i++) q.push(udp(1, 1000, 7777, i));
  q.push(udp(2, 40000, 8080, 0));
  q.push(udp(3, 40001, 8080, 0));
  q.push(udp(1, 1000, 7777, 4));
  t.same(tags(q.take(4)), ['1:0', '2:0', '3:0', '1:1'], 'the attempts do not wait behind the stream');
  q.push(udp(2, 40000, 8080, 1));
  t.same(tags(q.take()), ['1:2', '2:1', '1:3', '1:4'], 'the rest in turn; a conversation that comes back joins the end of the line');
  t.equal(q.length, 0);
  t.equal(q.bytes, 0);
});

t.test('a stream that never empties its conversation does not keep the frames taken', async (t) => {
  const q = new HeldFrames(new HoldBudget(checkHoldLimits({ maxFrames: 100 })));
  for (let i = 0; i < 50; i++) q.push(udp(1, 1, 2, i));
  let next = 0;
  const wrong: string[] = [];
  for (let i = 50; i < 10_000; i++) {
    if (!q.push(udp(1, 1, 2, i))) wrong.push(`push ${i} refused`);
    for (const f of q.take(1)) if (f.readUInt32BE(42) !== next++) wrong.push(`out of order at ${next - 1}`);
  }
  t.same(wrong, [], 'every push admitted, every frame taken in order');
  const kept = (q as unknown as { conversations: Map<string, { frames: Buffer[] }> }).conversations.values().next().value!.frames.length;
  t.ok(kept <= 200, `frames kept by the conversation: ${kept} (50 queued)`);
  t.equal(q.take().length, 50);
});

t.test('pass: counted as held, not queued, bounded by the same caps', async (t) => {
  const budget = new HoldBudget(checkHoldLimits({ maxFrames: 2, maxBytes: 1e6 }));
  const q = new HeldFrames(budget);
  const view = new Uint8Array(udp(1, 1, 2, 7));
  const copy = q.pass(view)!;
  view.fill(0);
  t.equal(copy.readUInt32BE(42), 7, 'a copy of its own');
  t.equal(q.length, 0);
  t.equal(q.held, 1);
  q.push(udp(1, 1, 3));
  q.push(udp(1, 1, 4));
  t.equal(q.pass(udp(1, 1, 5)), undefined, 'no room while the queue is full');
  t.equal(q.dropped, 1);
});
