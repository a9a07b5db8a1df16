// Actions and instructions: byte-exact round trips of every kind (hex built by hand from the
// openflow.h layouts), every error path with its (type, code, offset), truncation.
import t from 'tap';
import { OpenFlowError } from '../../src/openflow/errors.js';
import { hex, throwsOfp } from '../util/openflow-asserts.js';
import { BufferReader } from '../../src/openflow/reader.js';
import { BufferWriter } from '../../src/openflow/writer.js';
import { readActions, readInstructions } from '../../src/openflow/decode/actions.js';
import { writeActions, writeInstructions } from '../../src/openflow/encode/actions.js';
import { ActionTypeCode, actionTypeName, InstructionTypeCode, instructionTypeName } from '../../src/openflow/struct-codes.js';
import type { Action, Instruction } from '../../src/openflow/types/actions.js';



const decodeActions = (b: Buffer): Action[] => readActions(new BufferReader(b), b.length);
const decodeInstructions = (b: Buffer): Instruction[] => readInstructions(new BufferReader(b), b.length);
function encodeActions(a: Action[]): Buffer {
  const w = new BufferWriter(8);
  writeActions(w, a);
  return w.toBuffer();
}
function encodeInstructions(i: Instruction[]): Buffer {
  const w = new BufferWriter(8);
  writeInstructions(w, i);
  return w.toBuffer();
}

const ACTION_VECTORS: Array<[string, Action]> = [
  ['0000 0010 00000001 ffe5 000000000000', { type: 'OUTPUT', port: 1, maxLen: 0xffe5 }],
  ['0000 0010 fffffffd ffff 000000000000', { type: 'OUTPUT', port: 0xfffffffd, maxLen: 0xffff }],
  ['000b 0008 00000000', { type: 'COPY_TTL_OUT' }],
  ['000c 0008 00000000', { type: 'COPY_TTL_IN' }],
  ['000f 0008 40 000000', { type: 'SET_MPLS_TTL', mplsTtl: 64 }],
  ['0010 0008 00000000', { type: 'DEC_MPLS_TTL' }],
  ['0011 0008 8100 0000', { type: 'PUSH_VLAN', ethertype: 0x8100 }],
  ['0012 0008 00000000', { type: 'POP_VLAN' }],
  ['0013 0008 8847 0000', { type: 'PUSH_MPLS', ethertype: 0x8847 }],
  ['0014 0008 0800 0000', { type: 'POP_MPLS', ethertype: 0x0800 }],
  ['0015 0008 00000003', { type: 'SET_QUEUE', queueId: 3 }],
  ['0016 0008 fffffffc', { type: 'GROUP', groupId: 0xfffffffc }],
  ['0017 0008 3f 000000', { type: 'SET_NW_TTL', nwTtl: 63 }],
  ['0018 0008 00000000', { type: 'DEC_NW_TTL' }],
  ['0019 0010 80000606 aabbccddeeff 0000', { type: 'SET_FIELD', field: { field: 'eth_dst', value: 'aa:bb:cc:dd:ee:ff' } }],
  ['0019 0010 80000c02 1005 000000000000', { type: 'SET_FIELD', field: { field: 'vlan_vid', value: 0x1005 } }],
  ['0019 0010 80001001 2e 00000000000000', { type: 'SET_FIELD', field: { field: 'ip_dscp', value: 46 } }],
  ['0019 0010 80001604 0a000001 00000000', { type: 'SET_FIELD', field: { field: 'ipv4_src', value: '10.0.0.1' } }],
  ['0019 0010 80004c08 0000000000000064', { type: 'SET_FIELD', field: { field: 'tunnel_id', value: 100n } }],
  ['0019 0018 80003410 fe800000000000000000000000000001', { type: 'SET_FIELD', field: { field: 'ipv6_src', value: 'fe80::1' } }],
  ['0019 0010 00010004 0000000a 00000000', { type: 'SET_FIELD', field: { field: 'opaque', oxmClass: 1, oxmField: 0, hasMask: false, data: hex('0000000a') } }],
  ['001a 0008 88e7 0000', { type: 'PUSH_PBB', ethertype: 0x88e7 }],
  ['001b 0008 00000000', { type: 'POP_PBB' }],
  // Nicira NXAST_RESUBMIT_TABLE: subtype 14, in_port IN_PORT, table 3 (all of it opaque to us).
  ['ffff 0010 00002320 000e fff8 03 000000', { type: 'EXPERIMENTER', experimenter: 0x2320, data: hex('000efff803000000') }],
  ['ffff 0008 00002320', { type: 'EXPERIMENTER', experimenter: 0x2320, data: Buffer.alloc(0) }],
  // Bytes that are not zero where a padding would be: experimenter data is kept as is.
  ['ffff 0018 00002320 0020 0001 0002 0003 0004 0005 0006 0007', { type: 'EXPERIMENTER', experimenter: 0x2320, data: hex('00200001000200030004000500060007') }],
];

const WRITE_ACTIONS_BODY = '0000 0010 00000002 0000 000000000000';
const INSTRUCTION_VECTORS: Array<[string, Instruction]> = [
  ['0001 0008 05 000000', { type: 'GOTO_TABLE', tableId: 5 }],
  ['0002 0018 00000000 0123456789abcdef ffffffffffffff00', { type: 'WRITE_METADATA', metadata: 0x0123456789abcdefn, metadataMask: 0xffffffffffffff00n }],
  [`0003 0018 00000000 ${WRITE_ACTIONS_BODY}`, { type: 'WRITE_ACTIONS', actions: [{ type: 'OUTPUT', port: 2, maxLen: 0 }] }],
  ['0004 0008 00000000', { type: 'APPLY_ACTIONS', actions: [] }],
  ['0004 0030 00000000 0012 0008 00000000 0019 0010 80000606 aabbccddeeff 0000 0000 0010 fffffffb 0000 000000000000', {
    type: 'APPLY_ACTIONS',
    actions: [
      { type: 'POP_VLAN' },
      { type: 'SET_FIELD', field: { field: 'eth_dst', value: 'aa:bb:cc:dd:ee:ff' } },
      { type: 'OUTPUT', port: 0xfffffffb, maxLen: 0 },
    ],
  }],
  ['0005 0008 00000000', { type: 'CLEAR_ACTIONS' }],
  ['0006 0008 00000001', { type: 'METER', meterId: 1 }],
  ['ffff 0010 00002320 0102030405060708', { type: 'EXPERIMENTER', experimenter: 0x2320, data: hex('0102030405060708') }],
  ['ffff 0008 4f4e4600', { type: 'EXPERIMENTER', experimenter: 0x4f4e4600, data: Buffer.alloc(0) }],
];

t.test('codes', (t) => {
  for (const [name, code] of Object.entries(ActionTypeCode)) t.equal(actionTypeName(code), name);
  for (const [name, code] of Object.entries(InstructionTypeCode)) t.equal(instructionTypeName(code), name);
  t.equal(actionTypeName(1), undefined, 'OpenFlow 1.0 SET_VLAN_VID is not an OpenFlow 1.3 action');
  t.equal(instructionTypeName(7), undefined);
  // Every action and instruction kind has a vector.
  for (const name of Object.keys(ActionTypeCode)) t.ok(ACTION_VECTORS.some(([, a]) => a.type === name), `vector for ${name}`);
  for (const name of Object.keys(InstructionTypeCode)) t.ok(INSTRUCTION_VECTORS.some(([, i]) => i.type === name), `vector for ${name}`);
  t.end();
});

t.test('every action round trips byte-exactly', (t) => {
  for (const [h, action] of ACTION_VECTORS) {
    const b = hex(h);
    t.equal(b.readUInt16BE(2), b.length, `${action.type}: vector len field`);
    t.strictSame(decodeActions(b), [action], `${action.type} decodes`);
    t.equal(encodeActions([action]).toString('hex'), b.toString('hex'), `${action.type} encodes`);
  }
  const all = hex(ACTION_VECTORS.map(([h]) => h).join(''));
  const list = decodeActions(all);
  t.equal(list.length, ACTION_VECTORS.length);
  t.equal(encodeActions(list).toString('hex'), all.toString('hex'), 'whole list round trips');
  t.strictSame(decodeActions(Buffer.alloc(0)), [], 'empty list');

  // readActions reads exactly `length` bytes and leaves the cursor after them.
  const msg = Buffer.concat([hex('aabbccdd'), all, hex('eeff')]);
  const r = new BufferReader(msg, 4, msg.length, 0);
  t.equal(readActions(r, all.length).length, ACTION_VECTORS.length);
  t.equal(r.pos, 4 + all.length);
  t.equal(r.end, msg.length, 'reader end restored');
  t.end();
});

t.test('every instruction round trips byte-exactly', (t) => {
  for (const [h, ins] of INSTRUCTION_VECTORS) {
    const b = hex(h);
    t.equal(b.readUInt16BE(2), b.length, `${ins.type}: vector len field`);
    t.strictSame(decodeInstructions(b), [ins], `${ins.type} decodes`);
    t.equal(encodeInstructions([ins]).toString('hex'), b.toString('hex'), `${ins.type} encodes`);
  }
  const all = hex(INSTRUCTION_VECTORS.map(([h]) => h).join(''));
  t.equal(encodeInstructions(decodeInstructions(all)).toString('hex'), all.toString('hex'), 'whole list round trips');
  t.end();
});

t.test('action decode errors', (t) => {
  const cases: Array<[string, string, string, number, string]> = [
    ['0001 0008 00000000', 'BAD_ACTION', 'BAD_TYPE', 0, 'OpenFlow 1.0 action code'],
    ['001c 0008 00000000', 'BAD_ACTION', 'BAD_TYPE', 0, 'code 28'],
    ['fffe 0008 00000000', 'BAD_ACTION', 'BAD_TYPE', 0, 'code 0xfffe'],
    ['0000 00', 'BAD_ACTION', 'BAD_LEN', 0, 'header cut'],
    ['0012 0008 0000', 'BAD_ACTION', 'BAD_LEN', 0, 'shorter than 8'],
    ['0000 0004 00000000', 'BAD_ACTION', 'BAD_LEN', 2, 'len 4'],
    ['0000 0000 00000000', 'BAD_ACTION', 'BAD_LEN', 2, 'len 0'],
    ['0000 000c 00000000 00000000', 'BAD_ACTION', 'BAD_LEN', 2, 'len not a multiple of 8'],
    ['0000 0018 00000001 0000 000000000000', 'BAD_ACTION', 'BAD_LEN', 2, 'len past the end'],
    ['0000 0008 00000001', 'BAD_ACTION', 'BAD_LEN', 2, 'OUTPUT of 8 bytes'],
    ['0012 0010 00000000 00000000', 'BAD_ACTION', 'BAD_LEN', 2, 'POP_VLAN of 16 bytes'],
    ['0016 0010 00000001 00000000', 'BAD_ACTION', 'BAD_LEN', 2, 'GROUP of 16 bytes'],
    ['0000 0010 00000001 0000 000000000000 0012 0000 00000000', 'BAD_ACTION', 'BAD_LEN', 18, 'second action bad'],
    ['ffff 000c 00002320 00000000', 'BAD_ACTION', 'BAD_LEN', 2, 'experimenter len 12'],
    ['0019 0018 80000606 aabbccddeeff 0000 0000000000000000', 'BAD_ACTION', 'BAD_SET_LEN', 2, 'set-field with extra padding'],
    ['0019 0008 80000606', 'BAD_ACTION', 'BAD_SET_LEN', 2, 'set-field shorter than its OXM'],
    ['0019 0010 80000602 aabb 000000000000', 'BAD_ACTION', 'BAD_SET_LEN', 7, 'set-field eth_dst of 2 bytes'],
    ['0019 0008 80000600', 'BAD_ACTION', 'BAD_SET_LEN', 7, 'set-field OXM length 0'],
    ['0019 0010 ffff0002 abcd 000000000000', 'BAD_ACTION', 'BAD_SET_LEN', 7, 'set-field experimenter OXM without id'],
    ['0019 0018 8000070c aabbccddeeff ffffffffffff 00000000', 'BAD_ACTION', 'BAD_SET_ARGUMENT', 4, 'masked set-field'],
    ['0019 0010 00010308 00000001 000000ff', 'BAD_ACTION', 'BAD_SET_ARGUMENT', 4, 'masked NXM set-field'],
  ];
  for (const [h, type, code, offset, label] of cases) throwsOfp(t, () => decodeActions(hex(h)), type, code, offset, label);

  const eight = hex('0012 0008 00000000');
  throwsOfp(t, () => readActions(new BufferReader(eight), 16), 'BAD_ACTION', 'BAD_LEN', 0, 'list longer than the message');
  throwsOfp(t, () => readActions(new BufferReader(eight), -1), 'BAD_ACTION', 'BAD_LEN', 0, 'negative list length');
  throwsOfp(t, () => readActions(new BufferReader(hex('0000 0010 00000001 ffe5 000000000000')), 8), 'BAD_ACTION', 'BAD_LEN', 2, 'action runs past the list');
  // Offsets are relative to the message (reader base).
  const inMsg = Buffer.concat([Buffer.alloc(24), hex('0001 0008 00000000')]);
  throwsOfp(t, () => readActions(new BufferReader(inMsg, 24, inMsg.length, 0), 8), 'BAD_ACTION', 'BAD_TYPE', 24, 'offset within a message');
  t.end();
});

t.test('instruction decode errors', (t) => {
  const cases: Array<[string, string, string, number, string]> = [
    ['0007 0008 00000000', 'BAD_INSTRUCTION', 'UNKNOWN_INST', 0, 'code 7'],
    ['0000 0008 00000000', 'BAD_INSTRUCTION', 'UNKNOWN_INST', 0, 'code 0'],
    ['0001', 'BAD_INSTRUCTION', 'BAD_LEN', 0, 'header cut'],
    ['0001 0004 05000000', 'BAD_INSTRUCTION', 'BAD_LEN', 2, 'len 4'],
    ['0001 000c 05000000 00000000', 'BAD_INSTRUCTION', 'BAD_LEN', 2, 'len 12'],
    ['0004 0018 00000000', 'BAD_INSTRUCTION', 'BAD_LEN', 2, 'len past the end'],
    ['0001 0010 05000000 00000000', 'BAD_INSTRUCTION', 'BAD_LEN', 2, 'GOTO_TABLE of 16'],
    ['0002 0010 00000000 0000000000000001', 'BAD_INSTRUCTION', 'BAD_LEN', 2, 'WRITE_METADATA of 16'],
    ['0005 0010 00000000 00000000', 'BAD_INSTRUCTION', 'BAD_LEN', 2, 'CLEAR_ACTIONS of 16'],
    ['0006 0010 00000001 00000000', 'BAD_INSTRUCTION', 'BAD_LEN', 2, 'METER of 16'],
    ['0001 0008 05000000 0006 0018 00000001', 'BAD_INSTRUCTION', 'BAD_LEN', 10, 'second instruction bad'],
    ['0004 0010 00000000 0000 0010 00000001', 'BAD_ACTION', 'BAD_LEN', 10, 'action runs past its instruction'],
    ['0004 0010 00000000 0001 0008 00000000', 'BAD_ACTION', 'BAD_TYPE', 8, 'unknown action inside APPLY_ACTIONS'],
    ['0003 0018 00000000 0019 0010 80000602 aabb 000000000000', 'BAD_ACTION', 'BAD_SET_LEN', 15, 'bad set-field inside WRITE_ACTIONS'],
  ];
  for (const [h, type, code, offset, label] of cases) throwsOfp(t, () => decodeInstructions(hex(h)), type, code, offset, label);
  throwsOfp(t, () => readInstructions(new BufferReader(hex('0005 0008 00000000')), 9), 'BAD_INSTRUCTION', 'BAD_LEN', 0, 'list longer than the message');
  t.end();
});

t.test('truncation at every byte raises OpenFlowError', (t) => {
  for (const [label, vectors, decode] of [
    ['actions', ACTION_VECTORS.map(([h]) => h), (r: BufferReader, n: number) => readActions(r, n)],
    ['instructions', INSTRUCTION_VECTORS.map(([h]) => h), (r: BufferReader, n: number) => readInstructions(r, n)],
  ] as const) {
    const full = hex(vectors.join(''));
    const boundaries = new Set<number>([0]);
    let at = 0;
    for (const h of vectors) boundaries.add((at += hex(h).length));
    let bad = 0;
    for (let n = 0; n < full.length; n++) {
      const cut = full.subarray(0, n);
      // The list claims its full length, but the message ends early.
      try {
        decode(new BufferReader(cut), full.length);
        bad++;
      } catch (err) {
        if (!(err instanceof OpenFlowError)) bad++;
      }
      // The list length itself is cut: only cuts between elements give a (shorter) list.
      try {
        const list = decode(new BufferReader(cut), n);
        if (!boundaries.has(n)) bad++;
        else if (list.length !== [...boundaries].filter((b) => b > 0 && b <= n).length) bad++;
      } catch (err) {
        if (!(err instanceof OpenFlowError) || boundaries.has(n)) bad++;
      }
    }
    t.equal(bad, 0, `${label}: ${full.length} cuts, each rejected with OpenFlowError unless between elements`);
  }
  t.end();
});

t.test('action encode errors', (t) => {
  const cases: Array<[unknown, string, string]> = [
    [{ type: 'OUTPUT', port: -1, maxLen: 0 }, 'BAD_ACTION', 'BAD_OUT_PORT'],
    [{ type: 'OUTPUT', port: 2 ** 32, maxLen: 0 }, 'BAD_ACTION', 'BAD_OUT_PORT'],
    [{ type: 'OUTPUT', port: 1 }, 'BAD_ACTION', 'BAD_ARGUMENT'],
    [{ type: 'OUTPUT', port: 1, maxLen: 65536 }, 'BAD_ACTION', 'BAD_ARGUMENT'],
    [{ type: 'SET_MPLS_TTL', mplsTtl: 256 }, 'BAD_ACTION', 'BAD_ARGUMENT'],
    [{ type: 'SET_NW_TTL', nwTtl: -1 }, 'BAD_ACTION', 'BAD_ARGUMENT'],
    [{ type: 'PUSH_VLAN', ethertype: 0x10000 }, 'BAD_ACTION', 'BAD_ARGUMENT'],
    [{ type: 'PUSH_MPLS', ethertype: '0x8847' }, 'BAD_ACTION', 'BAD_ARGUMENT'],
    [{ type: 'POP_MPLS', ethertype: 1.5 }, 'BAD_ACTION', 'BAD_ARGUMENT'],
    [{ type: 'PUSH_PBB', ethertype: null }, 'BAD_ACTION', 'BAD_ARGUMENT'],
    [{ type: 'SET_QUEUE', queueId: '1' }, 'BAD_ACTION', 'BAD_QUEUE'],
    [{ type: 'GROUP', groupId: 2 ** 32 }, 'BAD_ACTION', 'BAD_OUT_GROUP'],
    [{ type: 'SET_FIELD', field: { field: 'eth_dstt', value: 'aa:bb:cc:dd:ee:ff' } }, 'BAD_ACTION', 'BAD_SET_TYPE'],
    [{ type: 'SET_FIELD' }, 'BAD_ACTION', 'BAD_SET_TYPE'],
    [{ type: 'SET_FIELD', field: { field: 'eth_dst', value: 'aa:bb:cc:dd:ee' } }, 'BAD_ACTION', 'BAD_SET_ARGUMENT'],
    [{ type: 'SET_FIELD', field: { field: 'vlan_vid', value: 0x10000 } }, 'BAD_ACTION', 'BAD_SET_ARGUMENT'],
    [{ type: 'SET_FIELD', field: { field: 'eth_dst', value: 'aa:bb:cc:dd:ee:ff', mask: 'ff:ff:ff:ff:ff:ff' } }, 'BAD_ACTION', 'BAD_SET_ARGUMENT'],
    [{ type: 'SET_FIELD', field: { field: 'opaque', oxmClass: 1, oxmField: 0, hasMask: true, data: hex('0000000100000001') } }, 'BAD_ACTION', 'BAD_SET_ARGUMENT'],
    [{ type: 'SET_FIELD', field: { field: 'opaque', oxmClass: 1, oxmField: 0, hasMask: false, data: Buffer.alloc(0) } }, 'BAD_ACTION', 'BAD_SET_LEN'],
    [{ type: 'EXPERIMENTER', experimenter: 0x2320, data: hex('000102') }, 'BAD_ACTION', 'BAD_LEN'],
    [{ type: 'EXPERIMENTER', experimenter: 0x2320, data: Buffer.alloc(65528) }, 'BAD_ACTION', 'BAD_LEN'],
    [{ type: 'EXPERIMENTER', experimenter: 0x2320, data: '00' }, 'BAD_ACTION', 'BAD_LEN'],
    [{ type: 'EXPERIMENTER', experimenter: -1, data: Buffer.alloc(0) }, 'BAD_ACTION', 'BAD_EXPERIMENTER'],
    [{ type: 'SET_VLAN_VID', vlanVid: 1 }, 'BAD_ACTION', 'BAD_TYPE'],
    [null, 'BAD_ACTION', 'BAD_TYPE'],
  ];
  for (const [action, type, code] of cases) {
    const w = new BufferWriter(8);
    w.u32(0x01020304);
    // Set-field errors point at the OXM TLV, after the 4-byte action header.
    const offset = (action as Action | null)?.type === 'SET_FIELD' ? 16 : 12;
    throwsOfp(t, () => writeActions(w, [{ type: 'POP_VLAN' }, action as Action]), type, code, offset, `encode ${JSON.stringify(action)?.slice(0, 80)}`);
    t.equal(w.pos, 4, 'writer restored');
  }
  throwsOfp(t, () => writeActions(new BufferWriter(), {} as Action[]), 'BAD_ACTION', 'BAD_LEN', 0, 'not an array');
  t.end();
});

t.test('instruction encode errors', (t) => {
  const cases: Array<[unknown, string, string, number]> = [
    [{ type: 'GOTO_TABLE', tableId: 256 }, 'BAD_INSTRUCTION', 'BAD_TABLE_ID', 12],
    [{ type: 'WRITE_METADATA', metadata: 1, metadataMask: 1n }, 'BAD_INSTRUCTION', 'UNSUP_METADATA', 12],
    [{ type: 'WRITE_METADATA', metadata: 1n, metadataMask: -1n }, 'BAD_INSTRUCTION', 'UNSUP_METADATA_MASK', 12],
    [{ type: 'WRITE_METADATA', metadata: 1n << 64n, metadataMask: 1n }, 'BAD_INSTRUCTION', 'UNSUP_METADATA', 12],
    [{ type: 'METER', meterId: -1 }, 'METER_MOD_FAILED', 'INVALID_METER', 12],
    [{ type: 'EXPERIMENTER', experimenter: 1, data: hex('01020304') }, 'BAD_INSTRUCTION', 'BAD_LEN', 12],
    [{ type: 'EXPERIMENTER', experimenter: 'x', data: Buffer.alloc(0) }, 'BAD_INSTRUCTION', 'BAD_EXPERIMENTER', 12],
    [{ type: 'GOTO', tableId: 1 }, 'BAD_INSTRUCTION', 'UNKNOWN_INST', 12],
    [undefined, 'BAD_INSTRUCTION', 'UNKNOWN_INST', 12],
    [{ type: 'APPLY_ACTIONS', actions: [{ type: 'POP_VLAN' }, { type: 'GROUP', groupId: -5 }] }, 'BAD_ACTION', 'BAD_OUT_GROUP', 28],
    [{ type: 'WRITE_ACTIONS' }, 'BAD_ACTION', 'BAD_LEN', 20],
    [{ type: 'APPLY_ACTIONS', actions: Array.from({ length: 4096 }, () => ({ type: 'OUTPUT', port: 1, maxLen: 0 })) }, 'BAD_INSTRUCTION', 'BAD_LEN', 12],
  ];
  for (const [ins, type, code, offset] of cases) {
    const w = new BufferWriter(8);
    w.u32(0x01020304);
    throwsOfp(t, () => writeInstructions(w, [{ type: 'CLEAR_ACTIONS' }, ins as Instruction]), type, code, offset, `encode ${JSON.stringify(ins, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))?.slice(0, 80)}`);
    t.equal(w.pos, 4, 'writer restored');
  }
  t.end();
});

t.test('objects survive encode then decode', (t) => {
  const instructions: Instruction[] = [
    { type: 'METER', meterId: 0xffff0000 },
    { type: 'APPLY_ACTIONS', actions: [
      { type: 'PUSH_VLAN', ethertype: 0x88a8 },
      { type: 'SET_FIELD', field: { field: 'vlan_vid', value: 0x1000 | 42 } },
      { type: 'SET_FIELD', field: { field: 'ipv6_nd_target', value: '2001:db8::ff00:42:8329' } },
      { type: 'SET_FIELD', field: { field: 'pbb_isid', value: 0xabcdef } },
      { type: 'SET_FIELD', field: { field: 'metadata', value: 0xfedcba9876543210n } },
      { type: 'SET_FIELD', field: { field: 'opaque', oxmClass: 0xffff, oxmField: 3, hasMask: false, data: hex('00002320 0102') } },
      { type: 'OUTPUT', port: 0xfffffffd, maxLen: 128 },
    ] },
    { type: 'WRITE_METADATA', metadata: 0n, metadataMask: 0xffffffffffffffffn },
    { type: 'WRITE_ACTIONS', actions: [{ type: 'GROUP', groupId: 9 }, { type: 'DEC_NW_TTL' }] },
    { type: 'GOTO_TABLE', tableId: 254 },
  ];
  const bytes = encodeInstructions(instructions);
  t.equal(bytes.length % 8, 0, 'aligned');
  t.strictSame(decodeInstructions(bytes), instructions);
  t.end();
});
