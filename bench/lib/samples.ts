/**
 * Messages we build ourselves, one or more of every OpenFlow 1.3 message type and multipart
 * kind, with non-default values everywhere so a dropped or misplaced field shows. Used as fuzz
 * corpus (encoded), as benchmark inputs, and by the OVS cross-check (encoded, then printed by
 * `ovs-ofctl ofp-print` and sent to a real ovs-vswitchd).
 */
import type {
  Action, Bucket, FlowMod, FlowStats, GroupMod, Instruction, Match, Message, MeterMod, PacketIn,
  PacketOut, PortDesc, TableFeatures,
} from '../../src/openflow/types/index.js';

const NO_BUFFER = 0xffffffff;
const PORT_ANY = 0xffffffff;
const GROUP_ANY = 0xffffffff;
const PORT_CONTROLLER = 0xfffffffd;

/** An Ethernet/IPv4/UDP frame of exactly `len` bytes (len >= 42), deterministic content. */
export function udpFrame(len: number): Buffer {
  if (len < 42) throw new RangeError(`a UDP frame needs at least 42 bytes, asked ${len}`);
  const b = Buffer.alloc(len);
  Buffer.from('02000000000202000000000108004500', 'hex').copy(b, 0);
  b.writeUInt16BE(len - 14, 16); // IPv4 total length
  Buffer.from('00000000401100000a0000010a000002', 'hex').copy(b, 18);
  b.writeUInt16BE(5000, 34);
  b.writeUInt16BE(4789, 36);
  b.writeUInt16BE(len - 34, 38); // UDP length
  for (let i = 42; i < len; i++) b[i] = (i * 31) & 0xff;
  return b;
}

/** PACKET_IN as ovs-vswitchd sends it for a table-miss: 4 match fields, 128-byte frame. */
export function packetIn(xid = 0x10): PacketIn {
  return {
    type: 'PACKET_IN', xid, bufferId: NO_BUFFER, totalLen: 128, reason: 'ACTION', tableId: 3,
    cookie: 0x0123456789abcdefn,
    match: {
      fields: [
        { field: 'in_port', value: 7 },
        { field: 'eth_type', value: 0x0800 },
        { field: 'tunnel_id', value: 0x1234n },
        { field: 'metadata', value: 0xfeedn },
      ],
    },
    data: udpFrame(128),
  };
}

/** FLOW_MOD with a 5-field match, apply-actions and goto-table (a typical overlay flow). */
export function flowMod(xid = 0x20): FlowMod {
  return {
    type: 'FLOW_MOD', xid, cookie: 0xc0ffee0000000001n, cookieMask: 0n, tableId: 1, command: 'ADD',
    idleTimeout: 300, hardTimeout: 0, priority: 1000, bufferId: NO_BUFFER, outPort: PORT_ANY,
    outGroup: GROUP_ANY, flags: 0x1,
    match: {
      fields: [
        { field: 'in_port', value: 3 },
        { field: 'eth_dst', value: '02:00:00:00:00:02' },
        { field: 'eth_type', value: 0x0800 },
        { field: 'ip_proto', value: 17 },
        { field: 'ipv4_dst', value: '10.0.0.0', mask: '255.255.255.0' },
      ],
    },
    instructions: [
      {
        type: 'APPLY_ACTIONS',
        actions: [
          { type: 'SET_FIELD', field: { field: 'eth_src', value: '02:00:00:00:00:01' } },
          { type: 'OUTPUT', port: 2, maxLen: 0 },
        ],
      },
      { type: 'GOTO_TABLE', tableId: 2 },
    ],
  };
}

/** The matches a wide range of FLOW_MODs below use: every field kind, masks, IPv6, ARP, MPLS, VLAN. */
export const sampleMatches: Record<string, Match> = {
  l2: {
    fields: [
      { field: 'in_port', value: 1 },
      { field: 'eth_dst', value: '01:00:5e:00:00:00', mask: 'ff:ff:ff:80:00:00' },
      { field: 'eth_src', value: '00:11:22:33:44:55' },
      { field: 'vlan_vid', value: 0x1000 | 100 },
      { field: 'vlan_pcp', value: 5 },
    ],
  },
  tcp4: {
    fields: [
      { field: 'eth_type', value: 0x0800 },
      { field: 'ip_dscp', value: 46 },
      { field: 'ip_ecn', value: 1 },
      { field: 'ip_proto', value: 6 },
      { field: 'ipv4_src', value: '192.168.1.0', mask: '255.255.255.0' },
      { field: 'ipv4_dst', value: '10.1.2.3' },
      { field: 'tcp_src', value: 1024 },
      { field: 'tcp_dst', value: 443 },
    ],
  },
  udp6: {
    fields: [
      { field: 'eth_type', value: 0x86dd },
      { field: 'ip_proto', value: 17 },
      { field: 'ipv6_src', value: '2001:db8::', mask: 'ffff:ffff:ffff:ffff::' },
      { field: 'ipv6_dst', value: 'fe80::1' },
      { field: 'ipv6_flabel', value: 0x12345 },
      { field: 'udp_src', value: 5353 },
      { field: 'udp_dst', value: 53 },
    ],
  },
  nd: {
    fields: [
      { field: 'eth_type', value: 0x86dd },
      { field: 'ip_proto', value: 58 },
      { field: 'icmpv6_type', value: 135 },
      { field: 'icmpv6_code', value: 0 },
      { field: 'ipv6_nd_target', value: '2001:db8::2' },
      { field: 'ipv6_nd_sll', value: '00:11:22:33:44:66' },
    ],
  },
  arp: {
    fields: [
      { field: 'eth_type', value: 0x0806 },
      { field: 'arp_op', value: 1 },
      { field: 'arp_spa', value: '10.0.0.1' },
      { field: 'arp_tpa', value: '10.0.0.0', mask: '255.255.255.0' },
      { field: 'arp_sha', value: '00:11:22:33:44:55' },
      { field: 'arp_tha', value: '00:00:00:00:00:00' },
    ],
  },
  mpls: {
    fields: [
      { field: 'eth_type', value: 0x8847 },
      { field: 'mpls_label', value: 0xabcde },
      { field: 'mpls_tc', value: 3 },
      { field: 'mpls_bos', value: 1 },
    ],
  },
  icmp4: {
    fields: [
      { field: 'eth_type', value: 0x0800 },
      { field: 'ip_proto', value: 1 },
      { field: 'icmpv4_type', value: 8 },
      { field: 'icmpv4_code', value: 0 },
    ],
  },
  sctp: {
    fields: [
      { field: 'eth_type', value: 0x0800 },
      { field: 'ip_proto', value: 132 },
      { field: 'sctp_src', value: 2905 },
      { field: 'sctp_dst', value: 2906 },
    ],
  },
  tunnel: {
    fields: [
      { field: 'metadata', value: 0x1234n, mask: 0xffffn },
      { field: 'tunnel_id', value: 0x5678n },
    ],
  },
};

/** Actions of every OFPAT_* type OVS understands in 1.3 (no PBB: OVS has no PBB support). */
export const sampleActions: Action[] = [
  { type: 'PUSH_VLAN', ethertype: 0x8100 },
  { type: 'SET_FIELD', field: { field: 'vlan_vid', value: 0x1000 | 42 } },
  { type: 'SET_FIELD', field: { field: 'ipv4_dst', value: '10.9.8.7' } },
  { type: 'SET_FIELD', field: { field: 'tcp_dst', value: 8080 } },
  { type: 'SET_NW_TTL', nwTtl: 33 },
  { type: 'DEC_NW_TTL' },
  { type: 'SET_QUEUE', queueId: 3 },
  { type: 'OUTPUT', port: 2, maxLen: 0 },
  { type: 'POP_VLAN' },
  { type: 'PUSH_MPLS', ethertype: 0x8847 },
  { type: 'SET_FIELD', field: { field: 'mpls_label', value: 77 } },
  { type: 'SET_MPLS_TTL', mplsTtl: 9 },
  { type: 'DEC_MPLS_TTL' },
  { type: 'COPY_TTL_OUT' },
  { type: 'OUTPUT', port: PORT_CONTROLLER, maxLen: 128 },
];

export function richFlowMod(xid = 0x21): FlowMod {
  return {
    type: 'FLOW_MOD', xid, cookie: 0x1122334455667788n, cookieMask: 0n, tableId: 0, command: 'ADD',
    idleTimeout: 30, hardTimeout: 60, priority: 4242, bufferId: NO_BUFFER, outPort: PORT_ANY,
    outGroup: GROUP_ANY, flags: 0x1 | 0x2,
    match: sampleMatches['tcp4']!,
    instructions: [
      { type: 'METER', meterId: 7 },
      {
        type: 'APPLY_ACTIONS',
        actions: [
          { type: 'SET_FIELD', field: { field: 'ipv4_dst', value: '10.9.8.7' } },
          { type: 'SET_FIELD', field: { field: 'tcp_dst', value: 8080 } },
          { type: 'DEC_NW_TTL' },
          { type: 'OUTPUT', port: 2, maxLen: 0 },
        ],
      },
      { type: 'CLEAR_ACTIONS' },
      { type: 'WRITE_ACTIONS', actions: [{ type: 'GROUP', groupId: 5 }] },
      { type: 'WRITE_METADATA', metadata: 0xabcdn, metadataMask: 0xffffn },
      { type: 'GOTO_TABLE', tableId: 4 },
    ],
  };
}

export function groupMod(xid = 0x30, groupType: GroupMod['groupType'] = 'SELECT', groupId = 5): GroupMod {
  return {
    type: 'GROUP_MOD', xid, command: 'ADD', groupType, groupId,
    buckets: ([
      { weight: groupType === 'SELECT' ? 10 : 0, watchPort: groupType === 'FF' ? 1 : PORT_ANY, watchGroup: GROUP_ANY,
        actions: [{ type: 'SET_FIELD', field: { field: 'eth_dst', value: '02:00:00:00:00:0a' } }, { type: 'OUTPUT', port: 1, maxLen: 0 }] },
      { weight: groupType === 'SELECT' ? 20 : 0, watchPort: groupType === 'FF' ? 2 : PORT_ANY, watchGroup: GROUP_ANY,
        actions: [{ type: 'OUTPUT', port: 2, maxLen: 0 }] },
    ] satisfies Bucket[]).slice(0, groupType === 'INDIRECT' ? 1 : 2),
  };
}

export function meterMod(xid = 0x40): MeterMod {
  return {
    type: 'METER_MOD', xid, command: 'ADD', flags: 0x1 | 0x4 | 0x8, meterId: 7,
    bands: [{ type: 'DROP', rate: 10000, burstSize: 500 }],
  };
}

export function packetOut(xid = 0x50): PacketOut {
  return {
    type: 'PACKET_OUT', xid, bufferId: NO_BUFFER, inPort: PORT_CONTROLLER,
    actions: [
      { type: 'SET_FIELD', field: { field: 'eth_src', value: '02:00:00:00:00:99' } },
      { type: 'OUTPUT', port: 1, maxLen: 0 },
    ],
    data: udpFrame(64),
  };
}

function port(portNo: number, name: string): PortDesc {
  return {
    portNo, hwAddr: `02:00:00:00:00:${portNo.toString(16).padStart(2, '0').slice(-2)}`, name, config: 0x4,
    state: 0x4, curr: 0x800 | 0x2000, advertised: 0x800, supported: 0x820, peer: 0, currSpeed: 10_000_000,
    maxSpeed: 10_000_000,
  };
}

/** One flow-stats entry, as a switch reports an installed overlay flow. */
export function flowStatsEntry(i: number): FlowStats {
  return {
    tableId: i % 4, durationSec: 1000 + i, durationNsec: 123456 * i, priority: 100 + i, idleTimeout: 0,
    hardTimeout: 0, flags: 0x1, cookie: 0xabc0000000000000n + BigInt(i), packetCount: BigInt(i * 1000),
    byteCount: BigInt(i * 64000),
    match: {
      fields: [
        { field: 'in_port', value: 1 + (i % 8) },
        { field: 'eth_dst', value: `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}` },
        { field: 'eth_type', value: 0x0800 },
      ],
    },
    instructions: [
      { type: 'APPLY_ACTIONS', actions: [{ type: 'OUTPUT', port: 2 + (i % 3), maxLen: 0 }] },
      { type: 'GOTO_TABLE', tableId: 5 },
    ],
  };
}

export function flowStatsReply(entries: number, xid = 0x60): Message {
  const flows: FlowStats[] = [];
  for (let i = 0; i < entries; i++) flows.push(flowStatsEntry(i));
  return { type: 'MULTIPART_REPLY', xid, flags: 0, body: { kind: 'FLOW', flows } };
}

const instructionsAll: Instruction[] = [
  { type: 'GOTO_TABLE', tableId: 1 },
  { type: 'WRITE_METADATA', metadata: 0x10n, metadataMask: 0xf0n },
  { type: 'WRITE_ACTIONS', actions: [{ type: 'SET_QUEUE', queueId: 1 }, { type: 'OUTPUT', port: 3, maxLen: 0 }] },
  { type: 'APPLY_ACTIONS', actions: sampleActions },
  { type: 'CLEAR_ACTIONS' },
  { type: 'METER', meterId: 9 },
  { type: 'EXPERIMENTER', experimenter: 0x00002320, data: Buffer.from('0001000200030004', 'hex') },
];

function tableFeatures(tableId: number): TableFeatures {
  return {
    tableId, name: `table${tableId}`, metadataMatch: 0xffffffffffffffffn, metadataWrite: 0xffffn, config: 3,
    maxEntries: 1_000_000,
    properties: [
      { type: 'INSTRUCTIONS', instructionIds: [{ type: 'GOTO_TABLE' }, { type: 'APPLY_ACTIONS' }, { type: 'METER' }] },
      { type: 'NEXT_TABLES', tableIds: [tableId + 1, tableId + 2] },
      { type: 'WRITE_ACTIONS', actionIds: [{ type: 'OUTPUT' }, { type: 'GROUP' }] },
      { type: 'APPLY_ACTIONS', actionIds: [{ type: 'OUTPUT' }, { type: 'SET_FIELD' }, { type: 'PUSH_VLAN' }] },
      { type: 'MATCH', oxmIds: [{ field: 'in_port', hasMask: false, length: 4 }, { field: 'eth_dst', hasMask: true, length: 12 }] },
      { type: 'WILDCARDS', oxmIds: [{ field: 'eth_dst', hasMask: false, length: 6 }] },
      { type: 'WRITE_SETFIELD', oxmIds: [{ field: 'eth_dst', hasMask: false, length: 6 }] },
      { type: 'APPLY_SETFIELD', oxmIds: [{ field: 'ipv4_dst', hasMask: false, length: 4 }] },
      { type: 'EXPERIMENTER', experimenter: 0x00002320, expType: 1, data: Buffer.from('abcdef', 'hex') },
    ],
  };
}

/** At least one message of every type and every multipart kind, in both directions. */
export function allSampleMessages(): Message[] {
  let xid = 0x100;
  const x = (): number => xid++;
  const sel = { tableId: 0xff, outPort: PORT_ANY, outGroup: GROUP_ANY, cookie: 0x10n, cookieMask: 0xf0n, match: sampleMatches['udp6']! };
  const msgs: Message[] = [
    { type: 'HELLO', xid: x(), version: 4, elements: [{ type: 'VERSIONBITMAP', versions: [1, 4] }] },
    { type: 'HELLO', xid: x(), version: 4, elements: [] },
    { type: 'ERROR', xid: x(), version: 4, errorType: 4, code: 6, data: Buffer.from('040e00500000000a', 'hex') },
    { type: 'ERROR', xid: x(), version: 4, errorType: 0xffff, expType: 3, experimenter: 0x00002320, data: Buffer.from('hello') },
    { type: 'ECHO_REQUEST', xid: x(), data: Buffer.from('ping-payload') },
    { type: 'ECHO_REPLY', xid: x(), data: Buffer.alloc(0) },
    { type: 'EXPERIMENTER', xid: x(), experimenter: 0x00002320, expType: 16, data: Buffer.from('00000002', 'hex') },
    { type: 'FEATURES_REQUEST', xid: x() },
    { type: 'FEATURES_REPLY', xid: x(), datapathId: 0x0000aabbccddeeffn, nBuffers: 0, nTables: 254, auxiliaryId: 0, capabilities: 0x4f },
    { type: 'GET_CONFIG_REQUEST', xid: x() },
    { type: 'GET_CONFIG_REPLY', xid: x(), flags: 0, missSendLen: 128 },
    { type: 'SET_CONFIG', xid: x(), flags: 1, missSendLen: 0xffff },
    packetIn(x()),
    {
      type: 'FLOW_REMOVED', xid: x(), cookie: 0x42n, priority: 7, reason: 'HARD_TIMEOUT', tableId: 2, durationSec: 61,
      durationNsec: 5000, idleTimeout: 0, hardTimeout: 60, packetCount: 12n, byteCount: 3400n, match: sampleMatches['arp']!,
    },
    { type: 'PORT_STATUS', xid: x(), reason: 'MODIFY', desc: port(3, 'eth3') },
    packetOut(x()),
    flowMod(x()),
    richFlowMod(x()),
    {
      type: 'FLOW_MOD', xid: x(), cookie: 0n, cookieMask: 0n, tableId: 0, command: 'ADD', idleTimeout: 0, hardTimeout: 0,
      priority: 1, bufferId: NO_BUFFER, outPort: PORT_ANY, outGroup: GROUP_ANY, flags: 0, match: sampleMatches['l2']!,
      instructions: instructionsAll,
    },
    ...Object.values(sampleMatches).map((match, i): FlowMod => ({
      type: 'FLOW_MOD', xid: x(), cookie: BigInt(i), cookieMask: 0n, tableId: i, command: 'ADD', idleTimeout: 0,
      hardTimeout: 0, priority: 100 + i, bufferId: NO_BUFFER, outPort: PORT_ANY, outGroup: GROUP_ANY, flags: 0,
      match, instructions: [{ type: 'APPLY_ACTIONS', actions: [{ type: 'OUTPUT', port: 1, maxLen: 0 }] }],
    })),
    {
      type: 'FLOW_MOD', xid: x(), cookie: 0x5n, cookieMask: 0xffn, tableId: 0xff, command: 'DELETE', idleTimeout: 0,
      hardTimeout: 0, priority: 0, bufferId: NO_BUFFER, outPort: 2, outGroup: GROUP_ANY, flags: 0, match: { fields: [] },
      instructions: [],
    },
    groupMod(x(), 'ALL', 1),
    groupMod(x(), 'SELECT', 2),
    groupMod(x(), 'INDIRECT', 3),
    groupMod(x(), 'FF', 4),
    { type: 'PORT_MOD', xid: x(), portNo: 1, hwAddr: '02:00:00:00:00:01', config: 0x1, mask: 0x1 | 0x20, advertise: 0 },
    { type: 'TABLE_MOD', xid: x(), tableId: 0xff, config: 0 },
    meterMod(x()),
    {
      type: 'METER_MOD', xid: x(), command: 'MODIFY', flags: 0x2, meterId: 8, bands: [
        { type: 'DSCP_REMARK', rate: 100, burstSize: 10, precLevel: 1 },
        { type: 'EXPERIMENTER', rate: 5, burstSize: 1, experimenter: 0x00002320, data: Buffer.from('0000000000000001', 'hex') },
      ],
    },
    { type: 'BARRIER_REQUEST', xid: x() },
    { type: 'BARRIER_REPLY', xid: x() },
    { type: 'QUEUE_GET_CONFIG_REQUEST', xid: x(), port: 1 },
    {
      type: 'QUEUE_GET_CONFIG_REPLY', xid: x(), port: 1, queues: [
        { queueId: 1, port: 1, properties: [{ property: 'MIN_RATE', rate: 100 }, { property: 'MAX_RATE', rate: 900 }] },
        { queueId: 2, port: 1, properties: [{ property: 'EXPERIMENTER', experimenter: 0x2320, data: Buffer.from('0102030405060708', 'hex') }] },
      ],
    },
    { type: 'ROLE_REQUEST', xid: x(), role: 'MASTER', generationId: 0x8000000000000001n },
    { type: 'ROLE_REPLY', xid: x(), role: 'SLAVE', generationId: 3n },
    { type: 'GET_ASYNC_REQUEST', xid: x() },
    { type: 'GET_ASYNC_REPLY', xid: x(), packetInMask: [0x7, 0x0], portStatusMask: [0x7, 0x7], flowRemovedMask: [0xf, 0x0] },
    { type: 'SET_ASYNC', xid: x(), packetInMask: [0x3, 0x1], portStatusMask: [0x7, 0x0], flowRemovedMask: [0x1, 0x0] },
    // Multipart requests.
    { type: 'MULTIPART_REQUEST', xid: x(), flags: 0, body: { kind: 'DESC' } },
    { type: 'MULTIPART_REQUEST', xid: x(), flags: 0, body: { kind: 'FLOW', ...sel } },
    { type: 'MULTIPART_REQUEST', xid: x(), flags: 0, body: { kind: 'AGGREGATE', ...sel, tableId: 1 } },
    { type: 'MULTIPART_REQUEST', xid: x(), flags: 0, body: { kind: 'TABLE' } },
    { type: 'MULTIPART_REQUEST', xid: x(), flags: 0, body: { kind: 'PORT_STATS', portNo: 2 } },
    { type: 'MULTIPART_REQUEST', xid: x(), flags: 0, body: { kind: 'QUEUE', portNo: PORT_ANY, queueId: 0xffffffff } },
    { type: 'MULTIPART_REQUEST', xid: x(), flags: 0, body: { kind: 'GROUP', groupId: 0xfffffffc } },
    { type: 'MULTIPART_REQUEST', xid: x(), flags: 0, body: { kind: 'GROUP_DESC' } },
    { type: 'MULTIPART_REQUEST', xid: x(), flags: 0, body: { kind: 'GROUP_FEATURES' } },
    { type: 'MULTIPART_REQUEST', xid: x(), flags: 0, body: { kind: 'METER', meterId: 0xffffffff } },
    { type: 'MULTIPART_REQUEST', xid: x(), flags: 0, body: { kind: 'METER_CONFIG', meterId: 7 } },
    { type: 'MULTIPART_REQUEST', xid: x(), flags: 0, body: { kind: 'METER_FEATURES' } },
    { type: 'MULTIPART_REQUEST', xid: x(), flags: 0, body: { kind: 'TABLE_FEATURES', tables: [] } },
    { type: 'MULTIPART_REQUEST', xid: x(), flags: 1, body: { kind: 'TABLE_FEATURES', tables: [tableFeatures(0)] } },
    { type: 'MULTIPART_REQUEST', xid: x(), flags: 0, body: { kind: 'PORT_DESC' } },
    { type: 'MULTIPART_REQUEST', xid: x(), flags: 0, body: { kind: 'EXPERIMENTER', experimenter: 0x4f4e4600, expType: 1870, data: Buffer.from('0000000400000000', 'hex') } },
    // Multipart replies.
    {
      type: 'MULTIPART_REPLY', xid: x(), flags: 0, body: {
        kind: 'DESC', mfrDesc: 'vino test', hwDesc: 'none', swDesc: '0.1.0', serialNum: 'S/N 42', dpDesc: 'bridge br-int',
      },
    },
    flowStatsReply(3, x()),
    { type: 'MULTIPART_REPLY', xid: x(), flags: 0, body: { kind: 'AGGREGATE', packetCount: 10n, byteCount: 1000n, flowCount: 3 } },
    {
      type: 'MULTIPART_REPLY', xid: x(), flags: 1, body: {
        kind: 'TABLE', tables: [{ tableId: 0, activeCount: 4, lookupCount: 100n, matchedCount: 90n }, { tableId: 1, activeCount: 0, lookupCount: 0n, matchedCount: 0n }],
      },
    },
    {
      type: 'MULTIPART_REPLY', xid: x(), flags: 0, body: {
        kind: 'PORT_STATS', ports: [{
          portNo: 1, rxPackets: 1n, txPackets: 2n, rxBytes: 3n, txBytes: 4n, rxDropped: 5n, txDropped: 6n, rxErrors: 7n,
          txErrors: 8n, rxFrameErr: 9n, rxOverErr: 10n, rxCrcErr: 11n, collisions: 0xffffffffffffffffn, durationSec: 12, durationNsec: 13,
        }],
      },
    },
    {
      type: 'MULTIPART_REPLY', xid: x(), flags: 0, body: {
        kind: 'QUEUE', queues: [{ portNo: 1, queueId: 2, txBytes: 3n, txPackets: 4n, txErrors: 5n, durationSec: 6, durationNsec: 7 }],
      },
    },
    {
      type: 'MULTIPART_REPLY', xid: x(), flags: 0, body: {
        kind: 'GROUP', groups: [{
          groupId: 5, refCount: 2, packetCount: 3n, byteCount: 4n, durationSec: 5, durationNsec: 6,
          bucketStats: [{ packetCount: 1n, byteCount: 2n }, { packetCount: 3n, byteCount: 4n }],
        }],
      },
    },
    {
      type: 'MULTIPART_REPLY', xid: x(), flags: 0, body: {
        kind: 'GROUP_DESC', groups: [{ groupType: 'SELECT', groupId: 5, buckets: groupMod(0).buckets }, { groupType: 'ALL', groupId: 6, buckets: [] }],
      },
    },
    {
      type: 'MULTIPART_REPLY', xid: x(), flags: 0, body: {
        kind: 'GROUP_FEATURES', types: 0xf, capabilities: 0x3, maxGroups: [100, 200, 300, 400], actions: [0x1, 0x3, 0x7, 0xf],
      },
    },
    {
      type: 'MULTIPART_REPLY', xid: x(), flags: 0, body: {
        kind: 'METER', meters: [{
          meterId: 7, flowCount: 1, packetInCount: 2n, byteInCount: 3n, durationSec: 4, durationNsec: 5,
          bandStats: [{ packetBandCount: 6n, byteBandCount: 7n }],
        }],
      },
    },
    { type: 'MULTIPART_REPLY', xid: x(), flags: 0, body: { kind: 'METER_CONFIG', meters: [{ flags: 0x9, meterId: 7, bands: meterMod(0).bands }] } },
    { type: 'MULTIPART_REPLY', xid: x(), flags: 0, body: { kind: 'METER_FEATURES', maxMeter: 1024, bandTypes: 0x6, capabilities: 0xf, maxBands: 8, maxColor: 0 } },
    { type: 'MULTIPART_REPLY', xid: x(), flags: 0, body: { kind: 'TABLE_FEATURES', tables: [tableFeatures(0), tableFeatures(1)] } },
    { type: 'MULTIPART_REPLY', xid: x(), flags: 0, body: { kind: 'PORT_DESC', ports: [port(1, 'eth1'), port(0xfffffffe, 'br-int')] } },
    { type: 'MULTIPART_REPLY', xid: x(), flags: 0, body: { kind: 'EXPERIMENTER', experimenter: 0x2320, expType: 0, data: Buffer.from('0102', 'hex') } },
  ];
  return msgs;
}
