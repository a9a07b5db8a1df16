// MULTIPART_REQUEST / MULTIPART_REPLY encoding (spec 1.3.5 section 7.3.5).
import { OFP_HEADER_LEN } from '../constants.js';
import { OpenFlowError, ofpError } from '../errors.js';
import type { BufferWriter } from '../writer.js';
import type { EncoderTable } from '../codec.js';
import type { MultipartReply, MultipartRequest } from '../types/index.js';
import { OXM_CLASS_EXPERIMENTER, OXM_CLASS_OPENFLOW_BASIC, oxmFieldByCode, oxmFieldByName } from '../oxm-fields.js';
import { ActionTypeCode, InstructionTypeCode } from '../struct-codes.js';
import {
  GroupDescTypeCode,
  MultipartTypeCode,
  TableFeaturePropCode,
  type ActionId,
  type FlowSelection,
  type FlowStats,
  type GroupDesc,
  type GroupStats,
  type InstructionId,
  type MeterConfig,
  type MeterStats,
  type MultipartReplyBody,
  type MultipartRequestBody,
  type OxmId,
  type PortStats,
  type QueueStats,
  type TableFeatureProperty,
  type TableFeatures,
  type TableStats,
} from '../types/multipart.js';
import { writeMatch } from './match.js';
import { writeInstructions } from './actions.js';
import { writeBuckets, writeMeterBands, writePortDesc } from './structs.js';

const EXPERIMENTER_CODE = 0xffff; // OFPIT_EXPERIMENTER, OFPAT_EXPERIMENTER
const DESC_STR_LEN = 256;
const SERIAL_NUM_LEN = 32;
const MAX_TABLE_NAME_LEN = 32;
// Pad fields are written as u8/u16/u32 zeros: for a few bytes that is cheaper than w.zeros(),
// which goes through Buffer.fill (flow-stats replies are encoded in bulk).

/**
 * Per-message encoding state: the message's first byte in the writer, so errors can name
 * offsets from the message start like the decoder does.
 */
interface Ctx {
  w: BufferWriter;
  base: number;
}

function at(c: Ctx): number {
  return c.w.pos - c.base;
}

function writeMultipartHeader(c: Ctx, kind: string, flags: number): void {
  const code = (MultipartTypeCode as Record<string, number>)[kind];
  if (code === undefined || !Object.hasOwn(MultipartTypeCode, kind)) {
    throw ofpError('BAD_REQUEST', 'BAD_MULTIPART', at(c), `unknown multipart kind ${String(kind)}`);
  }
  c.w.u16(code).u16(flags).u32(0);
}

/**
 * A NUL-padded fixed-width string field, one byte per char (latin1, as the decoder reads it);
 * fails with an OpenFlowError when it does not fit, rather than writing a mangled value.
 */
function fixedString(c: Ctx, s: string, width: number, what: string): void {
  if (typeof s !== 'string') {
    throw ofpError('BAD_REQUEST', 'BAD_LEN', at(c), `${what} must be a string, got ${typeof s}`);
  }
  const wide = /[^\u0000-\u00ff]/.exec(s);
  if (wide) {
    throw ofpError('BAD_REQUEST', 'BAD_LEN', at(c), `${what} holds only byte-sized (latin1) chars; U+${wide[0].charCodeAt(0).toString(16).padStart(4, '0')} at index ${wide.index}`);
  }
  const n = s.length;
  if (n > width) {
    throw ofpError('BAD_REQUEST', 'BAD_LEN', at(c), `${what} is ${n} bytes, the field holds ${width}`);
  }
  c.w.fixedString(s, width);
}

/** Writes a list entry whose first field is its u16 length, patched once the entry is written. */
function lengthPrefixed(c: Ctx, body: () => void): void {
  const start = c.w.pos;
  c.w.u16(0);
  body();
  c.w.patchU16(start, c.w.pos - start);
}

// ---------------------------------------------------------------------------------------------
// Requests

function writeFlowSelection(c: Ctx, s: FlowSelection): void {
  const w = c.w;
  w.u8(s.tableId).u8(0).u16(0).u32(s.outPort).u32(s.outGroup).u32(0).u64(s.cookie).u64(s.cookieMask);
  writeMatch(w, s.match);
}

function writeRequestBody(c: Ctx, b: MultipartRequestBody): void {
  const w = c.w;
  switch (b.kind) {
    case 'DESC':
    case 'TABLE':
    case 'GROUP_DESC':
    case 'GROUP_FEATURES':
    case 'METER_FEATURES':
    case 'PORT_DESC':
      return;
    case 'FLOW':
    case 'AGGREGATE':
      return writeFlowSelection(c, b);
    case 'PORT_STATS':
      w.u32(b.portNo).u32(0);
      return;
    case 'QUEUE':
      w.u32(b.portNo).u32(b.queueId);
      return;
    case 'GROUP':
      w.u32(b.groupId).u32(0);
      return;
    case 'METER':
    case 'METER_CONFIG':
      w.u32(b.meterId).u32(0);
      return;
    case 'TABLE_FEATURES':
      for (const t of b.tables) writeTableFeatures(c, t);
      return;
    case 'EXPERIMENTER':
      w.u32(b.experimenter).u32(b.expType).bytes(b.data);
      return;
  }
}

// ---------------------------------------------------------------------------------------------
// Replies

function writeFlowStats(c: Ctx, f: FlowStats): void {
  const w = c.w;
  const start = w.pos;
  w.u16(0).u8(f.tableId).u8(0).u32(f.durationSec).u32(f.durationNsec)
    .u16(f.priority).u16(f.idleTimeout).u16(f.hardTimeout).u16(f.flags).u32(0)
    .u64(f.cookie).u64(f.packetCount).u64(f.byteCount);
  writeMatch(w, f.match);
  writeInstructions(w, f.instructions);
  w.patchU16(start, w.pos - start);
}

function writeTableStats(c: Ctx, t: TableStats): void {
  c.w.u8(t.tableId).u8(0).u16(0).u32(t.activeCount).u64(t.lookupCount).u64(t.matchedCount);
}

function writePortStats(c: Ctx, p: PortStats): void {
  c.w.u32(p.portNo).u32(0)
    .u64(p.rxPackets).u64(p.txPackets).u64(p.rxBytes).u64(p.txBytes)
    .u64(p.rxDropped).u64(p.txDropped).u64(p.rxErrors).u64(p.txErrors)
    .u64(p.rxFrameErr).u64(p.rxOverErr).u64(p.rxCrcErr).u64(p.collisions)
    .u32(p.durationSec).u32(p.durationNsec);
}

function writeQueueStats(c: Ctx, q: QueueStats): void {
  c.w.u32(q.portNo).u32(q.queueId).u64(q.txBytes).u64(q.txPackets).u64(q.txErrors)
    .u32(q.durationSec).u32(q.durationNsec);
}

function writeGroupStats(c: Ctx, g: GroupStats): void {
  lengthPrefixed(c, () => {
    const w = c.w;
    w.u16(0).u32(g.groupId).u32(g.refCount).u32(0).u64(g.packetCount).u64(g.byteCount)
      .u32(g.durationSec).u32(g.durationNsec);
    for (const b of g.bucketStats) w.u64(b.packetCount).u64(b.byteCount);
  });
}

function writeGroupDesc(c: Ctx, g: GroupDesc): void {
  const code = (GroupDescTypeCode as Record<string, number>)[g.groupType];
  if (code === undefined || !Object.hasOwn(GroupDescTypeCode, g.groupType)) {
    throw ofpError('GROUP_MOD_FAILED', 'BAD_TYPE', at(c) + 2, `unknown group type ${String(g.groupType)}`);
  }
  lengthPrefixed(c, () => {
    c.w.u8(code).u8(0).u32(g.groupId);
    writeBuckets(c.w, g.buckets);
  });
}

function writeMeterStats(c: Ctx, m: MeterStats): void {
  const w = c.w;
  w.u32(m.meterId);
  const lenAt = w.pos;
  w.u16(0).u16(0).u32(0).u32(m.flowCount).u64(m.packetInCount).u64(m.byteInCount)
    .u32(m.durationSec).u32(m.durationNsec);
  for (const b of m.bandStats) w.u64(b.packetBandCount).u64(b.byteBandCount);
  w.patchU16(lenAt, w.pos - lenAt + 4);
}

function writeMeterConfig(c: Ctx, m: MeterConfig): void {
  lengthPrefixed(c, () => {
    c.w.u16(m.flags).u32(m.meterId);
    writeMeterBands(c.w, m.bands);
  });
}

function fourWords(c: Ctx, v: readonly number[], what: string): void {
  if (!Array.isArray(v) || v.length !== 4) {
    throw ofpError('BAD_REQUEST', 'BAD_LEN', at(c), `${what} must hold 4 values (one per group type), got ${Array.isArray(v) ? v.length : typeof v}`);
  }
  c.w.u32(v[0]!).u32(v[1]!).u32(v[2]!).u32(v[3]!);
}

function writeReplyBody(c: Ctx, b: MultipartReplyBody): void {
  const w = c.w;
  switch (b.kind) {
    case 'DESC':
      fixedString(c, b.mfrDesc, DESC_STR_LEN, 'mfrDesc');
      fixedString(c, b.hwDesc, DESC_STR_LEN, 'hwDesc');
      fixedString(c, b.swDesc, DESC_STR_LEN, 'swDesc');
      fixedString(c, b.serialNum, SERIAL_NUM_LEN, 'serialNum');
      fixedString(c, b.dpDesc, DESC_STR_LEN, 'dpDesc');
      return;
    case 'FLOW':
      for (const f of b.flows) writeFlowStats(c, f);
      return;
    case 'AGGREGATE':
      w.u64(b.packetCount).u64(b.byteCount).u32(b.flowCount).u32(0);
      return;
    case 'TABLE':
      for (const t of b.tables) writeTableStats(c, t);
      return;
    case 'PORT_STATS':
      for (const p of b.ports) writePortStats(c, p);
      return;
    case 'QUEUE':
      for (const q of b.queues) writeQueueStats(c, q);
      return;
    case 'GROUP':
      for (const g of b.groups) writeGroupStats(c, g);
      return;
    case 'GROUP_DESC':
      for (const g of b.groups) writeGroupDesc(c, g);
      return;
    case 'GROUP_FEATURES':
      w.u32(b.types).u32(b.capabilities);
      fourWords(c, b.maxGroups, 'maxGroups');
      fourWords(c, b.actions, 'actions');
      return;
    case 'METER':
      for (const m of b.meters) writeMeterStats(c, m);
      return;
    case 'METER_CONFIG':
      for (const m of b.meters) writeMeterConfig(c, m);
      return;
    case 'METER_FEATURES':
      w.u32(b.maxMeter).u32(b.bandTypes).u32(b.capabilities).u8(b.maxBands).u8(b.maxColor).u16(0);
      return;
    case 'TABLE_FEATURES':
      for (const t of b.tables) writeTableFeatures(c, t);
      return;
    case 'PORT_DESC':
      for (const p of b.ports) writePortDesc(w, p);
      return;
    case 'EXPERIMENTER':
      w.u32(b.experimenter).u32(b.expType).bytes(b.data);
      return;
  }
}

// ---------------------------------------------------------------------------------------------
// Table features

function writeTableFeatures(c: Ctx, t: TableFeatures): void {
  const w = c.w;
  const start = w.pos;
  w.u16(0).u8(t.tableId).u8(0).u32(0);
  fixedString(c, t.name, MAX_TABLE_NAME_LEN, 'table name');
  w.u64(t.metadataMatch).u64(t.metadataWrite).u32(t.config).u32(t.maxEntries);
  for (const p of t.properties) writeTableFeatureProperty(c, p);
  w.patchU16(start, w.pos - start);
}

function propError(c: Ctx, code: string, detail: string): OpenFlowError {
  return ofpError('TABLE_FEATURES_FAILED', code, at(c), detail);
}

function writeTableFeatureProperty(c: Ctx, p: TableFeatureProperty): void {
  const w = c.w;
  let code: number;
  if (p.type === 'UNKNOWN') {
    // A known code here would decode as that property, not as UNKNOWN.
    code = p.code;
    if (!Number.isInteger(code) || code < 0 || code > 0xffff || Object.values(TableFeaturePropCode).includes(code as never)) {
      throw propError(c, 'BAD_TYPE', `UNKNOWN table feature property needs an unassigned 16-bit code, got ${String(code)}`);
    }
  } else {
    const known = (TableFeaturePropCode as Record<string, number>)[p.type];
    if (known === undefined || !Object.hasOwn(TableFeaturePropCode, p.type)) {
      throw propError(c, 'BAD_TYPE', `unknown table feature property type ${String(p.type)}`);
    }
    code = known;
  }
  const start = w.pos;
  w.u16(code).u16(0);
  switch (p.type) {
    case 'INSTRUCTIONS':
    case 'INSTRUCTIONS_MISS':
      for (const id of p.instructionIds) writeFeatureId(c, id, 'instruction', InstructionTypeCode);
      break;
    case 'NEXT_TABLES':
    case 'NEXT_TABLES_MISS':
      for (const t of p.tableIds) w.u8(t);
      break;
    case 'WRITE_ACTIONS':
    case 'WRITE_ACTIONS_MISS':
    case 'APPLY_ACTIONS':
    case 'APPLY_ACTIONS_MISS':
      for (const id of p.actionIds) writeFeatureId(c, id, 'action', ActionTypeCode);
      break;
    case 'MATCH':
    case 'WILDCARDS':
    case 'WRITE_SETFIELD':
    case 'WRITE_SETFIELD_MISS':
    case 'APPLY_SETFIELD':
    case 'APPLY_SETFIELD_MISS':
      for (const id of p.oxmIds) writeOxmId(c, id);
      break;
    case 'EXPERIMENTER':
    case 'EXPERIMENTER_MISS':
      w.u32(p.experimenter).u32(p.expType).bytes(p.data);
      break;
    case 'UNKNOWN':
      w.bytes(p.data);
      break;
  }
  // The length excludes the padding that follows.
  w.patchU16(start + 2, w.pos - start);
  w.padTo(8, start);
}

function writeFeatureId(
  c: Ctx,
  id: InstructionId | ActionId,
  what: string,
  codes: Readonly<Record<string, number>>,
): void {
  let code: number | undefined;
  if (typeof id.type === 'number') {
    code = id.type;
    // A known code would decode as its name, breaking decode(encode(m)) = m.
    if (!Number.isInteger(code) || code < 0 || code > 0xffff || Object.values(codes).includes(code)) {
      throw propError(c, 'BAD_ARGUMENT', `${what} id type ${code} must be a name when known, or an unassigned 16-bit code`);
    }
  } else {
    code = Object.hasOwn(codes, id.type) ? codes[id.type] : undefined;
    if (code === undefined) throw propError(c, 'BAD_ARGUMENT', `unknown ${what} type ${String(id.type)}`);
  }
  const dataLen = id.data?.length ?? 0;
  if (id.experimenter !== undefined) {
    if (code !== EXPERIMENTER_CODE) {
      throw propError(c, 'BAD_ARGUMENT', `${what} id ${String(id.type)} has an experimenter id but is not EXPERIMENTER`);
    }
    c.w.u16(code).u16(8 + dataLen).u32(id.experimenter);
  } else {
    // Without an experimenter id, 4+ data bytes after an EXPERIMENTER header would read back
    // as an experimenter id.
    if (code === EXPERIMENTER_CODE && dataLen >= 4) {
      throw propError(c, 'BAD_ARGUMENT', `EXPERIMENTER ${what} id with ${dataLen} data bytes needs its experimenter id`);
    }
    c.w.u16(code).u16(4 + dataLen);
  }
  if (id.data) c.w.bytes(id.data);
}

function writeOxmId(c: Ctx, id: OxmId): void {
  const w = c.w;
  if (id.field !== 'opaque') {
    const spec = oxmFieldByName(id.field);
    if (spec === undefined) throw propError(c, 'BAD_ARGUMENT', `unknown OXM field ${String(id.field)} in an OXM id`);
    w.u32(oxmHeader(c, OXM_CLASS_OPENFLOW_BASIC, spec.code, id.hasMask, id.length));
    return;
  }
  // A known basic field must be given by name: as opaque it would not read back the same.
  if (oxmFieldByCode(id.oxmClass, id.oxmField) !== undefined) {
    throw propError(c, 'BAD_ARGUMENT', `opaque OXM id (class 0x8000, field ${id.oxmField}) is a known field; give it by name`);
  }
  const isExperimenter = id.oxmClass === OXM_CLASS_EXPERIMENTER;
  if (isExperimenter !== (id.experimenter !== undefined)) {
    throw propError(c, 'BAD_ARGUMENT', isExperimenter
      ? 'OXM id of class 0xffff needs its experimenter id'
      : `OXM id of class 0x${Number(id.oxmClass).toString(16)} cannot carry an experimenter id`);
  }
  w.u32(oxmHeader(c, id.oxmClass, id.oxmField, id.hasMask, id.length));
  if (id.experimenter !== undefined) w.u32(id.experimenter);
}

/** The u32 OXM header, refusing parts that do not fit their bit widths. */
function oxmHeader(c: Ctx, oxmClass: number, oxmField: number, hasMask: boolean, length: number): number {
  if (!isUint(oxmClass, 0xffff) || !isUint(oxmField, 0x7f) || !isUint(length, 0xff)) {
    throw propError(c, 'BAD_ARGUMENT', `OXM id (class ${oxmClass}, field ${oxmField}, length ${length}) does not fit a 16/7/8-bit OXM header`);
  }
  return ((oxmClass << 16) | (oxmField << 9) | (hasMask ? 0x100 : 0) | length) >>> 0;
}

function isUint(v: unknown, max: number): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
}

// ---------------------------------------------------------------------------------------------

function encodeRequest(w: BufferWriter, m: MultipartRequest): void {
  const c: Ctx = { w, base: w.pos - OFP_HEADER_LEN };
  writeMultipartHeader(c, m.body.kind, m.flags);
  writeRequestBody(c, m.body);
}

function encodeReply(w: BufferWriter, m: MultipartReply): void {
  const c: Ctx = { w, base: w.pos - OFP_HEADER_LEN };
  writeMultipartHeader(c, m.body.kind, m.flags);
  writeReplyBody(c, m.body);
}

export const encoders: EncoderTable = {
  MULTIPART_REQUEST: encodeRequest,
  MULTIPART_REPLY: encodeReply,
};
