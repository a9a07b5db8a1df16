import t from 'tap';
import type { Test } from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeMessage } from '../../src/openflow/decode/index.js';
import { encodeMessage } from '../../src/openflow/encode/index.js';
import { OpenFlowError } from '../../src/openflow/errors.js';
import { ErrorCode, ErrorType } from '../../src/openflow/constants.js';
import type {
  Message, MultipartReply, MultipartReplyBody, MultipartRequest, MultipartRequestBody, TableFeatures,
} from '../../src/openflow/types/index.js';
import { ryuVectorsDir } from '../util/paths.js';

// ---------------------------------------------------------------------------------------------
// Building test bytes by hand (never with the encoder under test).

const XID = 0x12345678;

/** Bytes from hex text; spaces, newlines and `|` separators are ignored. */
function hex(s: string): Buffer {
  const clean = s.replace(/[\s|]/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-f]/i.test(clean)) throw new Error(`bad hex in test: ${s}`);
  return Buffer.from(clean, 'hex');
}

/** A NUL-padded fixed-width string field. */
function str(s: string, width: number): Buffer {
  const b = Buffer.alloc(width);
  b.write(s, 'latin1');
  return b;
}

/** OpenFlow header + ofp_multipart_{request,reply} header + body. */
function mp(ofType: 18 | 19, mpType: number, flags: number, ...body: (string | Buffer)[]): Buffer {
  const payload = Buffer.concat(body.map((b) => (typeof b === 'string' ? hex(b) : b)));
  const h = Buffer.alloc(16);
  h.writeUInt8(4, 0);
  h.writeUInt8(ofType, 1);
  h.writeUInt16BE(16 + payload.length, 2);
  h.writeUInt32BE(XID, 4);
  h.writeUInt16BE(mpType, 8);
  h.writeUInt16BE(flags, 10);
  return Buffer.concat([h, payload]);
}
const req = (mpType: number, flags: number, ...body: (string | Buffer)[]) => mp(18, mpType, flags, ...body);
const rep = (mpType: number, flags: number, ...body: (string | Buffer)[]) => mp(19, mpType, flags, ...body);

const request = (body: MultipartRequestBody, flags = 0): MultipartRequest => ({ type: 'MULTIPART_REQUEST', xid: XID, flags, body });
const reply = (body: MultipartReplyBody, flags = 0): MultipartReply => ({ type: 'MULTIPART_REPLY', xid: XID, flags, body });

// ---------------------------------------------------------------------------------------------
// Shared pieces

// ofp_match with in_port=1 (length 12, padded to 16) and the empty match (length 4, padded to 8).
const MATCH_IN_PORT_1 = '0001 000c | 8000 0004 0000 0001 | 0000 0000';
const MATCH_EMPTY = '0001 0004 0000 0000';
// ofp_match with eth_type=0x0800 (length 10, padded to 16).
const MATCH_IPV4 = '0001 000a | 8000 0a02 0800 | 0000 0000 0000';

/**
 * One ofp_table_features entry with every property type: the properties' own lengths are
 * written by hand, only the entry's total length is computed here.
 */
function tableFeaturesBytes(): Buffer {
  const props = hex(`
    0000 0014  0001 0004  0004 0004  ffff 0008 0000 2320  0000 0000
    0001 0008  0006 0004
    0002 0007  01 02 03  00
    0003 0004  0000 0000
    0004 000c  0000 0004  0016 0004  0000 0000
    0005 000e  ffff 000a 0000 2320 0001  0000
    0006 0014  0000 0004  0019 0004  0012 0004  1234 0004  0000 0000
    0007 0004  0000 0000
    0008 0010  8000 0004  8000 070c  0001 0004
    000a 0008  8000 0806
    000c 0008  8000 0c02
    000d 000c  ffff 0204 4f4e 4600  0000 0000
    000e 0008  8000 1604
    000f 0008  8000 c802
    fffe 000f  0000 2320 0000 0007 aabbcc  00
    ffff 000c  0000 2320 0000 0008  0000 0000
    0009 0005  01  000000
  `);
  const fixed = Buffer.concat([
    hex('0000 03 0000000000'), // length (patched below), table_id 3, pad
    str('classifier', 32),
    hex('ffffffffffffffff 0000000000000000 00000003 000f4240'),
  ]);
  const out = Buffer.concat([fixed, props]);
  out.writeUInt16BE(out.length, 0);
  return out;
}

const tableFeaturesObject: TableFeatures = {
  tableId: 3,
  name: 'classifier',
  metadataMatch: 0xffffffffffffffffn,
  metadataWrite: 0n,
  config: 3,
  maxEntries: 1000000,
  properties: [
    { type: 'INSTRUCTIONS', instructionIds: [{ type: 'GOTO_TABLE' }, { type: 'APPLY_ACTIONS' }, { type: 'EXPERIMENTER', experimenter: 0x2320 }] },
    { type: 'INSTRUCTIONS_MISS', instructionIds: [{ type: 'METER' }] },
    { type: 'NEXT_TABLES', tableIds: [1, 2, 3] },
    { type: 'NEXT_TABLES_MISS', tableIds: [] },
    { type: 'WRITE_ACTIONS', actionIds: [{ type: 'OUTPUT' }, { type: 'GROUP' }] },
    { type: 'WRITE_ACTIONS_MISS', actionIds: [{ type: 'EXPERIMENTER', experimenter: 0x2320, data: hex('0001') }] },
    { type: 'APPLY_ACTIONS', actionIds: [{ type: 'OUTPUT' }, { type: 'SET_FIELD' }, { type: 'POP_VLAN' }, { type: 0x1234 }] },
    { type: 'APPLY_ACTIONS_MISS', actionIds: [] },
    {
      type: 'MATCH',
      oxmIds: [
        { field: 'in_port', hasMask: false, length: 4 },
        { field: 'eth_dst', hasMask: true, length: 12 },
        { field: 'opaque', oxmClass: 1, oxmField: 0, hasMask: false, length: 4 },
      ],
    },
    { type: 'WILDCARDS', oxmIds: [{ field: 'eth_src', hasMask: false, length: 6 }] },
    { type: 'WRITE_SETFIELD', oxmIds: [{ field: 'vlan_vid', hasMask: false, length: 2 }] },
    {
      type: 'WRITE_SETFIELD_MISS',
      oxmIds: [{ field: 'opaque', oxmClass: 0xffff, oxmField: 1, hasMask: false, length: 4, experimenter: 0x4f4e4600 }],
    },
    { type: 'APPLY_SETFIELD', oxmIds: [{ field: 'ipv4_src', hasMask: false, length: 4 }] },
    { type: 'APPLY_SETFIELD_MISS', oxmIds: [{ field: 'opaque', oxmClass: 0x8000, oxmField: 100, hasMask: false, length: 2 }] },
    { type: 'EXPERIMENTER', experimenter: 0x2320, expType: 7, data: hex('aabbcc') },
    { type: 'EXPERIMENTER_MISS', experimenter: 0x2320, expType: 8, data: hex('') },
    { type: 'UNKNOWN', code: 9, data: hex('01') },
  ],
};

// ---------------------------------------------------------------------------------------------
// Hand-built messages of every kind, with the object each must decode to.

interface Case {
  name: string;
  bytes: Buffer;
  msg: Message;
}

const flowSelectionBytes = '01 000000 | 00000002 | ffffffff | 00000000 | 0102030405060708 | ffffffffffffffff';

const requestCases: Case[] = [
  { name: 'DESC request', bytes: req(0, 0), msg: request({ kind: 'DESC' }) },
  {
    name: 'FLOW request',
    bytes: req(1, 0, flowSelectionBytes, MATCH_IN_PORT_1),
    msg: request({
      kind: 'FLOW', tableId: 1, outPort: 2, outGroup: 0xffffffff, cookie: 0x0102030405060708n,
      cookieMask: 0xffffffffffffffffn, match: { fields: [{ field: 'in_port', value: 1 }] },
    }),
  },
  {
    name: 'AGGREGATE request',
    bytes: req(2, 0, 'ff 000000 | ffffffff | ffffffff | 00000000 | 0000000000000000 | 0000000000000000', MATCH_EMPTY),
    msg: request({
      kind: 'AGGREGATE', tableId: 0xff, outPort: 0xffffffff, outGroup: 0xffffffff, cookie: 0n,
      cookieMask: 0n, match: { fields: [] },
    }),
  },
  { name: 'TABLE request', bytes: req(3, 0), msg: request({ kind: 'TABLE' }) },
  { name: 'PORT_STATS request', bytes: req(4, 0, '00000007 00000000'), msg: request({ kind: 'PORT_STATS', portNo: 7 }) },
  { name: 'QUEUE request', bytes: req(5, 0, '00000001 ffffffff'), msg: request({ kind: 'QUEUE', portNo: 1, queueId: 0xffffffff }) },
  { name: 'GROUP request', bytes: req(6, 0, 'fffffffc 00000000'), msg: request({ kind: 'GROUP', groupId: 0xfffffffc }) },
  { name: 'GROUP_DESC request', bytes: req(7, 0), msg: request({ kind: 'GROUP_DESC' }) },
  { name: 'GROUP_FEATURES request', bytes: req(8, 0), msg: request({ kind: 'GROUP_FEATURES' }) },
  { name: 'METER request', bytes: req(9, 0, '00000005 00000000'), msg: request({ kind: 'METER', meterId: 5 }) },
  { name: 'METER_CONFIG request', bytes: req(10, 0, 'ffffffff 00000000'), msg: request({ kind: 'METER_CONFIG', meterId: 0xffffffff }) },
  { name: 'METER_FEATURES request', bytes: req(11, 0), msg: request({ kind: 'METER_FEATURES' }) },
  { name: 'TABLE_FEATURES request (query)', bytes: req(12, 0), msg: request({ kind: 'TABLE_FEATURES', tables: [] }) },
  {
    name: 'TABLE_FEATURES request (set, REQ_MORE)',
    bytes: req(12, 1, tableFeaturesBytes()),
    msg: request({ kind: 'TABLE_FEATURES', tables: [tableFeaturesObject] }, 1),
  },
  { name: 'PORT_DESC request', bytes: req(13, 0), msg: request({ kind: 'PORT_DESC' }) },
  {
    name: 'EXPERIMENTER request',
    bytes: req(0xffff, 0, '00002320 00000001 cafebabe01'),
    msg: request({ kind: 'EXPERIMENTER', experimenter: 0x2320, expType: 1, data: hex('cafebabe01') }),
  },
];

const replyCases: Case[] = [
  {
    name: 'DESC reply',
    bytes: rep(0, 0, str('Nicira, Inc.', 256), str('Open vSwitch', 256), str('3.1.0', 256), str('None', 32), str('br0 on host-a', 256)),
    msg: reply({ kind: 'DESC', mfrDesc: 'Nicira, Inc.', hwDesc: 'Open vSwitch', swDesc: '3.1.0', serialNum: 'None', dpDesc: 'br0 on host-a' }),
  },
  {
    name: 'FLOW reply (two entries, REPLY_MORE)',
    bytes: rep(1, 1,
      // length 96, table 2, duration 10.5s, priority 100, idle 30, hard 0, flags SEND_FLOW_REM
      '0060 02 00 | 0000000a 1dcd6500 | 0064 001e 0000 0001 | 00000000',
      'fedcba9876543210 | 0000000000000007 | 00000000000002a0',
      MATCH_IPV4,
      '0001 0008 01 000000', // GOTO_TABLE 1
      '0004 0018 00000000 | 0000 0010 00000001 ffe5 000000000000', // APPLY_ACTIONS OUTPUT:1
      // length 56, table 0, no match fields, no instructions (a drop flow)
      '0038 00 00 | 00000001 00000000 | 0000 0000 0000 0000 | 00000000',
      '0000000000000000 | ffffffffffffffff | 0000000000000000',
      MATCH_EMPTY),
    msg: reply({
      kind: 'FLOW',
      flows: [
        {
          tableId: 2, durationSec: 10, durationNsec: 500000000, priority: 100, idleTimeout: 30,
          hardTimeout: 0, flags: 1, cookie: 0xfedcba9876543210n, packetCount: 7n, byteCount: 672n,
          match: { fields: [{ field: 'eth_type', value: 0x0800 }] },
          instructions: [
            { type: 'GOTO_TABLE', tableId: 1 },
            { type: 'APPLY_ACTIONS', actions: [{ type: 'OUTPUT', port: 1, maxLen: 0xffe5 }] },
          ],
        },
        {
          tableId: 0, durationSec: 1, durationNsec: 0, priority: 0, idleTimeout: 0, hardTimeout: 0,
          flags: 0, cookie: 0n, packetCount: 0xffffffffffffffffn, byteCount: 0n,
          match: { fields: [] }, instructions: [],
        },
      ],
    }, 1),
  },
  { name: 'FLOW reply (no flows)', bytes: rep(1, 0), msg: reply({ kind: 'FLOW', flows: [] }) },
  {
    name: 'AGGREGATE reply',
    bytes: rep(2, 0, '0000000000000064 0000000000001000 00000003 00000000'),
    msg: reply({ kind: 'AGGREGATE', packetCount: 100n, byteCount: 4096n, flowCount: 3 }),
  },
  {
    name: 'TABLE reply',
    bytes: rep(3, 0,
      '00 000000 00000004 0000000000000010 000000000000000c',
      'fe 000000 00000000 ffffffffffffffff 0000000000000000'),
    msg: reply({
      kind: 'TABLE',
      tables: [
        { tableId: 0, activeCount: 4, lookupCount: 16n, matchedCount: 12n },
        { tableId: 254, activeCount: 0, lookupCount: 0xffffffffffffffffn, matchedCount: 0n },
      ],
    }),
  },
  {
    name: 'PORT_STATS reply',
    bytes: rep(4, 0,
      '00000001 00000000',
      '0000000000000001 0000000000000002 0000000000000003 0000000000000004',
      '0000000000000005 0000000000000006 0000000000000007 0000000000000008',
      '0000000000000009 000000000000000a 000000000000000b ffffffffffffffff',
      '0000012c 00000063'),
    msg: reply({
      kind: 'PORT_STATS',
      ports: [{
        portNo: 1, rxPackets: 1n, txPackets: 2n, rxBytes: 3n, txBytes: 4n, rxDropped: 5n,
        txDropped: 6n, rxErrors: 7n, txErrors: 8n, rxFrameErr: 9n, rxOverErr: 10n, rxCrcErr: 11n,
        collisions: 0xffffffffffffffffn, durationSec: 300, durationNsec: 99,
      }],
    }),
  },
  {
    name: 'QUEUE reply',
    bytes: rep(5, 0, '00000002 00000001 0000000000000400 0000000000000004 0000000000000000 00000005 00000006'),
    msg: reply({
      kind: 'QUEUE',
      queues: [{ portNo: 2, queueId: 1, txBytes: 1024n, txPackets: 4n, txErrors: 0n, durationSec: 5, durationNsec: 6 }],
    }),
  },
  {
    name: 'GROUP reply (with and without bucket counters)',
    bytes: rep(6, 0,
      '0048 0000 00000001 00000002 00000000 000000000000000a 0000000000000a00 00000003 00000004',
      '0000000000000006 0000000000000600 0000000000000004 0000000000000400',
      '0028 0000 00000002 00000000 00000000 0000000000000000 0000000000000000 00000000 00000000'),
    msg: reply({
      kind: 'GROUP',
      groups: [
        {
          groupId: 1, refCount: 2, packetCount: 10n, byteCount: 2560n, durationSec: 3, durationNsec: 4,
          bucketStats: [{ packetCount: 6n, byteCount: 1536n }, { packetCount: 4n, byteCount: 1024n }],
        },
        { groupId: 2, refCount: 0, packetCount: 0n, byteCount: 0n, durationSec: 0, durationNsec: 0, bucketStats: [] },
      ],
    }),
  },
  {
    name: 'GROUP_DESC reply',
    bytes: rep(7, 0,
      // length 40, SELECT, group 7, one bucket (weight 1, no watch) with OUTPUT:2
      '0028 01 00 00000007',
      '0020 0001 ffffffff ffffffff 00000000 | 0000 0010 00000002 0000 000000000000',
      // an INDIRECT group without buckets
      '0008 02 00 00000008'),
    msg: reply({
      kind: 'GROUP_DESC',
      groups: [
        {
          groupType: 'SELECT', groupId: 7,
          buckets: [{ weight: 1, watchPort: 0xffffffff, watchGroup: 0xffffffff, actions: [{ type: 'OUTPUT', port: 2, maxLen: 0 }] }],
        },
        { groupType: 'INDIRECT', groupId: 8, buckets: [] },
      ],
    }),
  },
  {
    name: 'GROUP_FEATURES reply',
    bytes: rep(8, 0, '0000000f 00000005 | 00000100 00000200 00000300 00000400 | 00000001 03ff8001 00000001 00400001'),
    msg: reply({
      kind: 'GROUP_FEATURES', types: 15, capabilities: 5, maxGroups: [256, 512, 768, 1024],
      actions: [1, 0x03ff8001, 1, 0x00400001],
    }),
  },
  {
    name: 'METER reply',
    bytes: rep(9, 0,
      '00000001 0038 000000000000 00000002 0000000000000064 0000000000006400 0000000a 00000000',
      '0000000000000005 0000000000000500'),
    msg: reply({
      kind: 'METER',
      meters: [{
        meterId: 1, flowCount: 2, packetInCount: 100n, byteInCount: 25600n, durationSec: 10,
        durationNsec: 0, bandStats: [{ packetBandCount: 5n, byteBandCount: 1280n }],
      }],
    }),
  },
  {
    name: 'METER_CONFIG reply',
    bytes: rep(10, 0,
      '0028 0005 00000001',
      '0001 0010 00002710 00000064 00000000', // DROP rate 10000 burst 100
      '0002 0010 00001388 00000032 01 000000'), // DSCP_REMARK rate 5000 burst 50 prec 1
    msg: reply({
      kind: 'METER_CONFIG',
      meters: [{
        flags: 5, meterId: 1,
        bands: [
          { type: 'DROP', rate: 10000, burstSize: 100 },
          { type: 'DSCP_REMARK', rate: 5000, burstSize: 50, precLevel: 1 },
        ],
      }],
    }),
  },
  {
    name: 'METER_FEATURES reply',
    bytes: rep(11, 0, '00010000 00000006 0000000f 10 08 0000'),
    msg: reply({ kind: 'METER_FEATURES', maxMeter: 65536, bandTypes: 6, capabilities: 15, maxBands: 16, maxColor: 8 }),
  },
  {
    name: 'TABLE_FEATURES reply',
    bytes: rep(12, 0, tableFeaturesBytes()),
    msg: reply({ kind: 'TABLE_FEATURES', tables: [tableFeaturesObject] }),
  },
  {
    name: 'PORT_DESC reply',
    bytes: rep(13, 0,
      '00000001 00000000 | 0a1b2c3d4e5f 0000', str('veth-a', 16),
      '00000000 00000004 00000840 00000000 00000000 00000000 00989680 00989680'),
    msg: reply({
      kind: 'PORT_DESC',
      ports: [{
        portNo: 1, hwAddr: '0a:1b:2c:3d:4e:5f', name: 'veth-a', config: 0, state: 4, curr: 0x840,
        advertised: 0, supported: 0, peer: 0, currSpeed: 10000000, maxSpeed: 10000000,
      }],
    }),
  },
  {
    name: 'EXPERIMENTER reply',
    bytes: rep(0xffff, 0, '00002320 00000002'),
    msg: reply({ kind: 'EXPERIMENTER', experimenter: 0x2320, expType: 2, data: hex('') }),
  },
];

const cases = [...requestCases, ...replyCases];

// ---------------------------------------------------------------------------------------------
// Helpers for the checks

function isOpenFlowError(err: unknown): err is OpenFlowError {
  return err instanceof OpenFlowError;
}

/** Decodes; on success the result must re-encode to `bytes` exactly and decode back equal. */
function roundTrip(t: Test, bytes: Buffer, label: string): Message | undefined {
  const msg = decodeMessage(bytes);
  const again = encodeMessage(msg);
  if (!again.equals(bytes)) {
    t.fail(`${label}: re-encoding differs\n  in:  ${bytes.toString('hex')}\n  out: ${again.toString('hex')}`);
    return undefined;
  }
  t.strictSame(decodeMessage(again), msg, `${label}: decode(encode(decode(b))) = decode(b)`);
  return msg;
}

function expectError(t: Test, fn: () => unknown, type: number, code: number, offset: number, label: string): void {
  try {
    fn();
    t.fail(`${label}: expected an OpenFlowError`);
  } catch (err) {
    if (!isOpenFlowError(err)) {
      t.fail(`${label}: threw ${String(err)} instead of an OpenFlowError`);
      return;
    }
    t.same({ type: err.type, code: err.code, offset: err.offset }, { type, code, offset }, `${label}: ${err.message}`);
  }
}

/** Any outcome is fine except a non-OpenFlowError; a successful decode must re-encode. */
function decodeSafely(t: Test, bytes: Buffer, label: string, exact: boolean): 'ok' | 'error' | 'bad' {
  let msg: Message;
  try {
    msg = decodeMessage(bytes);
  } catch (err) {
    if (isOpenFlowError(err)) return 'error';
    t.fail(`${label}: threw ${err instanceof Error ? err.stack : String(err)}`);
    return 'bad';
  }
  let again: Buffer;
  try {
    again = encodeMessage(msg);
  } catch (err) {
    t.fail(`${label}: decoded but does not re-encode: ${String(err)}`);
    return 'bad';
  }
  if (exact && !again.equals(bytes)) {
    t.fail(`${label}: decoded but re-encodes differently`);
    return 'bad';
  }
  return 'ok';
}

function withLength(b: Buffer, n: number): Buffer {
  const c = Buffer.from(b.subarray(0, n));
  c.writeUInt16BE(n, 2);
  return c;
}

// ---------------------------------------------------------------------------------------------
// Hand-built round trips

t.test('hand-built messages of every kind: decode, encode byte-exact, decode(encode(m)) = m', async (t) => {
  const kinds = new Set<string>();
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const decoded = decodeMessage(c.bytes);
      t.strictSame(decoded, c.msg, 'decodes to the expected object');
      const encoded = encodeMessage(c.msg);
      t.equal(encoded.toString('hex'), c.bytes.toString('hex'), 'encodes to the hand-built bytes');
      t.strictSame(decodeMessage(encoded), c.msg, 'decode(encode(m)) = m');
    });
    kinds.add(`${c.msg.type}/${(c.msg as MultipartRequest | MultipartReply).body.kind}`);
  }
  // Every kind in both directions is covered above.
  for (const dir of ['MULTIPART_REQUEST', 'MULTIPART_REPLY']) {
    for (const kind of ['DESC', 'FLOW', 'AGGREGATE', 'TABLE', 'PORT_STATS', 'QUEUE', 'GROUP', 'GROUP_DESC',
      'GROUP_FEATURES', 'METER', 'METER_CONFIG', 'METER_FEATURES', 'TABLE_FEATURES', 'PORT_DESC', 'EXPERIMENTER']) {
      t.ok(kinds.has(`${dir}/${kind}`), `${dir} ${kind} has a hand-built case`);
    }
  }
});

t.test('table-features property padding is written as zeros and each property starts 8-aligned', async (t) => {
  const bytes = encodeMessage(request({ kind: 'TABLE_FEATURES', tables: [tableFeaturesObject] }));
  // Walk the properties by their length fields: each must be followed by zero padding up to 8.
  let p = 16 + 64;
  let count = 0;
  while (p < bytes.length) {
    t.equal(p % 8, 0, `property ${count} starts on an 8-byte boundary`);
    const len = bytes.readUInt16BE(p + 2);
    const padded = (len + 7) & ~7;
    t.ok(bytes.subarray(p + len, p + padded).every((b) => b === 0), `property ${count} padding is zero`);
    p += padded;
    count++;
  }
  t.equal(p, bytes.length, 'properties end exactly at the message end');
  t.equal(count, tableFeaturesObject.properties.length);
});

// ---------------------------------------------------------------------------------------------
// Truncation and corruption

t.test('truncation at every byte raises only OpenFlowError', async (t) => {
  for (const c of cases) {
    let errors = 0;
    for (let n = 0; n < c.bytes.length; n++) {
      // The header keeps claiming the full length: always BAD_LEN.
      const cut = c.bytes.subarray(0, n);
      try {
        decodeMessage(cut);
        t.fail(`${c.name}: ${n}-byte prefix decoded`);
      } catch (err) {
        if (!isOpenFlowError(err)) t.fail(`${c.name}: ${n}-byte prefix threw ${String(err)}`);
      }
      // The header agrees with the cut: the body decoder itself must stop at the end. A cut at
      // a list-entry boundary is a valid shorter message, and then must round-trip.
      if (n >= 8 && decodeSafely(t, withLength(c.bytes, n), `${c.name} cut at ${n}`, true) === 'error') errors++;
    }
    t.ok(errors > 0 || c.bytes.length <= 16, `${c.name}: truncations were rejected (${errors})`);
  }
});

t.test('every byte overwritten with 0x00 / 0xff / +1 raises only OpenFlowError or decodes re-encodably', async (t) => {
  for (const c of cases) {
    for (let i = 8; i < c.bytes.length; i++) {
      for (const v of [0x00, 0xff, (c.bytes[i]! + 1) & 0xff]) {
        const b = Buffer.from(c.bytes);
        b[i] = v;
        // Padding bytes may change, so only "re-encodable" is required, not byte-exactness.
        decodeSafely(t, b, `${c.name} byte ${i} = ${v}`, false);
      }
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Error paths

const BAD_REQUEST = ErrorType.BAD_REQUEST;
const BAD_LEN = ErrorCode.BAD_REQUEST['BAD_LEN']!;
const TF_FAILED = ErrorType.TABLE_FEATURES_FAILED;
const TF_BAD_LEN = ErrorCode.TABLE_FEATURES_FAILED['BAD_LEN']!;
const TF_BAD_TYPE = ErrorCode.TABLE_FEATURES_FAILED['BAD_TYPE']!;
const TF_BAD_ARGUMENT = ErrorCode.TABLE_FEATURES_FAILED['BAD_ARGUMENT']!;

/** A table-features request whose single entry holds exactly `props` (hex) after the fixed part. */
function tableWithProps(props: string): Buffer {
  const body = Buffer.concat([hex('0000 00 0000000000'), str('t', 32), hex('0000000000000000 0000000000000000 00000000 00000001'), hex(props)]);
  body.writeUInt16BE(body.length, 0);
  return req(12, 0, body);
}
const PROPS_AT = 16 + 64;

t.test('decode errors carry the right (type, code, offset)', async (t) => {
  expectError(t, () => decodeMessage(req(14, 0)), BAD_REQUEST, ErrorCode.BAD_REQUEST['BAD_MULTIPART']!, 8, 'unknown multipart request type 14');
  expectError(t, () => decodeMessage(rep(0xfffe, 0, '00000000')), BAD_REQUEST, ErrorCode.BAD_REQUEST['BAD_MULTIPART']!, 8, 'unknown multipart reply type 0xfffe');
  // Unknown type wins over a too-short multipart header.
  const shortUnknown = Buffer.from(hex('0412 000a 12345678 0020'));
  expectError(t, () => decodeMessage(shortUnknown), BAD_REQUEST, ErrorCode.BAD_REQUEST['BAD_MULTIPART']!, 8, 'unknown type in a truncated header');
  expectError(t, () => decodeMessage(hex('0412 000c 12345678 0000 0000')), BAD_REQUEST, BAD_LEN, 12, 'multipart header cut after flags');

  expectError(t, () => decodeMessage(req(0, 0, '00')), BAD_REQUEST, BAD_LEN, 16, 'DESC request with a body byte');
  expectError(t, () => decodeMessage(req(4, 0, '00000001')), BAD_REQUEST, BAD_LEN, 20, 'PORT_STATS request without its padding');
  expectError(t, () => decodeMessage(rep(0, 0, str('x', 256))), BAD_REQUEST, BAD_LEN, 16 + 256, 'DESC reply cut after one string');

  const flowEntry = '0038 00 00 | 00000001 00000000 | 0000 0000 0000 0000 | 00000000 | 0000000000000000 0000000000000000 0000000000000000';
  expectError(t, () => decodeMessage(rep(1, 0, '0037' + flowEntry.slice(4), MATCH_EMPTY)), BAD_REQUEST, BAD_LEN, 16, 'flow stats length below 56');
  expectError(t, () => decodeMessage(rep(1, 0, '0040' + flowEntry.slice(4), MATCH_EMPTY)), BAD_REQUEST, BAD_LEN, 16, 'flow stats length past the end');
  expectError(t, () => decodeMessage(rep(1, 0, flowEntry, MATCH_EMPTY, '00')), BAD_REQUEST, BAD_LEN, 72, 'one stray byte after a flow entry');
  expectError(t, () => decodeMessage(rep(1, 0, flowEntry, '0000 0004 0000 0000')), ErrorType.BAD_MATCH, ErrorCode.BAD_MATCH['BAD_TYPE']!, 64, 'flow stats with an OFPMT_STANDARD match');

  expectError(t, () => decodeMessage(rep(6, 0, '0030 0000 00000001 00000000 00000000 0000000000000000 0000000000000000 00000000 00000000 0000000000000000')),
    BAD_REQUEST, BAD_LEN, 16, 'group stats with half a bucket counter');
  expectError(t, () => decodeMessage(rep(6, 0, '0020 0000 00000001 00000000 00000000 0000000000000000 0000000000000000')),
    BAD_REQUEST, BAD_LEN, 16, 'group stats length below 40');
  expectError(t, () => decodeMessage(rep(7, 0, '0008 04 00 00000001')), ErrorType.GROUP_MOD_FAILED, ErrorCode.GROUP_MOD_FAILED['BAD_TYPE']!, 18, 'group desc of type 4');
  expectError(t, () => decodeMessage(rep(7, 0, '0004 00 00')), BAD_REQUEST, BAD_LEN, 16, 'group desc length below 8');
  expectError(t, () => decodeMessage(rep(9, 0, '00000001 0030 000000000000 00000000 0000000000000000 0000000000000000 00000000 00000000 0000000000000000')),
    BAD_REQUEST, BAD_LEN, 20, 'meter stats with half a band counter');
  expectError(t, () => decodeMessage(rep(9, 0, '00000001 0050 000000000000 00000000 0000000000000000 0000000000000000 00000000 00000000')),
    BAD_REQUEST, BAD_LEN, 20, 'meter stats length past the end');
  expectError(t, () => decodeMessage(rep(10, 0, '0006 0000 00000001')), BAD_REQUEST, BAD_LEN, 16, 'meter config length below 8');

  // Table features
  expectError(t, () => decodeMessage(rep(12, 0, '003f' + '00'.repeat(62))), BAD_REQUEST, BAD_LEN, 16, 'table features length below 64');
  expectError(t, () => decodeMessage(tableWithProps('0002 0003 0000 0000')), TF_FAILED, TF_BAD_LEN, PROPS_AT + 2, 'property length below 4');
  expectError(t, () => decodeMessage(tableWithProps('0002 0010 0102 0304')), TF_FAILED, TF_BAD_LEN, PROPS_AT + 2, 'property length past its entry');
  expectError(t, () => decodeMessage(tableWithProps('0002 0005 01 00')), TF_FAILED, TF_BAD_LEN, PROPS_AT + 5, 'property without its full padding');
  expectError(t, () => decodeMessage(tableWithProps('0002')), BAD_REQUEST, BAD_LEN, PROPS_AT + 2, 'property header cut in half');
  expectError(t, () => decodeMessage(tableWithProps('0000 0008 0001 0003')), TF_FAILED, TF_BAD_LEN, PROPS_AT + 6, 'instruction id length 3');
  expectError(t, () => decodeMessage(tableWithProps('0000 0008 ffff 0008')), TF_FAILED, TF_BAD_LEN, PROPS_AT + 6, 'experimenter instruction id past its property');
  expectError(t, () => decodeMessage(tableWithProps('0004 0006 0000 0000')), TF_FAILED, TF_BAD_LEN, PROPS_AT + 4, 'action id cut to 2 bytes');
  expectError(t, () => decodeMessage(tableWithProps('0008 0006 8000 0000')), TF_FAILED, TF_BAD_LEN, PROPS_AT + 4, 'OXM id cut to 2 bytes');
  expectError(t, () => decodeMessage(tableWithProps('0008 0008 ffff 0204')), TF_FAILED, TF_BAD_LEN, PROPS_AT + 4, 'experimenter OXM id without its experimenter');
  expectError(t, () => decodeMessage(tableWithProps('fffe 000a 0000 2320 0000 | 0000 0000 0000')), TF_FAILED, TF_BAD_LEN, PROPS_AT + 2, 'experimenter property shorter than 12');
});

t.test('encode errors are OpenFlowErrors naming the problem', async (t) => {
  const badKind = { type: 'MULTIPART_REQUEST', xid: 1, flags: 0, body: { kind: 'NOPE' } } as unknown as Message;
  expectError(t, () => encodeMessage(badKind), BAD_REQUEST, ErrorCode.BAD_REQUEST['BAD_MULTIPART']!, 8, 'unknown kind');
  const inherited = { type: 'MULTIPART_REPLY', xid: 1, flags: 0, body: { kind: 'toString' } } as unknown as Message;
  expectError(t, () => encodeMessage(inherited), BAD_REQUEST, ErrorCode.BAD_REQUEST['BAD_MULTIPART']!, 8, 'inherited property name as kind');

  const desc = reply({ kind: 'DESC', mfrDesc: 'x', hwDesc: 'y'.repeat(257), swDesc: '', serialNum: '', dpDesc: '' });
  expectError(t, () => encodeMessage(desc), BAD_REQUEST, BAD_LEN, 16 + 256, 'hwDesc longer than 256 bytes');
  const longSerial = reply({ kind: 'DESC', mfrDesc: '', hwDesc: '', swDesc: '', serialNum: 's'.repeat(33), dpDesc: '' });
  expectError(t, () => encodeMessage(longSerial), BAD_REQUEST, BAD_LEN, 16 + 768, 'serialNum longer than 32 bytes');
  // Exactly filling a field (no NUL) is accepted and read back whole.
  const full = reply({ kind: 'DESC', mfrDesc: 'm'.repeat(256), hwDesc: '', swDesc: '', serialNum: 's'.repeat(32), dpDesc: '' });
  t.strictSame(decodeMessage(encodeMessage(full)), full, 'full-width strings round-trip');

  const gf = reply({ kind: 'GROUP_FEATURES', types: 0, capabilities: 0, maxGroups: [1, 2, 3] as unknown as [number, number, number, number], actions: [0, 0, 0, 0] });
  expectError(t, () => encodeMessage(gf), BAD_REQUEST, BAD_LEN, 24, 'maxGroups with 3 values');
  const gd = reply({ kind: 'GROUP_DESC', groups: [{ groupType: 'FAST' as 'FF', groupId: 1, buckets: [] }] });
  expectError(t, () => encodeMessage(gd), ErrorType.GROUP_MOD_FAILED, ErrorCode.GROUP_MOD_FAILED['BAD_TYPE']!, 18, 'unknown group type');

  const withProp = (p: unknown): Message =>
    request({ kind: 'TABLE_FEATURES', tables: [{ ...tableFeaturesObject, properties: [p as TableFeatures['properties'][number]] }] });
  expectError(t, () => encodeMessage(withProp({ type: 'NOPE', data: hex('') })), TF_FAILED, TF_BAD_TYPE, PROPS_AT, 'unknown property type');
  expectError(t, () => encodeMessage(withProp({ type: 'UNKNOWN', code: 8, data: hex('') })), TF_FAILED, TF_BAD_TYPE, PROPS_AT, 'UNKNOWN with the MATCH code');
  expectError(t, () => encodeMessage(withProp({ type: 'UNKNOWN', code: 0x10000, data: hex('') })), TF_FAILED, TF_BAD_TYPE, PROPS_AT, 'UNKNOWN code over 16 bits');
  expectError(t, () => encodeMessage(withProp({ type: 'INSTRUCTIONS', instructionIds: [{ type: 'JUMP' }] })), TF_FAILED, TF_BAD_ARGUMENT, PROPS_AT + 4, 'unknown instruction name');
  expectError(t, () => encodeMessage(withProp({ type: 'INSTRUCTIONS', instructionIds: [{ type: 1 }] })), TF_FAILED, TF_BAD_ARGUMENT, PROPS_AT + 4, 'known instruction code given as a number');
  expectError(t, () => encodeMessage(withProp({ type: 'APPLY_ACTIONS', actionIds: [{ type: 'OUTPUT', experimenter: 1 }] })), TF_FAILED, TF_BAD_ARGUMENT, PROPS_AT + 4, 'experimenter id on OUTPUT');
  expectError(t, () => encodeMessage(withProp({ type: 'APPLY_ACTIONS', actionIds: [{ type: 'EXPERIMENTER', data: hex('00002320') }] })), TF_FAILED, TF_BAD_ARGUMENT, PROPS_AT + 4, 'experimenter action id without its experimenter');
  expectError(t, () => encodeMessage(withProp({ type: 'MATCH', oxmIds: [{ field: 'eth_foo', hasMask: false, length: 6 }] })), TF_FAILED, TF_BAD_ARGUMENT, PROPS_AT + 4, 'unknown OXM field name');
  expectError(t, () => encodeMessage(withProp({ type: 'MATCH', oxmIds: [{ field: 'opaque', oxmClass: 0x8000, oxmField: 3, hasMask: false, length: 6 }] })), TF_FAILED, TF_BAD_ARGUMENT, PROPS_AT + 4, 'known basic field as opaque');
  expectError(t, () => encodeMessage(withProp({ type: 'MATCH', oxmIds: [{ field: 'opaque', oxmClass: 0xffff, oxmField: 3, hasMask: false, length: 6 }] })), TF_FAILED, TF_BAD_ARGUMENT, PROPS_AT + 4, 'experimenter OXM id without experimenter');
  expectError(t, () => encodeMessage(withProp({ type: 'MATCH', oxmIds: [{ field: 'opaque', oxmClass: 1, oxmField: 3, hasMask: false, length: 6, experimenter: 9 }] })), TF_FAILED, TF_BAD_ARGUMENT, PROPS_AT + 4, 'experimenter on an NXM OXM id');
  expectError(t, () => encodeMessage(withProp({ type: 'MATCH', oxmIds: [{ field: 'in_port', hasMask: false, length: 256 }] })), TF_FAILED, TF_BAD_ARGUMENT, PROPS_AT + 4, 'OXM id length over 8 bits');
  const wideName = request({ kind: 'TABLE_FEATURES', tables: [{ ...tableFeaturesObject, name: 'table \u79c1' }] });
  expectError(t, () => encodeMessage(wideName), BAD_REQUEST, BAD_LEN, 24, 'table name with a char above U+00FF');
  const longName = request({ kind: 'TABLE_FEATURES', tables: [{ ...tableFeaturesObject, name: 'n'.repeat(33) }] });
  expectError(t, () => encodeMessage(longName), BAD_REQUEST, BAD_LEN, 24, 'table name longer than 32 bytes');
});

// ---------------------------------------------------------------------------------------------
// Real vectors (Ryu's of13 packet data: OVS, LINC and Ryu generated messages)

interface ManifestEntry { packet: string; type: number; multipart_name?: string }

t.test('Ryu multipart vectors decode and re-encode byte-exact', async (t) => {
  const dir = ryuVectorsDir();
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { packet_entries: ManifestEntry[] };
  const entries = manifest.packet_entries.filter((e) => e.type === 18 || e.type === 19);
  t.equal(entries.filter((e) => e.type === 18).length, 16, '16 MULTIPART_REQUEST vectors');
  t.equal(entries.filter((e) => e.type === 19).length, 15, '15 MULTIPART_REPLY vectors');
  const decoded = new Map<string, Message>();
  for (const e of entries) {
    const bytes = readFileSync(join(dir, e.packet));
    t.test(e.packet, async (t) => {
      const msg = roundTrip(t, bytes, e.packet);
      if (msg) decoded.set(e.packet, msg);
      const kind = (msg as MultipartRequest | undefined)?.body.kind;
      t.equal(`OFPMP_${kind}`, e.multipart_name, 'kind matches the manifest');
      // Truncations of a real vector: only OpenFlowErrors (or a valid shorter message). Every
      // byte of the first 2 KiB; beyond that (the 11 KiB table-features vectors repeat the same
      // structures) every 13th, to keep the suite quick on a shared machine.
      for (let n = 8; n < bytes.length; n += n < 2048 ? 1 : 13) {
        decodeSafely(t, withLength(bytes, n), `${e.packet} cut at ${n}`, true);
      }
    });
  }

  t.test('spot checks against the vectors\' known content', async (t) => {
    const desc = decoded.get('packet/4-0-ofp_desc_reply.packet') as MultipartReply | undefined;
    t.match(desc?.body, { kind: 'DESC', mfrDesc: 'mfr', hwDesc: 'hw', swDesc: 'sw', serialNum: 'serial', dpDesc: 'dp' });
    const tf = decoded.get('packet/4-56-ofp_table_features_reply.packet') as MultipartReply | undefined;
    const tables = tf?.body.kind === 'TABLE_FEATURES' ? tf.body.tables : [];
    t.ok(tables.length > 1, `table features reply lists ${tables.length} tables`);
    const first = tables[0];
    t.equal(first?.maxEntries, 16777216);
    t.equal(first?.metadataMatch, 0xffffffffffffffffn);
    // The name is UTF-8 bytes on the wire; it is read as latin1 so it round-trips exactly.
    t.equal(Buffer.from(first?.name ?? '', 'latin1').toString('utf8'), '\u79c1\u306e\u30c6\u30fc\u30d6\u30eb');
    t.same(first?.properties[0], { type: 'INSTRUCTIONS', instructionIds: ['GOTO_TABLE', 'WRITE_METADATA', 'WRITE_ACTIONS', 'APPLY_ACTIONS', 'CLEAR_ACTIONS', 'METER'].map((type) => ({ type })) });
    const next = first?.properties[1];
    t.same(next?.type === 'NEXT_TABLES' ? next.tableIds : null, Array.from({ length: 254 }, (_, i) => i + 1));
    const match = first?.properties.find((p) => p.type === 'MATCH');
    t.same(match?.type === 'MATCH' ? match.oxmIds[0] : null, { field: 'in_port', hasMask: false, length: 0 });
    t.same(first?.properties.filter((p) => p.type === 'EXPERIMENTER').map((p) => (p.type === 'EXPERIMENTER' ? p.data.length : -1)), [0, 4, 8]);
    const exp = decoded.get('packet/4-61-ofp_experimenter_request.packet') as MultipartRequest | undefined;
    t.match(exp?.body, { kind: 'EXPERIMENTER', experimenter: 0xdeadbeaf, expType: 0xcafe8888 });
    t.equal(exp?.body.kind === 'EXPERIMENTER' ? exp.body.data.toString() : '', 'hogehoge');
  });
});

// ---------------------------------------------------------------------------------------------

t.test('a 100-entry flow-stats reply round-trips', async (t) => {
  const flows = Array.from({ length: 100 }, (_, i) => ({
    tableId: i % 4, durationSec: i, durationNsec: i * 1000, priority: 1000 + i, idleTimeout: 0,
    hardTimeout: 0, flags: 0, cookie: BigInt(i) << 32n, packetCount: BigInt(i * 10), byteCount: BigInt(i * 1500),
    match: { fields: [{ field: 'in_port' as const, value: i + 1 }, { field: 'eth_type' as const, value: 0x0800 }] },
    instructions: [{ type: 'APPLY_ACTIONS' as const, actions: [{ type: 'OUTPUT' as const, port: 100 - i, maxLen: 0 }] }],
  }));
  const msg = reply({ kind: 'FLOW', flows });
  const bytes = encodeMessage(msg);
  t.equal(bytes.length, 16 + 100 * (48 + 24 + 24), 'each entry is 96 bytes');
  t.strictSame(decodeMessage(bytes), msg);
  t.ok(encodeMessage(decodeMessage(bytes)).equals(bytes));
});
