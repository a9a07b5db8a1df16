// BufferWriter.take: the bytes written handed out without a copy, and a fresh small buffer after
// them (a session flushes so: a burst must not leave a grown buffer behind, nor later writes
// change what the socket was given).
import t from 'tap';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BufferWriter } from '../../src/openflow/writer.js';
import { encodeMessage, encodeMessageInto } from '../../src/openflow/encode/index.js';

t.test('take returns what was written and starts a fresh buffer of the initial size', (t) => {
  const w = new BufferWriter(16);
  w.u8(1).u16(0x0203).u32(0x04050607);
  const first = w.take();
  t.equal(first.toString('hex'), '01020304050607');
  t.equal(w.pos, 0, 'nothing written after take');
  t.equal(w.buf.length, 16, 'the initial size again');
  w.u32(0xffffffff).u32(0xeeeeeeee);
  t.equal(first.toString('hex'), '01020304050607', 'later writes leave the taken bytes alone');
  t.equal(w.take().toString('hex'), 'ffffffffeeeeeeee');
  t.equal(w.take().length, 0, 'nothing written: empty');
  t.end();
});

t.test('a burst that grew the buffer leaves none of it behind after take', (t) => {
  const w = new BufferWriter(2048);
  const barrier = { type: 'BARRIER_REQUEST' as const, xid: 7 };
  const one = encodeMessage(barrier);
  for (let i = 0; i < 20_000; i++) encodeMessageInto(w, barrier);
  t.ok(w.buf.length >= 20_000 * one.length, `grown to ${w.buf.length} bytes`);
  const burst = w.take();
  t.equal(burst.length, 20_000 * one.length);
  t.ok(burst.subarray(0, one.length).equals(one) && burst.subarray(burst.length - one.length).equals(one), 'first and last message intact');
  t.equal(w.buf.length, 2048, 'back to the initial size');
  encodeMessageInto(w, { type: 'ECHO_REQUEST', xid: 9, data: Buffer.from('ab') });
  t.ok(burst.subarray(0, one.length).equals(one), 'the burst unchanged by the next message');
  t.end();
});

t.test('nothing in the writer keeps a buffer it handed out alive (a u64 store made a view of it)', async (t) => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const w = new BufferWriter(64);
  // In a function of its own: a suspended async function keeps its dead locals too.
  const handedOut = ((): WeakRef<ArrayBuffer> => {
    for (let i = 0; i < 10_000; i++) w.u64(BigInt(i));
    const burst = w.take();
    t.equal(burst.readBigUInt64BE(8 * 9_999), 9_999n);
    return new WeakRef(burst.buffer as ArrayBuffer);
  })();
  w.u32(1);
  for (let i = 0; i < 3 && handedOut.deref() !== undefined; i++) {
    await new Promise((r) => setImmediate(r));
    gc();
  }
  t.equal(handedOut.deref(), undefined, 'the 80 KB buffer is collected once its holder dropped it');
});
