/**
 * Range-checked field writers for the message encoders. BufferWriter masks what it is given,
 * which would silently turn priority 70000 into 4464; these refuse instead, with an
 * OpenFlowError (BAD_REQUEST/BAD_LEN: the value needs more bits than its field has) that
 * names the message field and its offset. `base` is the writer position of the message's
 * first header byte, so offsets match the ones decoders report.
 */
import { OFP_HEADER_LEN } from '../constants.js';
import { ofpError, type OpenFlowError } from '../errors.js';
import type { BufferWriter } from '../writer.js';
import type { ErrorType } from '../constants.js';

const U64_MAX = 0xffff_ffff_ffff_ffffn;

/** Position of the header's first byte, for an encoder called with `w` at the body start. */
export function messageBase(w: BufferWriter): number {
  return w.pos - OFP_HEADER_LEN;
}

/** Any value as it should appear in an error message (strings quoted, bigints with `n`). */
export function show(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`;
  if (typeof value === 'object' && value !== null) return 'an object';
  return String(value);
}

export function tooWide(w: BufferWriter, base: number, what: string, value: unknown, bits: number): OpenFlowError {
  return ofpError('BAD_REQUEST', 'BAD_LEN', w.pos - base, `${what} must be an unsigned ${bits}-bit integer, got ${show(value)}`);
}

export function u8(w: BufferWriter, base: number, v: number, what: string): void {
  if (typeof v !== 'number' || (v & 0xff) !== v) throw tooWide(w, base, what, v, 8);
  w.u8(v);
}

export function u16(w: BufferWriter, base: number, v: number, what: string): void {
  if (typeof v !== 'number' || (v & 0xffff) !== v) throw tooWide(w, base, what, v, 16);
  w.u16(v);
}

export function u32(w: BufferWriter, base: number, v: number, what: string): void {
  if (typeof v !== 'number' || v >>> 0 !== v) throw tooWide(w, base, what, v, 32);
  w.u32(v);
}

export function u64(w: BufferWriter, base: number, v: bigint, what: string): void {
  if (typeof v !== 'bigint' || v < 0n || v > U64_MAX) throw tooWide(w, base, what, v, 64);
  w.u64(v);
}

/** A payload that must be a Buffer/Uint8Array (a string here is a common mistake). */
export function bytes(w: BufferWriter, base: number, v: Uint8Array, what: string): void {
  if (!(v instanceof Uint8Array)) {
    throw ofpError('BAD_REQUEST', 'BAD_LEN', w.pos - base, `${what} must be a Buffer, got ${typeof v}`);
  }
  w.bytes(v);
}

/** A list field (elements, queues, ...): must be an array. */
export function array<T>(w: BufferWriter, base: number, v: T[], what: string): T[] {
  if (!Array.isArray(v)) {
    throw ofpError('BAD_REQUEST', 'BAD_LEN', w.pos - base, `${what} must be an array, got ${v === null ? 'null' : typeof v}`);
  }
  return v;
}

/** A nested structure field (port description, ...): must be an object. */
export function object<T>(w: BufferWriter, base: number, v: T, what: string): T {
  if (typeof v !== 'object' || v === null) {
    throw ofpError('BAD_REQUEST', 'BAD_LEN', w.pos - base, `${what} must be an object, got ${v === null ? 'null' : typeof v}`);
  }
  return v;
}

/**
 * The wire code of a closed enum given by name; an unknown name raises the OpenFlow error a
 * switch would answer with (e.g. FLOW_MOD_FAILED/BAD_COMMAND), at the field's offset.
 */
export function enumCode<T extends keyof typeof ErrorType>(
  w: BufferWriter,
  base: number,
  names: readonly string[],
  name: string,
  what: string,
  errType: T,
  errCode: string,
): number {
  const code = names.indexOf(name);
  if (code < 0) {
    throw ofpError(errType, errCode, w.pos - base, `${what} ${show(name)} is not one of ${names.join(', ')}`);
  }
  return code;
}

/**
 * The wire code of an informational enum: a name of the set, or any number that fits
 * `bits` (codes outside the 1.3 set are carried as numbers).
 */
export function openEnumCode(
  w: BufferWriter,
  base: number,
  names: readonly string[],
  value: string | number,
  what: string,
  bits: number,
): number {
  if (typeof value !== 'string') {
    if (typeof value !== 'number' || value >>> 0 !== value || (bits < 32 && value >= 2 ** bits)) throw tooWide(w, base, what, value, bits);
    return value;
  }
  const code = names.indexOf(value);
  if (code < 0) {
    throw ofpError('BAD_REQUEST', 'BAD_LEN', w.pos - base, `${what} ${show(value)} is neither one of ${names.join(', ')} nor a number`);
  }
  return code;
}
