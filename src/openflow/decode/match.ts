/**
 * ofp_match (OFPMT_OXM) and OXM TLVs, bytes → objects (spec 7.2.3).
 *
 * Decoding checks structure only (lengths, the match type): duplicates, masks on
 * non-maskable fields and missing prerequisites are left to `validateMatch`, so that whatever
 * a switch sends can be read, shown and re-encoded byte for byte.
 */
import { formatIpv4, formatIpv6, formatMac } from '../addr.js';
import { ofpError, type OpenFlowError } from '../errors.js';
import { KindCode, OXM_CLASS_EXPERIMENTER, OXM_CLASS_OPENFLOW_BASIC, OXM_FIELDS, OxmContext } from '../oxm-fields.js';
import type { BufferReader } from '../reader.js';
import type { Match, OxmField, OxmValue } from '../types/match.js';

const OFPMT_OXM = 1;

function badLen(ctx: OxmContext, offset: number, detail: string): OpenFlowError {
  return ctx === OxmContext.MATCH
    ? ofpError('BAD_MATCH', 'BAD_LEN', offset, detail)
    : ofpError('BAD_ACTION', 'BAD_SET_LEN', offset, detail);
}

/**
 * Reads an ofp_match at the cursor: type, length, the TLVs, and the zero padding up to a
 * multiple of 8, leaving the cursor after the padding.
 */
export function readMatch(r: BufferReader): Match {
  const at = r.pos - r.base;
  if (r.end - r.pos < 4) throw ofpError('BAD_MATCH', 'BAD_LEN', at, `match header needs 4 bytes, ${r.end - r.pos} left`);
  const buf = r.buf;
  const type = (buf[r.pos]! << 8) | buf[r.pos + 1]!;
  const length = (buf[r.pos + 2]! << 8) | buf[r.pos + 3]!;
  if (type !== OFPMT_OXM) {
    throw ofpError('BAD_MATCH', 'BAD_TYPE', at, `match type ${type} is not OFPMT_OXM (1)${type === 0 ? '; OFPMT_STANDARD is OpenFlow 1.1 only' : ''}`);
  }
  if (length < 4) throw ofpError('BAD_MATCH', 'BAD_LEN', at + 2, `match length ${length} is shorter than its 4-byte header`);
  const padded = (length + 7) & ~7;
  if (padded > r.end - r.pos) {
    throw ofpError('BAD_MATCH', 'BAD_LEN', at + 2, `match length ${length} (${padded} with padding) but only ${r.end - r.pos} bytes left`);
  }
  const start = r.pos;
  const end = start + length;
  r.pos += 4;
  const fields: OxmField[] = [];
  // r.end is narrowed to the match while its TLVs are read, so a TLV cannot run past it.
  const outerEnd = r.end;
  r.end = end;
  try {
    while (r.pos < end) fields.push(readOxm(r, OxmContext.MATCH));
  } finally {
    r.end = outerEnd;
  }
  r.pos = start + padded;
  return { fields };
}

/** Reads one OXM TLV at the cursor (errors as in a match). */
export function readOxmField(r: BufferReader): OxmField {
  return readOxm(r, OxmContext.MATCH);
}

/** Reads one OXM TLV at the cursor; `ctx` selects the error type for a malformed TLV. */
export function readOxm(r: BufferReader, ctx: OxmContext): OxmField {
  const at = r.pos - r.base;
  const left = r.end - r.pos;
  if (left < 4) throw badLen(ctx, at, `OXM header needs 4 bytes, ${left} left`);
  const buf = r.buf;
  const p = r.pos;
  const oxmClass = (buf[p]! << 8) | buf[p + 1]!;
  const fieldByte = buf[p + 2]!;
  const oxmField = fieldByte >>> 1;
  const hasMask = (fieldByte & 1) === 1;
  const length = buf[p + 3]!;
  if (length === 0) throw badLen(ctx, at + 3, `OXM TLV (class 0x${oxmClass.toString(16)}, field ${oxmField}) has oxm_length 0`);
  if (length > left - 4) {
    throw badLen(ctx, at + 3, `OXM TLV (class 0x${oxmClass.toString(16)}, field ${oxmField}) oxm_length ${length} but only ${left - 4} bytes left`);
  }
  const v = p + 4;
  const spec = oxmClass === OXM_CLASS_OPENFLOW_BASIC ? OXM_FIELDS[oxmField] : undefined;
  if (spec === undefined) {
    if (oxmClass === OXM_CLASS_EXPERIMENTER && length < 4) {
      throw badLen(ctx, at + 3, `experimenter OXM TLV (field ${oxmField}) oxm_length ${length} cannot hold the 4-byte experimenter id`);
    }
    r.pos = v + length;
    return { field: 'opaque', oxmClass, oxmField, hasMask, data: buf.subarray(v, v + length) };
  }
  const expected = hasMask ? spec.length * 2 : spec.length;
  if (length !== expected) {
    throw badLen(ctx, at + 3, `OXM ${spec.name}${hasMask ? ' (masked)' : ''} needs oxm_length ${expected}, got ${length}`);
  }
  r.pos = v + length;
  const value = readValue(buf, v, spec.kindCode);
  if (!hasMask) return { field: spec.name, value };
  return { field: spec.name, value, mask: readValue(buf, v + spec.length, spec.kindCode) };
}

function readValue(buf: Buffer, p: number, kind: KindCode): OxmValue {
  switch (kind) {
    case KindCode.U8:
      return buf[p]!;
    case KindCode.U16:
      return (buf[p]! << 8) | buf[p + 1]!;
    case KindCode.U24:
      return (buf[p]! << 16) | (buf[p + 1]! << 8) | buf[p + 2]!;
    case KindCode.U32:
      return buf.readUInt32BE(p);
    case KindCode.U64:
      return buf.readBigUInt64BE(p);
    case KindCode.MAC:
      return formatMac(buf, p);
    case KindCode.IPV4:
      return formatIpv4(buf, p);
    case KindCode.IPV6:
      return formatIpv6(buf, p);
  }
}
