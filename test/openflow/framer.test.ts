import t from 'tap';
import type { Test } from 'tap';
import { HeaderError, MessageFramer } from '../../src/openflow/framer.js';
import { OpenFlowError, ofpError } from '../../src/openflow/errors.js';
import { ErrorCode, ErrorType } from '../../src/openflow/constants.js';
import { randomChunks, seededRandom } from '../util/random.js';

/** A raw message: OpenFlow 1.3 header + `bodyLen` bytes of a pattern derived from the xid. */
function rawMessage(type: number, xid: number, bodyLen: number): Buffer {
  const b = Buffer.alloc(8 + bodyLen);
  b.writeUInt8(4, 0);
  b.writeUInt8(type, 1);
  b.writeUInt16BE(8 + bodyLen, 2);
  b.writeUInt32BE(xid, 4);
  for (let i = 0; i < bodyLen; i++) b[8 + i] = (xid * 7 + i) & 0xff;
  return b;
}

// Header-only messages, short and odd-sized bodies: every boundary kind appears.
const messages = [
  rawMessage(0, 1, 8), // HELLO with a version bitmap-sized body
  rawMessage(2, 2, 0), // ECHO_REQUEST, header only
  rawMessage(3, 3, 5),
  rawMessage(14, 4, 72),
  rawMessage(20, 5, 0),
  rawMessage(10, 6, 1),
];
const stream = Buffer.concat(messages);

function feedAll(framer: MessageFramer, chunks: Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  for (const c of chunks) out.push(...framer.push(c));
  return out;
}

function sameMessages(t: Test, got: Buffer[], want: Buffer[], label: string): void {
  t.equal(got.length, want.length, `${label}: message count`);
  for (let i = 0; i < Math.min(got.length, want.length); i++) {
    if (!got[i]!.equals(want[i]!)) {
      t.fail(`${label}: message ${i} differs (${got[i]!.toString('hex')} vs ${want[i]!.toString('hex')})`);
      return;
    }
  }
}

/** True if `view` is a window into the memory of `chunk` (Buffer pools make `.buffer` alone unreliable). */
function isViewOf(view: Buffer, chunk: Buffer): boolean {
  return (
    view.buffer === chunk.buffer &&
    view.byteOffset >= chunk.byteOffset &&
    view.byteOffset + view.length <= chunk.byteOffset + chunk.length
  );
}

/** Asserts that `fn` throws OpenFlowError BAD_REQUEST/BAD_LEN; returns the error. */
function throwsBadLen(t: Test, fn: () => unknown, label: string): OpenFlowError | undefined {
  try {
    fn();
  } catch (err) {
    const ok = err instanceof OpenFlowError && err.type === ErrorType.BAD_REQUEST && err.code === ErrorCode.BAD_REQUEST['BAD_LEN'];
    t.ok(ok, `${label}: ${String(err)}`);
    return ok ? err : undefined;
  }
  t.fail(`${label}: did not throw`);
  return undefined;
}

t.test('the same bytes split at every position (one and two cuts)', async (t) => {
  let checked = 0;
  for (let i = 0; i <= stream.length; i++) {
    const framer = new MessageFramer();
    const got = feedAll(framer, [stream.subarray(0, i), stream.subarray(i)]);
    sameMessages(t, got, messages, `cut at ${i}`);
    t.equal(framer.buffered, 0, `cut at ${i}: nothing left over`);
    checked++;
  }
  // Every pair of cuts: covers a header split across three chunks and empty middle chunks.
  let pairFailures = 0;
  for (let i = 0; i <= stream.length; i++) {
    for (let j = i; j <= stream.length; j++) {
      const framer = new MessageFramer();
      const got = feedAll(framer, [stream.subarray(0, i), stream.subarray(i, j), stream.subarray(j)]);
      if (got.length !== messages.length || got.some((m, k) => !m.equals(messages[k]!)) || framer.buffered !== 0) {
        if (pairFailures++ < 5) t.fail(`cuts at ${i} and ${j} give ${got.length} messages`);
      }
      checked++;
    }
  }
  t.equal(pairFailures, 0, 'every pair of cuts gives the same messages');
  t.ok(checked > stream.length * stream.length / 2, `${checked} splits checked`);
});

t.test('one byte at a time, and seeded random chunk sizes', async (t) => {
  const framer = new MessageFramer();
  const got: Buffer[] = [];
  for (let i = 0; i < stream.length; i++) {
    got.push(...framer.push(stream.subarray(i, i + 1)));
    const expectedDone = messages.filter((_, k) => Buffer.concat(messages.slice(0, k + 1)).length <= i + 1).length;
    if (got.length !== expectedDone) {
      t.fail(`after byte ${i}: ${got.length} messages, expected ${expectedDone}`);
      return;
    }
  }
  sameMessages(t, got, messages, 'byte by byte');
  for (const seed of [1, 2, 3, 0xdecafbad]) {
    const rand = seededRandom(seed);
    sameMessages(t, feedAll(new MessageFramer(), randomChunks(stream, rand, 20)), messages, `seed ${seed}`);
  }
});

t.test('many messages in one chunk come out as views of that chunk', async (t) => {
  const many: Buffer[] = [];
  for (let i = 0; i < 500; i++) many.push(rawMessage(i % 30, i, (i * 13) % 97));
  const chunk = Buffer.concat(many);
  const framer = new MessageFramer();
  const got = framer.push(chunk);
  sameMessages(t, got, many, '500 in one chunk');
  t.equal(framer.buffered, 0);
  let offset = 0;
  let views = 0;
  for (const m of got) {
    if (isViewOf(m, chunk) && m.byteOffset === chunk.byteOffset + offset) views++;
    offset += m.length;
  }
  t.equal(views, many.length, 'every message is a view at its place in the chunk (no copy)');
  // A view shares memory with the chunk: a write through the chunk shows in the message.
  const at = got[0]!.length + 8; // first body byte of message 1
  const before = got[1]![8];
  chunk[at] = chunk[at]! ^ 0xff;
  t.equal(got[1]![8], before! ^ 0xff, 'writes to the chunk are visible through the view');
});

t.test('a chunk ending inside a message: complete ones are views, the rest is kept', async (t) => {
  const framer = new MessageFramer();
  const a = rawMessage(2, 10, 4);
  const b = rawMessage(3, 11, 40);
  const first = Buffer.concat([a, b.subarray(0, 20)]);
  const out1 = framer.push(first);
  t.equal(out1.length, 1);
  t.ok(isViewOf(out1[0]!, first), 'the whole message is a view of the chunk');
  t.equal(framer.buffered, 20, 'partial message kept');
  const rest = Buffer.concat([b.subarray(20), a]);
  const out2 = framer.push(rest);
  t.equal(out2.length, 2);
  t.ok(out2[0]!.equals(b), 'reassembled message');
  t.notOk(isViewOf(out2[0]!, rest), 'a message spanning chunks is reassembled, not a view of the new chunk');
  t.ok(isViewOf(out2[1]!, rest), 'the message wholly inside the second chunk is a view');
  // The reassembly buffer handed out must not be overwritten by later partial messages.
  const kept = Buffer.from(out2[0]!);
  const c = rawMessage(4, 12, 60);
  framer.push(c.subarray(0, 30));
  const out3 = framer.push(c.subarray(30));
  t.ok(out3[0]!.equals(c));
  t.ok(out2[0]!.equals(kept), 'an earlier reassembled message is unchanged by later reassembly');
});

t.test('header length below 8 is rejected with BAD_REQUEST/BAD_LEN', async (t) => {
  for (let len = 0; len < 8; len++) {
    const bad = rawMessage(0, 1, 0);
    bad.writeUInt16BE(len, 2);
    // Whole header in one chunk.
    throwsBadLen(t, () => new MessageFramer().push(bad), `length ${len} in one chunk`);
    // Header arriving in pieces: rejected as soon as the length field is complete.
    const framer = new MessageFramer();
    t.same(framer.push(bad.subarray(0, 3)), [], 'not decidable from 3 bytes');
    throwsBadLen(t, () => framer.push(bad.subarray(3)), `length ${len} split after 3 bytes`);
    // After a good message in the same chunk.
    // After a good message in the same chunk: the good one is handed out, the error is kept
    // and thrown by the next push.
    const f = new MessageFramer();
    t.equal(f.push(Buffer.concat([rawMessage(2, 9, 3), bad])).length, 1, `length ${len} after a good message: the good one is returned`);
    t.match(f.failure, { code: 6 }, `length ${len} after a good message: BAD_LEN kept in failure`);
    throwsBadLen(t, () => f.push(Buffer.alloc(1)), `length ${len} after a good message: next push throws`);
  }
  const bad = rawMessage(0, 1, 0);
  bad.writeUInt16BE(4, 2);
  const err = throwsBadLen(t, () => new MessageFramer().push(bad), 'length 4');
  t.equal(err?.offset, 2, 'the offset points at the length field');
  t.match(err?.detail, /header length 4 is shorter than the 8-byte header/);
});

t.test('header length above the maximum is rejected', async (t) => {
  const framer = new MessageFramer(100);
  t.equal(framer.push(rawMessage(2, 1, 92)).length, 1, 'exactly the maximum is accepted');
  throwsBadLen(t, () => framer.push(rawMessage(2, 2, 93)), '101 > 100 rejected');
  // Rejected from the header alone, before the body arrives (no buffering of oversize input).
  const f2 = new MessageFramer(100);
  const big = rawMessage(2, 3, 500);
  throwsBadLen(t, () => f2.push(big.subarray(0, 8)), 'rejected from the header alone');
  const f3 = new MessageFramer(100);
  f3.push(big.subarray(0, 2));
  const err = throwsBadLen(t, () => f3.push(big.subarray(2, 6)), 'rejected as soon as the length field is complete, body not awaited');
  t.match(err?.detail, /header length 508 exceeds the limit of 100/);
  // Default limit: the 16-bit maximum itself is a legal message.
  const max = rawMessage(19, 4, 65535 - 8);
  const got = feedAll(new MessageFramer(), randomChunks(max, seededRandom(7), 9000));
  t.equal(got.length, 1);
  t.ok(got[0]!.equals(max), '65535-byte message reassembled from random chunks');
  t.throws(() => new MessageFramer(7), RangeError, 'limit below 8 refused');
  t.throws(() => new MessageFramer(65536), RangeError, 'limit above 65535 refused');
});

t.test('reset drops a partial message', async (t) => {
  const framer = new MessageFramer();
  const m = rawMessage(2, 1, 20);
  framer.push(m.subarray(0, 10));
  t.equal(framer.buffered, 10);
  framer.reset();
  t.equal(framer.buffered, 0);
  const got = framer.push(m);
  t.equal(got.length, 1);
  t.ok(got[0]!.equals(m), 'the next message is framed from its own header');
});

t.test('header check: called once per header, as soon as 4 bytes are there; a refusal carries the header bytes', async (t) => {
  const seen: string[] = [];
  const check = (version: number, type: number, length: number) => {
    seen.push(`${version}/${type}/${length}`);
    if (type === 99) throw ofpError('BAD_REQUEST', 'BAD_TYPE', 1, 'type 99');
  };
  // The good stream one byte at a time: every header judged exactly once, messages intact.
  const framer = new MessageFramer(undefined, check);
  const got: Buffer[] = [];
  for (let i = 0; i < stream.length; i++) got.push(...framer.push(stream.subarray(i, i + 1)));
  sameMessages(t, got, messages, 'byte by byte with a header check');
  t.same(seen, messages.map((m) => `${m[0]}/${m[1]}/${m.readUInt16BE(2)}`), 'each header judged once, in order');
  // Cut in the middle of each body: still once per header.
  seen.length = 0;
  const cut = new MessageFramer(undefined, check);
  const halves = messages.flatMap((m) => [m.subarray(0, Math.max(8, m.length >> 1)), m.subarray(Math.max(8, m.length >> 1))]);
  sameMessages(t, feedAll(cut, halves.filter((h) => h.length > 0)), messages, 'cut mid-body with a header check');
  t.equal(seen.length, messages.length, 'once per header when bodies are split');
  // A refused header split 3 + 1 bytes: refused at the 4th byte, with those 4 bytes.
  const f2 = new MessageFramer(undefined, check);
  t.same(f2.push(Buffer.from('046300', 'hex')), []);
  const err = (() => {
    try {
      f2.push(Buffer.from('ff', 'hex'));
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  t.type(err, HeaderError);
  t.equal((err as HeaderError).header.toString('hex'), '046300ff', 'the header bytes that had arrived');
  t.equal((err as HeaderError).codeName, 'BAD_TYPE');
  // After good messages in the same chunk: those come out, the refusal waits in `failure`.
  const f3 = new MessageFramer(undefined, check);
  const out = f3.push(Buffer.concat([messages[0]!, Buffer.from('0463000800000009', 'hex')]));
  t.equal(out.length, 1, 'the good message before the bad header is handed out');
  t.equal((f3.failure as HeaderError).header.toString('hex'), '0463000800000009');
});
