/**
 * ofp_match (OFPMT_OXM) and OXM TLVs, objects → bytes (spec 7.2.3).
 *
 * The encoder writes what it is given, in order, including matches `validateMatch` would
 * reject (duplicates, masks on non-maskable fields, missing prerequisites): it only refuses
 * what cannot be put on the wire at all, such as an unknown field name or a value that is not
 * of the field's kind or does not fit its width. Error offsets are the writer position.
 */
import { parseIpv4Into, parseIpv6Into, parseMacInto } from '../addr.js';
import { ofpError, type OpenFlowError } from '../errors.js';
import {
  KindCode, OXM_CLASS_EXPERIMENTER, OxmContext, oxmFieldByName, type OxmFieldSpec,
} from '../oxm-fields.js';
import type { Match, OxmField } from '../types/match.js';
import type { BufferWriter } from '../writer.js';

const OFPMT_OXM = 1;
const MAX_UINT = [0, 0xff, 0xffff, 0xffffff, 0xffffffff];

export function writeMatch(w: BufferWriter, m: Match): void {
  const start = w.pos;
  const fields = m?.fields;
  if (!Array.isArray(fields)) throw ofpError('BAD_MATCH', 'BAD_LEN', start, 'match.fields must be an array of OXM fields');
  w.u16(OFPMT_OXM).u16(0);
  try {
    for (let i = 0; i < fields.length; i++) writeOxm(w, fields[i]!, OxmContext.MATCH);
  } catch (err) {
    w.pos = start;
    throw err;
  }
  const length = w.pos - start;
  if (length > 0xffff) {
    w.pos = start;
    throw ofpError('BAD_MATCH', 'BAD_LEN', start, `match of ${length} bytes exceeds the 16-bit length field`);
  }
  w.patchU16(start + 2, length);
  padTo8(w, start);
}

/** Writes one OXM TLV (errors as in a match). */
export function writeOxmField(w: BufferWriter, f: OxmField): void {
  writeOxm(w, f, OxmContext.MATCH);
}

function fieldError(ctx: OxmContext, at: number, detail: string): OpenFlowError {
  return ctx === OxmContext.MATCH
    ? ofpError('BAD_MATCH', 'BAD_FIELD', at, detail)
    : ofpError('BAD_ACTION', 'BAD_SET_TYPE', at, detail);
}

function valueError(ctx: OxmContext, mask: boolean, at: number, detail: string): OpenFlowError {
  if (ctx === OxmContext.SET_FIELD) return ofpError('BAD_ACTION', 'BAD_SET_ARGUMENT', at, detail);
  return ofpError('BAD_MATCH', mask ? 'BAD_MASK' : 'BAD_VALUE', at, detail);
}

function lenError(ctx: OxmContext, at: number, detail: string): OpenFlowError {
  return ctx === OxmContext.MATCH
    ? ofpError('BAD_MATCH', 'BAD_LEN', at, detail)
    : ofpError('BAD_ACTION', 'BAD_SET_LEN', at, detail);
}

/** Writes one OXM TLV; `ctx` selects the error type (match or set-field action). */
export function writeOxm(w: BufferWriter, f: OxmField, ctx: OxmContext): void {
  const at = w.pos;
  if (f === null || typeof f !== 'object') throw fieldError(ctx, at, `OXM field must be an object, got ${String(f)}`);
  if (f.field === 'opaque') {
    writeOpaque(w, f.oxmClass, f.oxmField, f.hasMask, f.data, ctx);
    return;
  }
  const spec = oxmFieldByName(f.field);
  if (spec === undefined) throw fieldError(ctx, at, `unknown OXM field ${JSON.stringify(f.field)}`);
  const hasMask = f.mask !== undefined;
  if (hasMask && ctx === OxmContext.SET_FIELD) {
    throw valueError(ctx, true, at, `set-field ${spec.name}: OpenFlow 1.3 set-field actions cannot carry a mask`);
  }
  const len = spec.length;
  w.u32((0x80000000 | (spec.code << 9) | (hasMask ? 0x100 | (len * 2) : len)) >>> 0);
  let problem = writeValue(w, spec, f.value);
  if (problem !== null) {
    w.pos = at;
    throw valueError(ctx, false, at, `${spec.name} value: ${problem}`);
  }
  if (hasMask) {
    problem = writeValue(w, spec, f.mask);
    if (problem !== null) {
      w.pos = at;
      throw valueError(ctx, true, at, `${spec.name} mask: ${problem}`);
    }
  }
}

/**
 * Appends zero bytes with plain stores: BufferWriter.zeros goes through Buffer.fill, whose
 * native call costs more than the few bytes of padding OpenFlow structures need.
 */
export function writePad(w: BufferWriter, n: number): void {
  while (n >= 4) {
    w.u32(0);
    n -= 4;
  }
  if (n >= 2) {
    w.u16(0);
    n -= 2;
  }
  if (n === 1) w.u8(0);
}

/** Zero padding from `from` up to the next multiple of 8. */
export function padTo8(w: BufferWriter, from: number): void {
  const over = (w.pos - from) & 7;
  if (over !== 0) writePad(w, 8 - over);
}

/**
 * Appends a value of `spec`'s kind; returns null, or why it cannot be written (nothing written
 * then). The bytes are written in place by oxmValueInto, the validation's writer, so both agree.
 */
function writeValue(w: BufferWriter, spec: OxmFieldSpec, v: unknown): string | null {
  const at = w.reserve(spec.length);
  const problem = oxmValueInto(spec, v, w.buf, at);
  if (problem !== null) w.pos = at;
  return problem;
}

/**
 * A raw TLV of any class. Class 0x8000 is allowed too, so that a deliberately malformed basic
 * field can be sent (e.g. to test a switch); `validateMatch` reports such TLVs.
 */
function writeOpaque(w: BufferWriter, oxmClass: number, oxmField: number, hasMask: boolean, data: Buffer, ctx: OxmContext): void {
  const at = w.pos;
  if (!Number.isInteger(oxmClass) || oxmClass < 0 || oxmClass > 0xffff) {
    throw fieldError(ctx, at, `opaque OXM: oxmClass ${String(oxmClass)} is not a 16-bit value`);
  }
  if (!Number.isInteger(oxmField) || oxmField < 0 || oxmField > 0x7f) {
    throw fieldError(ctx, at, `opaque OXM: oxmField ${String(oxmField)} is not a 7-bit value`);
  }
  if (typeof hasMask !== 'boolean') throw fieldError(ctx, at, 'opaque OXM: hasMask must be a boolean');
  if (hasMask && ctx === OxmContext.SET_FIELD) {
    throw valueError(ctx, true, at, 'OpenFlow 1.3 set-field actions cannot carry a mask');
  }
  if (!(data instanceof Uint8Array)) throw lenError(ctx, at, 'opaque OXM: data must be a Buffer');
  if (data.length < 1 || data.length > 0xff) {
    throw lenError(ctx, at, `opaque OXM (class 0x${oxmClass.toString(16)}, field ${oxmField}): payload of ${data.length} bytes, must be 1..255`);
  }
  if (oxmClass === OXM_CLASS_EXPERIMENTER && data.length < 4) {
    throw lenError(ctx, at, `experimenter OXM (field ${oxmField}): payload of ${data.length} bytes cannot hold the 4-byte experimenter id`);
  }
  w.u32(((oxmClass << 16) | (oxmField << 9) | (hasMask ? 0x100 : 0) | data.length) >>> 0);
  w.bytes(data);
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  return `${typeof v} ${String(v)}`;
}

/**
 * Writes a value of `spec`'s kind into out[at, at + spec.length); returns null, or why the
 * value cannot be written. Used by validation, which needs the bytes for mask checks.
 */
export function oxmValueInto(spec: OxmFieldSpec, v: unknown, out: Buffer, at: number): string | null {
  switch (spec.kindCode) {
    case KindCode.U8:
    case KindCode.U16:
    case KindCode.U24:
    case KindCode.U32: {
      const len = spec.length;
      const max = MAX_UINT[len]!;
      if (typeof v !== 'number' || !(v >= 0 && v <= max) || !Number.isInteger(v)) {
        return `expected an integer in 0..${max}, got ${describe(v)}`;
      }
      // Byte stores: the generic writeUIntBE is several times slower.
      if (len === 4) out.writeUInt32BE(v, at);
      else if (len === 2) {
        out[at] = v >>> 8;
        out[at + 1] = v & 0xff;
      } else if (len === 1) out[at] = v;
      else {
        out[at] = v >>> 16;
        out[at + 1] = (v >>> 8) & 0xff;
        out[at + 2] = v & 0xff;
      }
      return null;
    }
    case KindCode.U64:
      if (typeof v !== 'bigint' || BigInt.asUintN(64, v) !== v) return `expected a bigint in 0..2^64-1, got ${describe(v)}`;
      out.writeBigUInt64BE(v, at);
      return null;
    case KindCode.MAC:
      return parseMacInto(v as string, out, at) ? null : `expected a MAC address "aa:bb:cc:dd:ee:ff", got ${describe(v)}`;
    case KindCode.IPV4:
      return parseIpv4Into(v as string, out, at) ? null : `expected an IPv4 address "a.b.c.d", got ${describe(v)}`;
    case KindCode.IPV6:
      return parseIpv6Into(v as string, out, at) ? null : `expected an IPv6 address, got ${describe(v)}`;
  }
}
