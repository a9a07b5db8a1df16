/**
 * Every non-multipart OpenFlow 1.3 message: byte-exact round trips of hand-built messages
 * (hex laid out from the spec's struct definitions), the error each malformed form raises,
 * truncation and corruption at every byte (OpenFlowError only), HELLO/ERROR of other
 * versions, and the non-multipart Ryu wire vectors.
 */
import t from 'tap';
import type { Test } from 'tap';
import { isDeepStrictEqual } from 'node:util';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  BufferWriter, decodeMessage, encodeMessage, encodeMessageInto, ErrorCode, ErrorType,
  MessageTypeCode, OpenFlowError, type Message,
} from '../../src/openflow/index.js';
import { ryuVectorsDir } from '../util/paths.js';
import { seededRandom } from '../util/random.js';

/** Hex with spaces, newlines and `|` separators allowed for readability. */
function hex(s: string): Buffer {
  const clean = s.replace(/[\s|]/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(clean)) throw new Error(`bad hex in test: ${s}`);
  return Buffer.from(clean, 'hex');
}

interface Case {
  name: string;
  wire: Buffer;
  msg: Message;
  /** True when every proper prefix of the body is malformed (no variable-length tail). */
  fixed?: boolean;
}

const ascii = (s: string) => Buffer.from(s, 'latin1');

// The 4-field match used by PACKET_IN: in_port=1, eth_type=0x0800, ip_proto=6, ipv4_src=10.0.0.1
// (31 bytes + 1 byte of padding).
const pinMatchHex = '0001 001f | 80000004 00000001 | 80000a02 0800 | 80001401 06 | 80001604 0a000001 | 00';
const pinMatch = {
  fields: [
    { field: 'in_port' as const, value: 1 },
    { field: 'eth_type' as const, value: 0x0800 },
    { field: 'ip_proto' as const, value: 6 },
    { field: 'ipv4_src' as const, value: '10.0.0.1' },
  ],
};
// The 5-field match used by FLOW_MOD: ... ipv4_dst=10.0.0.2, tcp_dst=80 (37 bytes + 3 of padding).
const fmMatchHex = '0001 0025 | 80000004 00000001 | 80000a02 0800 | 80001401 06 | 80001804 0a000002 | 80001c02 0050 | 000000';
const fmMatch = {
  fields: [
    { field: 'in_port' as const, value: 1 },
    { field: 'eth_type' as const, value: 0x0800 },
    { field: 'ip_proto' as const, value: 6 },
    { field: 'ipv4_dst' as const, value: '10.0.0.2' },
    { field: 'tcp_dst' as const, value: 80 },
  ],
};
const emptyMatchHex = '0001 0004 00000000';

const cases: Case[] = [
  // ------------------------------------------------------------------ symmetric
  {
    name: 'HELLO with a VERSIONBITMAP of 1.0 and 1.3',
    wire: hex('04 00 0010 00000001 | 0001 0008 00000012'),
    msg: { type: 'HELLO', xid: 1, version: 4, elements: [{ type: 'VERSIONBITMAP', versions: [1, 4] }] },
  },
  {
    name: 'HELLO with a two-word bitmap (version 33), padded to 8',
    wire: hex('04 00 0018 00000002 | 0001 000c 00000010 00000002 00000000'),
    msg: { type: 'HELLO', xid: 2, version: 4, elements: [{ type: 'VERSIONBITMAP', versions: [4, 33] }] },
  },
  {
    name: 'HELLO whose bitmap has a trailing zero word',
    wire: hex('04 00 0018 00000003 | 0001 000c 00000010 00000000 00000000'),
    msg: { type: 'HELLO', xid: 3, version: 4, elements: [{ type: 'VERSIONBITMAP', versions: [4], words: 2 }] },
  },
  {
    name: 'HELLO with an unknown element before the bitmap',
    wire: hex('04 00 0018 00000004 | 0002 0006 6162 0000 | 0001 0008 00000010'),
    msg: {
      type: 'HELLO', xid: 4, version: 4,
      elements: [{ type: 'UNKNOWN', elemType: 2, data: ascii('ab') }, { type: 'VERSIONBITMAP', versions: [4] }],
    },
  },
  {
    name: 'HELLO with an empty bitmap',
    wire: hex('04 00 0010 00000009 | 0001 0004 00000000'),
    msg: { type: 'HELLO', xid: 9, version: 4, elements: [{ type: 'VERSIONBITMAP', versions: [] }] },
  },
  {
    name: 'HELLO without elements (OpenFlow 1.3.0 style)',
    wire: hex('04 00 0008 00000005'),
    msg: { type: 'HELLO', xid: 5, version: 4, elements: [] },
  },
  {
    name: 'HELLO of OpenFlow 1.0',
    wire: hex('01 00 0008 00000006'),
    msg: { type: 'HELLO', xid: 6, version: 1, elements: [] },
  },
  {
    name: 'HELLO of OpenFlow 1.0 with a body to ignore',
    wire: hex('01 00 000b 00000007 | 78797a'),
    msg: { type: 'HELLO', xid: 7, version: 1, elements: [], data: ascii('xyz') },
  },
  {
    name: 'HELLO of OpenFlow 1.5 offering 1.0, 1.3 and 1.5',
    wire: hex('06 00 0010 00000008 | 0001 0008 00000052'),
    msg: { type: 'HELLO', xid: 8, version: 6, elements: [{ type: 'VERSIONBITMAP', versions: [1, 4, 6] }] },
  },
  {
    name: 'ERROR BAD_MATCH/BAD_FIELD with the offending request',
    wire: hex('04 01 0014 0000000a | 0004 0006 | 040e0008 00000000'),
    msg: { type: 'ERROR', xid: 10, version: 4, errorType: 4, code: 6, data: hex('040e0008 00000000') },
    fixed: false,
  },
  {
    name: 'ERROR EXPERIMENTER (Nicira)',
    wire: hex('04 01 0014 0000000b | ffff 0001 00002320 | 6f6f7073'),
    msg: { type: 'ERROR', xid: 11, version: 4, errorType: 0xffff, expType: 1, experimenter: 0x2320, data: ascii('oops') },
  },
  {
    name: 'ERROR of OpenFlow 1.0 with type 0xffff (no experimenter errors before 1.2)',
    wire: hex('01 01 000c 0000000c | ffff 0002'),
    msg: { type: 'ERROR', xid: 12, version: 1, errorType: 0xffff, code: 2, data: Buffer.alloc(0) },
  },
  {
    name: 'ERROR HELLO_FAILED/INCOMPATIBLE of OpenFlow 1.0 with text',
    wire: hex('01 01 0012 0000000d | 0000 0000 | 6e6f2076313f'),
    msg: { type: 'ERROR', xid: 13, version: 1, errorType: 0, code: 0, data: ascii('no v1?') },
  },
  {
    name: 'ECHO_REQUEST with data',
    wire: hex('04 02 000c 0000000e | 01020304'),
    msg: { type: 'ECHO_REQUEST', xid: 14, data: hex('01020304') },
  },
  {
    name: 'ECHO_REPLY without data',
    wire: hex('04 03 0008 0000000f'),
    msg: { type: 'ECHO_REPLY', xid: 15, data: Buffer.alloc(0) },
  },
  {
    name: 'EXPERIMENTER',
    wire: hex('04 04 0018 00000010 | 00002320 00000010 | deadbeef cafebabe'),
    msg: { type: 'EXPERIMENTER', xid: 16, experimenter: 0x2320, expType: 16, data: hex('deadbeefcafebabe') },
  },
  // ------------------------------------------------------------------ switch
  { name: 'FEATURES_REQUEST', wire: hex('04 05 0008 00000011'), msg: { type: 'FEATURES_REQUEST', xid: 17 }, fixed: true },
  {
    name: 'FEATURES_REPLY',
    wire: hex('04 06 0020 00000012 | 0001020304050607 | 00000100 | fe 01 0000 | 0000004f | 00000000'),
    msg: {
      type: 'FEATURES_REPLY', xid: 18, datapathId: 0x0001020304050607n, nBuffers: 256, nTables: 254,
      auxiliaryId: 1, capabilities: 0x4f,
    },
    fixed: true,
  },
  { name: 'GET_CONFIG_REQUEST', wire: hex('04 07 0008 00000013'), msg: { type: 'GET_CONFIG_REQUEST', xid: 19 }, fixed: true },
  {
    name: 'GET_CONFIG_REPLY',
    wire: hex('04 08 000c 00000014 | 0001 ffff'),
    msg: { type: 'GET_CONFIG_REPLY', xid: 20, flags: 1, missSendLen: 0xffff },
    fixed: true,
  },
  {
    name: 'SET_CONFIG',
    wire: hex('04 09 000c 00000015 | 0000 0080'),
    msg: { type: 'SET_CONFIG', xid: 21, flags: 0, missSendLen: 128 },
    fixed: true,
  },
  { name: 'BARRIER_REQUEST', wire: hex('04 14 0008 00000016'), msg: { type: 'BARRIER_REQUEST', xid: 22 }, fixed: true },
  { name: 'BARRIER_REPLY', wire: hex('04 15 0008 ffffffff'), msg: { type: 'BARRIER_REPLY', xid: 0xffffffff }, fixed: true },
  {
    name: 'ROLE_REQUEST MASTER',
    wire: hex('04 18 0018 00000018 | 00000002 00000000 | 8000000000000001'),
    msg: { type: 'ROLE_REQUEST', xid: 24, role: 'MASTER', generationId: 0x8000000000000001n },
    fixed: true,
  },
  {
    name: 'ROLE_REQUEST NOCHANGE',
    wire: hex('04 18 0018 00000019 | 00000000 00000000 | ffffffffffffffff'),
    msg: { type: 'ROLE_REQUEST', xid: 25, role: 'NOCHANGE', generationId: 0xffffffffffffffffn },
    fixed: true,
  },
  {
    name: 'ROLE_REPLY SLAVE',
    wire: hex('04 19 0018 0000001a | 00000003 00000000 | 0000000000000000'),
    msg: { type: 'ROLE_REPLY', xid: 26, role: 'SLAVE', generationId: 0n },
    fixed: true,
  },
  {
    name: 'ROLE_REPLY EQUAL',
    wire: hex('04 19 0018 0000001b | 00000001 00000000 | 0000000000000007'),
    msg: { type: 'ROLE_REPLY', xid: 27, role: 'EQUAL', generationId: 7n },
    fixed: true,
  },
  { name: 'GET_ASYNC_REQUEST', wire: hex('04 1a 0008 0000001c'), msg: { type: 'GET_ASYNC_REQUEST', xid: 28 }, fixed: true },
  {
    name: 'GET_ASYNC_REPLY',
    wire: hex('04 1b 0020 0000001d | 00000007 00000000 | 00000007 00000007 | 0000000f 00000000'),
    msg: { type: 'GET_ASYNC_REPLY', xid: 29, packetInMask: [7, 0], portStatusMask: [7, 7], flowRemovedMask: [15, 0] },
    fixed: true,
  },
  {
    name: 'SET_ASYNC',
    wire: hex('04 1c 0020 0000001e | 00000003 00000001 | 00000007 00000007 | 0000000f ffffffff'),
    msg: { type: 'SET_ASYNC', xid: 30, packetInMask: [3, 1], portStatusMask: [7, 7], flowRemovedMask: [15, 0xffffffff] },
    fixed: true,
  },
  {
    name: 'QUEUE_GET_CONFIG_REQUEST',
    wire: hex('04 16 0010 0000001f | 00000001 00000000'),
    msg: { type: 'QUEUE_GET_CONFIG_REQUEST', xid: 31, port: 1 },
    fixed: true,
  },
  {
    name: 'QUEUE_GET_CONFIG_REPLY without queues',
    wire: hex('04 17 0010 00000020 | fffffffe 00000000'),
    msg: { type: 'QUEUE_GET_CONFIG_REPLY', xid: 32, port: 0xfffffffe, queues: [] },
  },
  {
    name: 'QUEUE_GET_CONFIG_REPLY with a MIN_RATE queue',
    wire: hex(`04 17 0030 00000021 | 00000001 00000000
               | 00000007 00000001 0020 000000000000 | 0001 0010 00000000 01f4 000000000000`),
    msg: {
      type: 'QUEUE_GET_CONFIG_REPLY', xid: 33, port: 1,
      queues: [{ queueId: 7, port: 1, properties: [{ property: 'MIN_RATE', rate: 500 }] }],
    },
  },
  // ------------------------------------------------------------------ async
  {
    name: 'PACKET_IN with a 4-field match',
    wire: hex(`04 0a 0042 00000022 | ffffffff 0040 01 00 | 0123456789abcdef | ${pinMatchHex} | 0000 | 7061796c6f616421`),
    msg: {
      type: 'PACKET_IN', xid: 34, bufferId: 0xffffffff, totalLen: 64, reason: 'ACTION', tableId: 0,
      cookie: 0x0123456789abcdefn, match: pinMatch, data: ascii('payload!'),
    },
  },
  {
    name: 'PACKET_IN with a reason outside the 1.3 set and no data',
    wire: hex(`04 0a 0022 00000023 | 00000100 0000 ff 05 | 0000000000000000 | ${emptyMatchHex} | 0000`),
    msg: {
      type: 'PACKET_IN', xid: 35, bufferId: 256, totalLen: 0, reason: 0xff, tableId: 5, cookie: 0n,
      match: { fields: [] }, data: Buffer.alloc(0),
    },
  },
  {
    name: 'FLOW_REMOVED DELETE',
    wire: hex(`04 0b 0040 00000024 | 0000000000000001 8000 02 03 | 0000000a 000001f4 | 003c 0000
               | 0000000000000010 | 0000000000001000 | 0001 000e 80000606 aabbccddeeff 0000`),
    msg: {
      type: 'FLOW_REMOVED', xid: 36, cookie: 1n, priority: 0x8000, reason: 'DELETE', tableId: 3,
      durationSec: 10, durationNsec: 500, idleTimeout: 60, hardTimeout: 0, packetCount: 16n, byteCount: 4096n,
      match: { fields: [{ field: 'eth_dst', value: 'aa:bb:cc:dd:ee:ff' }] },
    },
  },
  {
    name: 'FLOW_REMOVED with a reason newer than 1.3 (5, eviction)',
    wire: hex(`04 0b 0038 00000025 | ffffffffffffffff 0000 05 00 | 00000000 00000000 | 0000 0000
               | 0000000000000000 | 0000000000000000 | ${emptyMatchHex}`),
    msg: {
      type: 'FLOW_REMOVED', xid: 37, cookie: 0xffffffffffffffffn, priority: 0, reason: 5, tableId: 0,
      durationSec: 0, durationNsec: 0, idleTimeout: 0, hardTimeout: 0, packetCount: 0n, byteCount: 0n,
      match: { fields: [] },
    },
  },
  {
    name: 'PORT_STATUS MODIFY',
    wire: hex(`04 0c 0050 00000026 | 02 00000000000000
               | 00000001 00000000 020000000001 0000 | 65746831000000000000000000000000
               | 00000000 00000004 00002808 00000000 00000000 00000000 00989680 00000000`),
    msg: {
      type: 'PORT_STATUS', xid: 38, reason: 'MODIFY',
      desc: {
        portNo: 1, hwAddr: '02:00:00:00:00:01', name: 'eth1', config: 0, state: 4, curr: 0x2808,
        advertised: 0, supported: 0, peer: 0, currSpeed: 10000000, maxSpeed: 0,
      },
    },
    fixed: true,
  },
  // ------------------------------------------------------------------ flow
  {
    name: 'PACKET_OUT with an output action and a frame',
    wire: hex(`04 0d 002c 00000027 | ffffffff fffffffd 0010 000000000000
               | 0000 0010 00000002 ffe5 000000000000 | 61626364`),
    msg: {
      type: 'PACKET_OUT', xid: 39, bufferId: 0xffffffff, inPort: 0xfffffffd,
      actions: [{ type: 'OUTPUT', port: 2, maxLen: 0xffe5 }], data: ascii('abcd'),
    },
  },
  {
    name: 'PACKET_OUT of a buffered packet without actions (drop)',
    wire: hex('04 0d 0018 00000028 | 00000005 00000001 0000 000000000000'),
    msg: { type: 'PACKET_OUT', xid: 40, bufferId: 5, inPort: 1, actions: [], data: Buffer.alloc(0) },
  },
  {
    name: 'FLOW_MOD ADD with a 5-field match, apply-actions and goto-table',
    wire: hex(`04 0e 0078 00000029 | 00000000deadbeef 0000000000000000 | 00 00 0000 0000 0100
               | ffffffff ffffffff ffffffff 0001 0000 | ${fmMatchHex}
               | 0004 0018 00000000 0000 0010 00000002 0000 000000000000 | 0001 0008 01 000000`),
    msg: {
      type: 'FLOW_MOD', xid: 41, cookie: 0xdeadbeefn, cookieMask: 0n, tableId: 0, command: 'ADD',
      idleTimeout: 0, hardTimeout: 0, priority: 0x100, bufferId: 0xffffffff, outPort: 0xffffffff,
      outGroup: 0xffffffff, flags: 1, match: fmMatch,
      instructions: [
        { type: 'APPLY_ACTIONS', actions: [{ type: 'OUTPUT', port: 2, maxLen: 0 }] },
        { type: 'GOTO_TABLE', tableId: 1 },
      ],
    },
  },
  {
    name: 'FLOW_MOD DELETE of every table, by out_port',
    wire: hex(`04 0e 0038 0000002a | 0000000000000000 0000000000000000 | ff 03 0000 0000 0000
               | ffffffff 00000002 ffffffff 0000 0000 | ${emptyMatchHex}`),
    msg: {
      type: 'FLOW_MOD', xid: 42, cookie: 0n, cookieMask: 0n, tableId: 0xff, command: 'DELETE',
      idleTimeout: 0, hardTimeout: 0, priority: 0, bufferId: 0xffffffff, outPort: 2,
      outGroup: 0xffffffff, flags: 0, match: { fields: [] }, instructions: [],
    },
  },
  // ------------------------------------------------------------------ group-meter
  {
    name: 'GROUP_MOD ADD SELECT with one bucket',
    wire: hex(`04 0f 0030 0000002b | 0000 01 00 00000001
               | 0020 0001 ffffffff ffffffff 00000000 | 0000 0010 00000003 0000 000000000000`),
    msg: {
      type: 'GROUP_MOD', xid: 43, command: 'ADD', groupType: 'SELECT', groupId: 1,
      buckets: [{ weight: 1, watchPort: 0xffffffff, watchGroup: 0xffffffff, actions: [{ type: 'OUTPUT', port: 3, maxLen: 0 }] }],
    },
  },
  {
    name: 'GROUP_MOD DELETE of every group',
    wire: hex('04 0f 0010 0000002c | 0002 00 00 fffffffc'),
    msg: { type: 'GROUP_MOD', xid: 44, command: 'DELETE', groupType: 'ALL', groupId: 0xfffffffc, buckets: [] },
  },
  {
    name: 'METER_MOD ADD with a drop band',
    wire: hex('04 1d 0020 0000002d | 0000 0005 00000001 | 0001 0010 000003e8 00000064 00000000'),
    msg: {
      type: 'METER_MOD', xid: 45, command: 'ADD', flags: 5, meterId: 1,
      bands: [{ type: 'DROP', rate: 1000, burstSize: 100 }],
    },
  },
  {
    name: 'METER_MOD DELETE',
    wire: hex('04 1d 0010 0000002e | 0002 0000 00000009'),
    msg: { type: 'METER_MOD', xid: 46, command: 'DELETE', flags: 0, meterId: 9, bands: [] },
  },
  {
    name: 'PORT_MOD',
    wire: hex('04 10 0028 0000002f | 00000001 00000000 | 020000000001 0000 | 00000001 00000001 00000000 00000000'),
    msg: { type: 'PORT_MOD', xid: 47, portNo: 1, hwAddr: '02:00:00:00:00:01', config: 1, mask: 1, advertise: 0 },
    fixed: true,
  },
  {
    name: 'TABLE_MOD',
    wire: hex('04 11 0010 00000030 | ff 000000 00000003'),
    msg: { type: 'TABLE_MOD', xid: 48, tableId: 0xff, config: 3 },
    fixed: true,
  },
];

/** Same message with the header length (and buffer) cut to `n` bytes. */
function truncated(wire: Buffer, n: number): Buffer {
  const b = Buffer.from(wire.subarray(0, n));
  b.writeUInt16BE(n, 2);
  return b;
}

/** Runs `fn`; returns the OpenFlowError it threw, fails the test on any other exception. */
function catchOfp(fn: () => unknown): OpenFlowError | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (err instanceof OpenFlowError) return err;
    throw err;
  }
}

function expectOfp(
  tt: Test, fn: () => unknown, type: number, code: number, offset: number | undefined, what: string,
): void {
  const err = catchOfp(fn);
  if (!err) {
    tt.fail(`${what}: expected OpenFlowError ${type}/${code}, got success`);
    return;
  }
  tt.same({ type: err.type, code: err.code }, { type, code }, `${what}: ${err.message}`);
  if (offset !== undefined) tt.equal(err.offset, offset, `${what}: offset`);
}

const covered = new Set(cases.map((c) => c.msg.type));

t.test('every non-multipart message type has a hand-built case', async (tt) => {
  for (const name of Object.keys(MessageTypeCode)) {
    if (name.startsWith('MULTIPART_')) continue;
    tt.ok(covered.has(name as Message['type']), name);
  }
});

t.test('hand-built messages round-trip byte for byte', async (tt) => {
  for (const c of cases) {
    tt.test(c.name, async (ct) => {
      ct.equal(c.wire.readUInt16BE(2), c.wire.length, 'test vector length field is right');
      const decoded = decodeMessage(c.wire);
      ct.strictSame(decoded, c.msg, 'decode(wire) = message');
      const encoded = encodeMessage(c.msg);
      ct.equal(encoded.toString('hex'), c.wire.toString('hex'), 'encode(message) = wire');
      ct.strictSame(decodeMessage(encodeMessage(decoded)), c.msg, 'decode(encode(decode(wire))) = message');
    });
  }
});

t.test('decoding inside a larger buffer, at an offset', async (tt) => {
  const c = cases.find((x) => x.msg.type === 'PACKET_IN')!;
  const big = Buffer.concat([Buffer.alloc(13, 0xee), c.wire, Buffer.alloc(5, 0xee)]);
  const m = decodeMessage(big, 13, c.wire.length);
  tt.strictSame(m, c.msg);
  if (m.type !== 'PACKET_IN') throw new Error('unreachable');
  // data is a view into the received buffer, not a copy
  tt.equal(m.data.buffer, big.buffer, 'PACKET_IN data shares memory with the input');
  tt.equal(m.data.byteOffset, big.byteOffset + 13 + c.wire.length - 8);
});

t.test('many messages back to back in one writer', async (tt) => {
  const w = new BufferWriter(16);
  for (const c of cases) encodeMessageInto(w, c.msg);
  tt.equal(w.toBuffer().toString('hex'), Buffer.concat(cases.map((c) => c.wire)).toString('hex'));
});

t.test('truncation at every byte raises OpenFlowError only', async (tt) => {
  let rejected = 0;
  let prefixes = 0;
  for (const c of cases) {
    for (let n = 0; n < c.wire.length; n++) {
      // Header still claiming the full length: a length mismatch.
      const e1 = catchOfp(() => decodeMessage(c.wire.subarray(0, n)));
      if (!e1 || e1.type !== ErrorType.BAD_REQUEST || e1.code !== ErrorCode.BAD_REQUEST.BAD_LEN) {
        tt.fail(`${c.name}: ${n} of ${c.wire.length} bytes with the header unchanged gave ${e1?.message ?? 'no error'}`);
      }
      if (n < 8) continue;
      // Header patched to the cut length: the body itself is short.
      const cut = truncated(c.wire, n);
      const e2 = catchOfp(() => decodeMessage(cut));
      if (e2) {
        rejected++;
      } else if (c.fixed) {
        tt.fail(`${c.name}: body cut to ${n - 8} bytes was accepted`);
      } else {
        // A shorter but well-formed message (less data, fewer elements): must re-encode exactly.
        prefixes++;
        const again = encodeMessage(decodeMessage(cut));
        if (!again.equals(cut)) tt.fail(`${c.name}: prefix of ${n} bytes re-encodes as ${again.toString('hex')}`);
      }
    }
  }
  tt.ok(rejected > 0 && prefixes > 0, `${rejected} cut messages rejected, ${prefixes} well-formed prefixes re-encoded`);
});

t.test('a byte flipped anywhere: OpenFlowError or a message that re-encodes consistently', async (tt) => {
  const rand = seededRandom(0x5eed);
  let rejected = 0;
  let accepted = 0;
  for (const c of cases) {
    for (let i = 0; i < c.wire.length; i++) {
      for (const flip of [0xff, 1 << Math.floor(rand() * 8)]) {
        const b = Buffer.from(c.wire);
        b[i]! ^= flip;
        let m: Message;
        try {
          m = decodeMessage(b);
        } catch (err) {
          if (!(err instanceof OpenFlowError)) {
            tt.fail(`${c.name}: byte ${i} ^ 0x${flip.toString(16)} threw ${String(err)}`);
            return;
          }
          rejected++;
          continue;
        }
        accepted++;
        // Nonzero padding is not kept, so compare objects, not bytes.
        let back: Message | undefined;
        const again = catchOfp(() => (back = decodeMessage(encodeMessage(m))));
        if (again) tt.fail(`${c.name}: byte ${i} ^ 0x${flip.toString(16)} decoded but does not re-encode: ${again.message}`);
        else if (!isDeepStrictEqual(back, m)) tt.fail(`${c.name}: byte ${i} ^ 0x${flip.toString(16)}: decode(encode(m)) differs from m`);
      }
    }
  }
  tt.ok(rejected > 0 && accepted > 0, `${rejected} rejected, ${accepted} accepted`);
});

t.test('decode errors name the problem and where it is', async (tt) => {
  const B = ErrorType.BAD_REQUEST;
  const badLen = ErrorCode.BAD_REQUEST.BAD_LEN!;
  const byName = (name: string) => cases.find((c) => c.name === name)!.wire;
  const patched = (name: string, at: number, bytes: string) => {
    const b = Buffer.from(byName(name));
    hex(bytes).copy(b, at);
    return b;
  };
  expectOfp(tt, () => decodeMessage(hex('04 05 0009 00000001 00')), B, badLen, 8, 'FEATURES_REQUEST with a trailing byte');
  expectOfp(tt, () => decodeMessage(hex('04 14 000c 00000001 00000000')), B, badLen, 8, 'BARRIER_REQUEST with a body');
  expectOfp(tt, () => decodeMessage(hex('04 09 0010 00000001 0000 0080 00000000')), B, badLen, 12, 'SET_CONFIG too long');
  expectOfp(tt, () => decodeMessage(truncated(byName('FEATURES_REPLY'), 28)), B, badLen, undefined, 'FEATURES_REPLY without reserved');
  expectOfp(tt, () => decodeMessage(hex('04 06 0010 00000001')), B, badLen, 2, 'header length differs from the buffer');
  expectOfp(tt, () => decodeMessage(hex('04 00 00')), B, badLen, 0, 'shorter than a header');
  expectOfp(tt, () => decodeMessage(hex('03 0e 0008 00000001')), B, ErrorCode.BAD_REQUEST.BAD_VERSION!, 0, 'FLOW_MOD of 1.2');
  expectOfp(tt, () => decodeMessage(hex('04 1e 0008 00000001')), B, ErrorCode.BAD_REQUEST.BAD_TYPE!, 1, 'type 30');

  // Closed enums where an unknown value is a protocol error.
  const flowMod = 'FLOW_MOD ADD with a 5-field match, apply-actions and goto-table';
  expectOfp(tt, () => decodeMessage(patched(flowMod, 25, '05')), ErrorType.FLOW_MOD_FAILED,
    ErrorCode.FLOW_MOD_FAILED.BAD_COMMAND!, 25, 'FLOW_MOD command 5');
  expectOfp(tt, () => decodeMessage(patched('GROUP_MOD ADD SELECT with one bucket', 8, '0003')), ErrorType.GROUP_MOD_FAILED,
    ErrorCode.GROUP_MOD_FAILED.BAD_COMMAND!, 8, 'GROUP_MOD command 3');
  expectOfp(tt, () => decodeMessage(patched('GROUP_MOD ADD SELECT with one bucket', 10, '04')), ErrorType.GROUP_MOD_FAILED,
    ErrorCode.GROUP_MOD_FAILED.BAD_TYPE!, 10, 'GROUP_MOD type 4');
  expectOfp(tt, () => decodeMessage(patched('METER_MOD DELETE', 8, 'ffff')), ErrorType.METER_MOD_FAILED,
    ErrorCode.METER_MOD_FAILED.BAD_COMMAND!, 8, 'METER_MOD command 0xffff');
  expectOfp(tt, () => decodeMessage(patched('ROLE_REQUEST MASTER', 8, '00000004')), ErrorType.ROLE_REQUEST_FAILED,
    ErrorCode.ROLE_REQUEST_FAILED.BAD_ROLE!, 8, 'ROLE_REQUEST role 4');
  expectOfp(tt, () => decodeMessage(patched('ROLE_REPLY SLAVE', 8, '80000000')), ErrorType.ROLE_REQUEST_FAILED,
    ErrorCode.ROLE_REQUEST_FAILED.BAD_ROLE!, 8, 'ROLE_REPLY role 0x80000000');

  // Nested lengths that lie.
  const pout = 'PACKET_OUT with an output action and a frame';
  expectOfp(tt, () => decodeMessage(patched(pout, 16, '0025')), B, badLen, 16, 'PACKET_OUT actions_len past the end');
  expectOfp(tt, () => decodeMessage(hex('04 00 0010 00000001 | 0001 0003 00000000')), B, badLen, 10, 'hello element length 3');
  expectOfp(tt, () => decodeMessage(hex('04 00 0010 00000001 | 0001 0010 00000000')), B, badLen, 10, 'hello element past the end');
  expectOfp(tt, () => decodeMessage(hex('04 00 0014 00000001 | 0001 000c 00000010 00000000')), B, badLen, 20,
    'hello element without its padding');
  expectOfp(tt, () => decodeMessage(hex('04 00 0010 00000001 | 0001 0006 0010 0000')), B, badLen, 10,
    'VERSIONBITMAP of 2 bytes');
  expectOfp(tt, () => decodeMessage(hex('04 00 000e 00000001 | 0001 0008 0000')), B, badLen, undefined, 'hello element cut');
  expectOfp(tt, () => decodeMessage(hex('04 01 000e 00000001 | ffff 0001 0000')), B, badLen, undefined,
    'experimenter ERROR without a full experimenter id');
  expectOfp(tt, () => decodeMessage(hex('04 01 0009 00000001 | 00')), B, badLen, undefined, 'ERROR with one body byte');
});

t.test('values a switch may send outside the 1.3 sets survive', async (tt) => {
  for (const code of [3, 7, 0xff]) {
    const wire = hex(`04 0a 0022 00000001 | ffffffff 0000 ${code.toString(16).padStart(2, '0')} 00 | 0000000000000000 | ${emptyMatchHex} | 0000`);
    const m = decodeMessage(wire);
    tt.equal(m.type === 'PACKET_IN' && m.reason, code, `PACKET_IN reason ${code} kept as a number`);
    tt.equal(encodeMessage(m).toString('hex'), wire.toString('hex'));
  }
  for (const [code, name] of [[0, 'ADD'], [1, 'DELETE'], [2, 'MODIFY'], [3, 3], [200, 200]] as const) {
    const status = cases.find((c) => c.msg.type === 'PORT_STATUS')!.wire;
    const wire = Buffer.from(status);
    wire[8] = code;
    const m = decodeMessage(wire);
    tt.equal(m.type === 'PORT_STATUS' && m.reason, name, `PORT_STATUS reason ${code}`);
    tt.equal(encodeMessage(m).toString('hex'), wire.toString('hex'));
  }
  // A number is accepted for a reason that has a name, and written as that code.
  const pin = cases.find((c) => c.msg.type === 'PACKET_IN')!;
  if (pin.msg.type !== 'PACKET_IN') throw new Error('unreachable');
  tt.equal(encodeMessage({ ...pin.msg, reason: 1 }).toString('hex'), pin.wire.toString('hex'));
});

t.test('encode refuses what the wire cannot carry', async (tt) => {
  const B = ErrorType.BAD_REQUEST;
  const badLen = ErrorCode.BAD_REQUEST.BAD_LEN!;
  const msgOf = <T extends Message['type']>(type: T) => cases.find((c) => c.msg.type === type)!.msg as Extract<Message, { type: T }>;
  const flowMod = msgOf('FLOW_MOD');
  expectOfp(tt, () => encodeMessage({ ...flowMod, command: 'REPLACE' as 'ADD' }), ErrorType.FLOW_MOD_FAILED,
    ErrorCode.FLOW_MOD_FAILED.BAD_COMMAND!, 25, 'FLOW_MOD command REPLACE');
  expectOfp(tt, () => encodeMessage({ ...flowMod, priority: 70000 }), B, badLen, 30, 'FLOW_MOD priority 70000');
  expectOfp(tt, () => encodeMessage({ ...flowMod, idleTimeout: -1 }), B, badLen, 26, 'FLOW_MOD idleTimeout -1');
  expectOfp(tt, () => encodeMessage({ ...flowMod, tableId: 256 }), B, badLen, 24, 'FLOW_MOD tableId 256');
  expectOfp(tt, () => encodeMessage({ ...flowMod, outPort: 1.5 }), B, badLen, 36, 'FLOW_MOD outPort 1.5');
  expectOfp(tt, () => encodeMessage({ ...flowMod, cookie: -1n }), B, badLen, 8, 'FLOW_MOD cookie -1n');
  expectOfp(tt, () => encodeMessage({ ...flowMod, cookieMask: 1n << 64n }), B, badLen, 16, 'FLOW_MOD cookieMask 2^64');
  expectOfp(tt, () => encodeMessage({ ...flowMod, cookie: 5 as unknown as bigint }), B, badLen, 8, 'FLOW_MOD cookie as number');
  expectOfp(tt, () => encodeMessage({ ...msgOf('GROUP_MOD'), groupType: 'RANDOM' as 'ALL' }), ErrorType.GROUP_MOD_FAILED,
    ErrorCode.GROUP_MOD_FAILED.BAD_TYPE!, 10, 'GROUP_MOD groupType RANDOM');
  expectOfp(tt, () => encodeMessage({ ...msgOf('GROUP_MOD'), command: 'INSERT' as 'ADD' }), ErrorType.GROUP_MOD_FAILED,
    ErrorCode.GROUP_MOD_FAILED.BAD_COMMAND!, 8, 'GROUP_MOD command INSERT');
  expectOfp(tt, () => encodeMessage({ ...msgOf('METER_MOD'), command: 'add' as 'ADD' }), ErrorType.METER_MOD_FAILED,
    ErrorCode.METER_MOD_FAILED.BAD_COMMAND!, 8, 'METER_MOD command add (lowercase)');
  expectOfp(tt, () => encodeMessage({ ...msgOf('ROLE_REQUEST'), role: 'BOSS' as 'MASTER' }), ErrorType.ROLE_REQUEST_FAILED,
    ErrorCode.ROLE_REQUEST_FAILED.BAD_ROLE!, 8, 'ROLE_REQUEST role BOSS');
  expectOfp(tt, () => encodeMessage({ ...msgOf('PORT_MOD'), hwAddr: '02:00:00:00:00' }), ErrorType.PORT_MOD_FAILED,
    ErrorCode.PORT_MOD_FAILED.BAD_HW_ADDR!, 16, 'PORT_MOD hwAddr of 5 bytes');
  expectOfp(tt, () => encodeMessage({ ...msgOf('SET_ASYNC'), packetInMask: [1] as unknown as [number, number] }), B, badLen, 8,
    'SET_ASYNC mask that is not a pair');
  expectOfp(tt, () => encodeMessage({ ...msgOf('ECHO_REQUEST'), data: 'hi' as unknown as Buffer }), B, badLen, 8,
    'ECHO_REQUEST data as a string');
  expectOfp(tt, () => encodeMessage({ ...msgOf('PACKET_IN'), reason: 'FOO' as 'ACTION' }), B, badLen, 14, 'PACKET_IN reason FOO');
  expectOfp(tt, () => encodeMessage({ ...msgOf('PACKET_IN'), reason: 256 }), B, badLen, 14, 'PACKET_IN reason 256');
  expectOfp(tt, () => encodeMessage({ type: 'ERROR', xid: 1, version: 4, errorType: 0xffff, code: 1, data: Buffer.alloc(0) }),
    B, ErrorCode.BAD_REQUEST.BAD_TYPE!, 8, 'ERROR 0xffff without experimenter fields (would not decode back)');
  expectOfp(tt, () => encodeMessage({ type: 'ERROR', xid: 1, version: 1, errorType: 0xffff, expType: 1, experimenter: 2, data: Buffer.alloc(0) }),
    B, ErrorCode.BAD_REQUEST.BAD_TYPE!, 8, 'experimenter ERROR in OpenFlow 1.0');
  expectOfp(tt, () => encodeMessage({ type: 'ERROR', xid: 1, version: 256, errorType: 1, code: 1, data: Buffer.alloc(0) }),
    B, ErrorCode.BAD_REQUEST.BAD_VERSION!, 0, 'ERROR version 256');
  const hf = ErrorType.HELLO_FAILED;
  const inc = ErrorCode.HELLO_FAILED.INCOMPATIBLE!;
  expectOfp(tt, () => encodeMessage({ type: 'HELLO', xid: 1, version: 4, elements: [{ type: 'VERSIONBITMAP', versions: [4, 1] }] }),
    hf, inc, 8, 'HELLO versions not ascending');
  expectOfp(tt, () => encodeMessage({ type: 'HELLO', xid: 1, version: 4, elements: [{ type: 'VERSIONBITMAP', versions: [4, 4] }] }),
    hf, inc, 8, 'HELLO versions repeated');
  expectOfp(tt, () => encodeMessage({ type: 'HELLO', xid: 1, version: 4, elements: [{ type: 'VERSIONBITMAP', versions: [40], words: 1 }] }),
    hf, inc, 8, 'HELLO words too few for version 40');
  expectOfp(tt, () => encodeMessage({ type: 'HELLO', xid: 1, version: 4, elements: [{ type: 'UNKNOWN', elemType: 1, data: Buffer.alloc(4) }] }),
    hf, inc, 8, 'UNKNOWN element with the VERSIONBITMAP code');
  expectOfp(tt, () => encodeMessage({ type: 'HELLO', xid: 1, version: 1, elements: [{ type: 'VERSIONBITMAP', versions: [1] }] }),
    hf, inc, 8, 'elements in a HELLO of 1.0');
  expectOfp(tt, () => encodeMessage({ type: 'HELLO', xid: 1, version: 4, elements: [], data: Buffer.alloc(1) }),
    hf, inc, 8, 'opaque data in a HELLO of 1.3');

  // A failed encode leaves the writer as it was.
  const w = new BufferWriter(8);
  encodeMessageInto(w, msgOf('BARRIER_REQUEST'));
  const before = w.toBuffer();
  tt.throws(() => encodeMessageInto(w, { ...flowMod, priority: -5 }), OpenFlowError);
  tt.equal(w.pos, before.length, 'writer position restored');
  encodeMessageInto(w, msgOf('BARRIER_REPLY'));
  tt.equal(w.toBuffer().toString('hex'), before.toString('hex') + cases.find((c) => c.msg.type === 'BARRIER_REPLY')!.wire.toString('hex'));
});

t.test('a missing or mistyped field raises OpenFlowError, never another exception', async (tt) => {
  const junk: unknown[] = [undefined, null, 'x', -1, 1.5, {}, [], [null], 2n ** 70n];
  let refused = 0;
  for (const c of cases) {
    for (const key of Object.keys(c.msg)) {
      // The header (type, xid) is encodeMessageInto's, not the body encoders'.
      if (key === 'type' || key === 'xid') continue;
      for (const bad of junk) {
        const m = { ...c.msg, [key]: bad } as Message;
        try {
          encodeMessage(m);
        } catch (err) {
          if (err instanceof OpenFlowError) refused++;
          else tt.fail(`${c.name}: ${key} = ${String(bad)} threw ${String(err)}`);
        }
      }
    }
  }
  tt.ok(refused > 0, `${refused} bad values refused`);
});

t.test('HELLO and ERROR of other versions keep their version', async (tt) => {
  // OpenFlow 1.0 HELLO as Open vSwitch sends it when configured for 1.0 only.
  const v1 = decodeMessage(hex('01 00 0008 0000abcd'));
  tt.strictSame(v1, { type: 'HELLO', xid: 0xabcd, version: 1, elements: [] });
  tt.equal(encodeMessage(v1).toString('hex'), '010000080000abcd');
  // OpenFlow 1.4 HELLO offering 1.3 and 1.4.
  const v5 = decodeMessage(hex('05 00 0010 00000001 | 0001 0008 00000030'));
  tt.strictSame(v5, { type: 'HELLO', xid: 1, version: 5, elements: [{ type: 'VERSIONBITMAP', versions: [4, 5] }] });
  // A future version with a version bitmap past 32 bits.
  const far = hex('28 00 0018 00000001 | 0001 000c 00000010 00000100 00000000');
  const vf = decodeMessage(far);
  tt.strictSame(vf, { type: 'HELLO', xid: 1, version: 0x28, elements: [{ type: 'VERSIONBITMAP', versions: [4, 40] }] });
  tt.equal(encodeMessage(vf).toString('hex'), far.toString('hex'));
  // ERROR of 1.0 (BAD_REQUEST/BAD_VERSION there too) with the rejected HELLO as data.
  const e1 = decodeMessage(hex('01 01 0014 00000001 | 0001 0000 | 04000010 00000001'));
  tt.strictSame(e1, { type: 'ERROR', xid: 1, version: 1, errorType: 1, code: 0, data: hex('0400001000000001') });
  // Other types of other versions are refused.
  expectOfp(tt, () => decodeMessage(hex('01 02 0008 00000001')), ErrorType.BAD_REQUEST, ErrorCode.BAD_REQUEST.BAD_VERSION!, 0,
    'ECHO_REQUEST of 1.0');
  // A HELLO without `version` is written as 1.3 (as encodeMessageInto writes the header).
  const noVersion = { type: 'HELLO', xid: 2, elements: [{ type: 'VERSIONBITMAP', versions: [4] }] } as unknown as Message;
  tt.equal(encodeMessage(noVersion).toString('hex'), '04000010000000020001000800000010');
});

t.test('Ryu vectors of non-multipart messages decode and re-encode byte for byte', async (tt) => {
  const dir = join(ryuVectorsDir(), 'packet');
  const files = readdirSync(dir).filter((f) => f.endsWith('.packet')).sort();
  let checked = 0;
  for (const f of files) {
    const wire = readFileSync(join(dir, f));
    const type = wire[1]!;
    if (type === MessageTypeCode.MULTIPART_REQUEST || type === MessageTypeCode.MULTIPART_REPLY) continue;
    checked++;
    const err = catchOfp(() => {
      const m = decodeMessage(wire);
      tt.equal(encodeMessage(m).toString('hex'), wire.toString('hex'), `${f} re-encodes exactly`);
      tt.strictSame(decodeMessage(encodeMessage(m)), m, `${f} decode(encode(m)) = m`);
    });
    if (err) tt.fail(`${f}: ${err.message}`);
  }
  tt.equal(checked, 73, 'all 73 non-multipart vectors were checked');

  const read = (f: string) => decodeMessage(readFileSync(join(dir, f)));
  tt.strictSame(read('4-10-ofp_hello.packet'), {
    type: 'HELLO', xid: 0, version: 4, elements: [{ type: 'VERSIONBITMAP', versions: [1, 2, 3, 9, 10, 30] }],
  });
  tt.strictSame(read('4-41-ofp_error_msg_experimenter.packet'), {
    type: 'ERROR', xid: 0, version: 4, errorType: 0xffff, expType: 60000, experimenter: 999999, data: ascii('jikken data'),
  });
  tt.strictSame(read('4-15-ofp_error_msg.packet'), { type: 'ERROR', xid: 0, version: 4, errorType: 2, code: 11, data: ascii('fugafuga') });
  tt.strictSame(read('4-16-ofp_experimenter.packet'), {
    type: 'EXPERIMENTER', xid: 0, experimenter: 98765432, expType: 123456789, data: ascii('nazo'),
  });
  tt.strictSame(read('4-6-ofp_features_reply.packet'), {
    type: 'FEATURES_REPLY', xid: 0, datapathId: 0x0000_0860_6e7f_74e7n, nBuffers: 0, nTables: 255, auxiliaryId: 99,
    capabilities: 0x4f,
  });
  tt.strictSame(read('4-43-ofp_get_async_reply.packet'), {
    type: 'GET_ASYNC_REPLY', xid: 0, packetInMask: [5, 1], portStatusMask: [7, 3], flowRemovedMask: [15, 3],
  });
  tt.strictSame(read('4-20-ofp_role_reply.packet'), { type: 'ROLE_REPLY', xid: 0, role: 'SLAVE', generationId: 0xf000f000f000f000n });
  const pin = read('4-4-ofp_packet_in.packet');
  tt.match(pin, { type: 'PACKET_IN', bufferId: 2, totalLen: 42, reason: 'ACTION', tableId: 1, cookie: 0x0001020300000000n });
  tt.equal(pin.type === 'PACKET_IN' && pin.data.length, 42);

  // Ryu's truncated case: the first 64 bytes of a 256-byte FLOW_MOD.
  const full = readFileSync(join(dir, 'libofproto-OFP13-flow_mod.packet'));
  expectOfp(tt, () => decodeMessage(full.subarray(0, 64)), ErrorType.BAD_REQUEST, ErrorCode.BAD_REQUEST.BAD_LEN!, 2,
    'truncated64 with the original header');
  tt.ok(catchOfp(() => decodeMessage(truncated(full, 64))), 'truncated64 with a patched header is refused');
});
