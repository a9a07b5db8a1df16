import t from 'tap';
import { checkHoldLimits, HeldFrames, HoldBudget } from '../../controller/migration/hold.js';

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
