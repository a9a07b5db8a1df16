// MULTIPART_REQUEST / MULTIPART_REPLY decoding (spec 1.3.5 section 7.3.5).
import { MessageTypeCode } from '../constants.js';
import { ofpError } from '../errors.js';
import type { BufferReader } from '../reader.js';
import type { DecoderTable } from '../codec.js';
import type { MultipartReply, MultipartRequest } from '../types/index.js';
import { OXM_CLASS_EXPERIMENTER, OXM_CLASS_OPENFLOW_BASIC, OXM_FIELDS } from '../oxm-fields.js';
import { ActionTypeCode, InstructionTypeCode } from '../struct-codes.js';
import {
  GroupDescTypeCode,
  MultipartTypeCode,
  TableFeaturePropCode,
  type ActionId,
  type BucketCounter,
  type FlowSelection,
  type FlowStats,
  type GroupDesc,
  type GroupDescType,
  type GroupStats,
  type InstructionId,
  type MeterBandStats,
  type MeterConfig,
  type MeterStats,
  type MultipartKind,
  type MultipartReplyBody,
  type MultipartRequestBody,
  type OxmId,
  type PortStats,
  type QueueStats,
  type TableFeatureProperty,
  type TableFeaturePropType,
  type TableFeatures,
  type TableStats,
} from '../types/multipart.js';
import { readMatch } from './match.js';
import { readInstructions } from './actions.js';
import { readBuckets, readMeterBands, readPortDesc } from './structs.js';

const OFPIT_EXPERIMENTER = 0xffff;
const OFPAT_EXPERIMENTER = 0xffff;

/** Fixed sizes (bytes) of the structures, from openflow.h. */
const FLOW_STATS_LEN = 48; // without the match
const GROUP_STATS_LEN = 40;
const BUCKET_COUNTER_LEN = 16;
const GROUP_DESC_LEN = 8;
const METER_STATS_LEN = 40;
const METER_BAND_STATS_LEN = 16;
const METER_CONFIG_LEN = 8;
const TABLE_FEATURES_LEN = 64;
const DESC_STR_LEN = 256;
const SERIAL_NUM_LEN = 32;
const MAX_TABLE_NAME_LEN = 32;

function invert<K extends string>(codes: Readonly<Record<K, number>>): Map<number, K> {
  const m = new Map<number, K>();
  for (const [name, code] of Object.entries(codes) as [K, number][]) m.set(code, name);
  return m;
}
const kindByCode = invert<MultipartKind>(MultipartTypeCode);
const propTypeByCode = invert<TableFeaturePropType>(TableFeaturePropCode);
const groupTypeByCode = invert<GroupDescType>(GroupDescTypeCode);
const instructionNameByCode = invert(InstructionTypeCode);
const actionNameByCode = invert(ActionTypeCode);

/** Reads the 8-byte multipart header after the OpenFlow header; returns [kind, flags]. */
function readMultipartHeader(r: BufferReader): [MultipartKind, number] {
  const at = r.offset;
  const code = r.u16();
  const kind = kindByCode.get(code);
  if (kind === undefined) {
    throw ofpError('BAD_REQUEST', 'BAD_MULTIPART', at, `unknown multipart type ${code}`);
  }
  const flags = r.u16();
  r.skip(4);
  return [kind, flags];
}

/**
 * For list entries that start with their own u16 length (already read, at `at`): checks it
 * covers the fixed part and fits in what is left, and returns a reader over the rest of the
 * entry (`len - consumed` bytes, `consumed` = bytes of the entry read so far).
 */
function entryReader(r: BufferReader, at: number, len: number, consumed: number, min: number, what: string): BufferReader {
  if (len < min) {
    throw ofpError('BAD_REQUEST', 'BAD_LEN', at, `${what} length ${len} is shorter than its ${min}-byte minimum`);
  }
  if (len - consumed > r.remaining) {
    throw ofpError('BAD_REQUEST', 'BAD_LEN', at, `${what} length ${len} runs past the end of the message (${r.remaining + consumed} bytes left)`);
  }
  return r.sub(len - consumed);
}

// ---------------------------------------------------------------------------------------------
// Requests

function readFlowSelection(r: BufferReader): FlowSelection {
  const tableId = r.u8();
  r.skip(3);
  const outPort = r.u32();
  const outGroup = r.u32();
  r.skip(4);
  const cookie = r.u64();
  const cookieMask = r.u64();
  const match = readMatch(r);
  return { tableId, outPort, outGroup, cookie, cookieMask, match };
}

function readRequestBody(r: BufferReader, kind: MultipartKind): MultipartRequestBody {
  switch (kind) {
    case 'DESC':
    case 'TABLE':
    case 'GROUP_DESC':
    case 'GROUP_FEATURES':
    case 'METER_FEATURES':
    case 'PORT_DESC':
      // No body; the dispatcher rejects any trailing bytes.
      return { kind };
    case 'FLOW':
      return { kind, ...readFlowSelection(r) };
    case 'AGGREGATE':
      return { kind, ...readFlowSelection(r) };
    case 'PORT_STATS': {
      const portNo = r.u32();
      r.skip(4);
      return { kind, portNo };
    }
    case 'QUEUE': {
      const portNo = r.u32();
      const queueId = r.u32();
      return { kind, portNo, queueId };
    }
    case 'GROUP': {
      const groupId = r.u32();
      r.skip(4);
      return { kind, groupId };
    }
    case 'METER':
    case 'METER_CONFIG': {
      const meterId = r.u32();
      r.skip(4);
      return { kind, meterId };
    }
    case 'TABLE_FEATURES':
      return { kind, tables: readTableFeaturesList(r) };
    case 'EXPERIMENTER': {
      const experimenter = r.u32();
      const expType = r.u32();
      return { kind, experimenter, expType, data: r.rest() };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Replies

function readFlowStats(r: BufferReader): FlowStats {
  const at = r.offset;
  const len = r.u16();
  // 8 = the smallest ofp_match (header + padding).
  const e = entryReader(r, at, len, 2, FLOW_STATS_LEN + 8, 'flow stats');
  const tableId = e.u8();
  e.skip(1);
  const durationSec = e.u32();
  const durationNsec = e.u32();
  const priority = e.u16();
  const idleTimeout = e.u16();
  const hardTimeout = e.u16();
  const flags = e.u16();
  e.skip(4);
  const cookie = e.u64();
  const packetCount = e.u64();
  const byteCount = e.u64();
  const match = readMatch(e);
  const instructions = readInstructions(e, e.remaining);
  return {
    tableId, durationSec, durationNsec, priority, idleTimeout, hardTimeout, flags, cookie,
    packetCount, byteCount, match, instructions,
  };
}

function readTableStats(r: BufferReader): TableStats {
  const tableId = r.u8();
  r.skip(3);
  const activeCount = r.u32();
  const lookupCount = r.u64();
  const matchedCount = r.u64();
  return { tableId, activeCount, lookupCount, matchedCount };
}

function readPortStats(r: BufferReader): PortStats {
  const portNo = r.u32();
  r.skip(4);
  return {
    portNo,
    rxPackets: r.u64(),
    txPackets: r.u64(),
    rxBytes: r.u64(),
    txBytes: r.u64(),
    rxDropped: r.u64(),
    txDropped: r.u64(),
    rxErrors: r.u64(),
    txErrors: r.u64(),
    rxFrameErr: r.u64(),
    rxOverErr: r.u64(),
    rxCrcErr: r.u64(),
    collisions: r.u64(),
    durationSec: r.u32(),
    durationNsec: r.u32(),
  };
}

function readQueueStats(r: BufferReader): QueueStats {
  return {
    portNo: r.u32(),
    queueId: r.u32(),
    txBytes: r.u64(),
    txPackets: r.u64(),
    txErrors: r.u64(),
    durationSec: r.u32(),
    durationNsec: r.u32(),
  };
}

/**
 * The counter arrays after group and meter stats (ofp_bucket_counter, ofp_meter_band_stats):
 * what the entry's length leaves must be whole 16-byte (packets, bytes) pairs.
 */
function checkCounterArray(e: BufferReader, at: number, what: string, size: number): number {
  if (e.remaining % size !== 0) {
    throw ofpError('BAD_REQUEST', 'BAD_LEN', at, `${what} length leaves ${e.remaining} bytes of counters, not a multiple of ${size}`);
  }
  return e.remaining / size;
}

function readGroupStats(r: BufferReader): GroupStats {
  const at = r.offset;
  const len = r.u16();
  const e = entryReader(r, at, len, 2, GROUP_STATS_LEN, 'group stats');
  e.skip(2);
  const groupId = e.u32();
  const refCount = e.u32();
  e.skip(4);
  const packetCount = e.u64();
  const byteCount = e.u64();
  const durationSec = e.u32();
  const durationNsec = e.u32();
  const n = checkCounterArray(e, at, 'group stats', BUCKET_COUNTER_LEN);
  const bucketStats: BucketCounter[] = [];
  for (let i = 0; i < n; i++) bucketStats.push({ packetCount: e.u64(), byteCount: e.u64() });
  return { groupId, refCount, packetCount, byteCount, durationSec, durationNsec, bucketStats };
}

function readGroupDesc(r: BufferReader): GroupDesc {
  const at = r.offset;
  const len = r.u16();
  const e = entryReader(r, at, len, 2, GROUP_DESC_LEN, 'group desc');
  const typeAt = e.offset;
  const typeCode = e.u8();
  const groupType = groupTypeByCode.get(typeCode);
  if (groupType === undefined) {
    throw ofpError('GROUP_MOD_FAILED', 'BAD_TYPE', typeAt, `unknown group type ${typeCode}`);
  }
  e.skip(1);
  const groupId = e.u32();
  const buckets = readBuckets(e, e.remaining);
  return { groupType, groupId, buckets };
}

function readMeterStats(r: BufferReader): MeterStats {
  const meterId = r.u32();
  const lenAt = r.offset;
  const len = r.u16();
  const e = entryReader(r, lenAt, len, 6, METER_STATS_LEN, 'meter stats');
  e.skip(6);
  const flowCount = e.u32();
  const packetInCount = e.u64();
  const byteInCount = e.u64();
  const durationSec = e.u32();
  const durationNsec = e.u32();
  const n = checkCounterArray(e, lenAt, 'meter stats', METER_BAND_STATS_LEN);
  const bandStats: MeterBandStats[] = [];
  for (let i = 0; i < n; i++) bandStats.push({ packetBandCount: e.u64(), byteBandCount: e.u64() });
  return { meterId, flowCount, packetInCount, byteInCount, durationSec, durationNsec, bandStats };
}

function readMeterConfig(r: BufferReader): MeterConfig {
  const at = r.offset;
  const len = r.u16();
  const e = entryReader(r, at, len, 2, METER_CONFIG_LEN, 'meter config');
  const flags = e.u16();
  const meterId = e.u32();
  const bands = readMeterBands(e, e.remaining);
  return { flags, meterId, bands };
}

function readReplyBody(r: BufferReader, kind: MultipartKind): MultipartReplyBody {
  switch (kind) {
    case 'DESC':
      return {
        kind,
        mfrDesc: r.fixedString(DESC_STR_LEN),
        hwDesc: r.fixedString(DESC_STR_LEN),
        swDesc: r.fixedString(DESC_STR_LEN),
        serialNum: r.fixedString(SERIAL_NUM_LEN),
        dpDesc: r.fixedString(DESC_STR_LEN),
      };
    case 'FLOW': {
      const flows: FlowStats[] = [];
      while (r.remaining > 0) flows.push(readFlowStats(r));
      return { kind, flows };
    }
    case 'AGGREGATE': {
      const packetCount = r.u64();
      const byteCount = r.u64();
      const flowCount = r.u32();
      r.skip(4);
      return { kind, packetCount, byteCount, flowCount };
    }
    case 'TABLE': {
      const tables: TableStats[] = [];
      while (r.remaining > 0) tables.push(readTableStats(r));
      return { kind, tables };
    }
    case 'PORT_STATS': {
      const ports: PortStats[] = [];
      while (r.remaining > 0) ports.push(readPortStats(r));
      return { kind, ports };
    }
    case 'QUEUE': {
      const queues: QueueStats[] = [];
      while (r.remaining > 0) queues.push(readQueueStats(r));
      return { kind, queues };
    }
    case 'GROUP': {
      const groups: GroupStats[] = [];
      while (r.remaining > 0) groups.push(readGroupStats(r));
      return { kind, groups };
    }
    case 'GROUP_DESC': {
      const groups: GroupDesc[] = [];
      while (r.remaining > 0) groups.push(readGroupDesc(r));
      return { kind, groups };
    }
    case 'GROUP_FEATURES':
      return {
        kind,
        types: r.u32(),
        capabilities: r.u32(),
        maxGroups: [r.u32(), r.u32(), r.u32(), r.u32()],
        actions: [r.u32(), r.u32(), r.u32(), r.u32()],
      };
    case 'METER': {
      const meters: MeterStats[] = [];
      while (r.remaining > 0) meters.push(readMeterStats(r));
      return { kind, meters };
    }
    case 'METER_CONFIG': {
      const meters: MeterConfig[] = [];
      while (r.remaining > 0) meters.push(readMeterConfig(r));
      return { kind, meters };
    }
    case 'METER_FEATURES': {
      const maxMeter = r.u32();
      const bandTypes = r.u32();
      const capabilities = r.u32();
      const maxBands = r.u8();
      const maxColor = r.u8();
      r.skip(2);
      return { kind, maxMeter, bandTypes, capabilities, maxBands, maxColor };
    }
    case 'TABLE_FEATURES':
      return { kind, tables: readTableFeaturesList(r) };
    case 'PORT_DESC': {
      const ports = [];
      while (r.remaining > 0) ports.push(readPortDesc(r));
      return { kind, ports };
    }
    case 'EXPERIMENTER': {
      const experimenter = r.u32();
      const expType = r.u32();
      return { kind, experimenter, expType, data: r.rest() };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Table features

function readTableFeaturesList(r: BufferReader): TableFeatures[] {
  const tables: TableFeatures[] = [];
  while (r.remaining > 0) tables.push(readTableFeatures(r));
  return tables;
}

function readTableFeatures(r: BufferReader): TableFeatures {
  const at = r.offset;
  const len = r.u16();
  const e = entryReader(r, at, len, 2, TABLE_FEATURES_LEN, 'table features');
  const tableId = e.u8();
  e.skip(5);
  const name = e.fixedString(MAX_TABLE_NAME_LEN);
  const metadataMatch = e.u64();
  const metadataWrite = e.u64();
  const config = e.u32();
  const maxEntries = e.u32();
  const properties: TableFeatureProperty[] = [];
  while (e.remaining > 0) properties.push(readTableFeatureProperty(e));
  return { tableId, name, metadataMatch, metadataWrite, config, maxEntries, properties };
}

/** Length problems inside a property list are the table-features error of the spec. */
function propLenError(at: number, detail: string) {
  return ofpError('TABLE_FEATURES_FAILED', 'BAD_LEN', at, detail);
}

function readTableFeatureProperty(r: BufferReader): TableFeatureProperty {
  const at = r.offset;
  const code = r.u16();
  const len = r.u16();
  if (len < 4) throw propLenError(at + 2, `table feature property ${code} length ${len} is shorter than its 4-byte header`);
  if (len - 4 > r.remaining) {
    throw propLenError(at + 2, `table feature property ${code} length ${len} runs past its table features entry (${r.remaining + 4} bytes left)`);
  }
  const p = r.sub(len - 4);
  // Each property is padded to a multiple of 8; the padding must be there too.
  const pad = (8 - (len % 8)) % 8;
  if (pad > r.remaining) {
    throw propLenError(r.offset, `table feature property ${code} lacks its ${pad} bytes of padding (${r.remaining} left)`);
  }
  r.skip(pad);

  const type = propTypeByCode.get(code);
  switch (type) {
    case 'INSTRUCTIONS':
    case 'INSTRUCTIONS_MISS': {
      const instructionIds: InstructionId[] = [];
      while (p.remaining > 0) {
        instructionIds.push(readFeatureId(p, 'instruction', OFPIT_EXPERIMENTER, instructionNameByCode));
      }
      return { type, instructionIds };
    }
    case 'NEXT_TABLES':
    case 'NEXT_TABLES_MISS':
      return { type, tableIds: Array.from(p.rest()) };
    case 'WRITE_ACTIONS':
    case 'WRITE_ACTIONS_MISS':
    case 'APPLY_ACTIONS':
    case 'APPLY_ACTIONS_MISS': {
      const actionIds: ActionId[] = [];
      while (p.remaining > 0) actionIds.push(readFeatureId(p, 'action', OFPAT_EXPERIMENTER, actionNameByCode));
      return { type, actionIds };
    }
    case 'MATCH':
    case 'WILDCARDS':
    case 'WRITE_SETFIELD':
    case 'WRITE_SETFIELD_MISS':
    case 'APPLY_SETFIELD':
    case 'APPLY_SETFIELD_MISS': {
      const oxmIds: OxmId[] = [];
      while (p.remaining > 0) oxmIds.push(readOxmId(p));
      return { type, oxmIds };
    }
    case 'EXPERIMENTER':
    case 'EXPERIMENTER_MISS': {
      if (p.remaining < 8) {
        throw propLenError(at + 2, `experimenter table feature property length ${len} is shorter than its 12-byte minimum`);
      }
      const experimenter = p.u32();
      const expType = p.u32();
      return { type, experimenter, expType, data: p.rest() };
    }
    case undefined:
      return { type: 'UNKNOWN', code, data: p.rest() };
  }
}

/** An instruction or action id: type, len, then (experimenter id and) any further bytes. */
function readFeatureId<N extends string>(
  p: BufferReader,
  what: string,
  experimenterCode: number,
  names: Map<number, N>,
): { type: N | number; experimenter?: number; data?: Buffer } {
  const at = p.offset;
  if (p.remaining < 4) throw propLenError(at, `${what} id needs 4 bytes, ${p.remaining} left in its property`);
  const code = p.u16();
  const len = p.u16();
  if (len < 4) throw propLenError(at + 2, `${what} id ${code} length ${len} is shorter than its 4-byte header`);
  if (len - 4 > p.remaining) {
    throw propLenError(at + 2, `${what} id ${code} length ${len} runs past its property (${p.remaining + 4} bytes left)`);
  }
  const type = names.get(code) ?? code;
  if (len === 4) return { type };
  if (code === experimenterCode && len >= 8) {
    const experimenter = p.u32();
    if (len === 8) return { type, experimenter };
    return { type, experimenter, data: p.bytes(len - 8) };
  }
  return { type, data: p.bytes(len - 4) };
}

function readOxmId(p: BufferReader): OxmId {
  const at = p.offset;
  if (p.remaining < 4) throw propLenError(at, `OXM id needs 4 bytes, ${p.remaining} left in its property`);
  const header = p.u32();
  const oxmClass = header >>> 16;
  const oxmField = (header >>> 9) & 0x7f;
  const hasMask = (header & 0x100) !== 0;
  const length = header & 0xff;
  const spec = oxmClass === OXM_CLASS_OPENFLOW_BASIC ? OXM_FIELDS[oxmField] : undefined;
  if (spec !== undefined) return { field: spec.name, hasMask, length };
  if (oxmClass !== OXM_CLASS_EXPERIMENTER) return { field: 'opaque', oxmClass, oxmField, hasMask, length };
  if (p.remaining < 4) {
    throw propLenError(at, `experimenter OXM id needs 8 bytes, ${p.remaining + 4} left in its property`);
  }
  return { field: 'opaque', oxmClass, oxmField, hasMask, length, experimenter: p.u32() };
}

// ---------------------------------------------------------------------------------------------

function decodeRequest(r: BufferReader, xid: number): MultipartRequest {
  const [kind, flags] = readMultipartHeader(r);
  return { type: 'MULTIPART_REQUEST', xid, flags, body: readRequestBody(r, kind) };
}

function decodeReply(r: BufferReader, xid: number): MultipartReply {
  const [kind, flags] = readMultipartHeader(r);
  return { type: 'MULTIPART_REPLY', xid, flags, body: readReplyBody(r, kind) };
}

export const decoders: DecoderTable = {
  [MessageTypeCode.MULTIPART_REQUEST]: decodeRequest,
  [MessageTypeCode.MULTIPART_REPLY]: decodeReply,
};
