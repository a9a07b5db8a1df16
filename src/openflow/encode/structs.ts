/**
 * Shared structures, objects → bytes: ofp_port, ofp_bucket, meter bands, ofp_packet_queue and
 * queue properties (mirror of decode/structs.ts). Out-of-range values raise OpenFlowError
 * naming the field, with the error type of the structure's message family.
 */
import { writeMac } from '../addr.js';
import type { ErrorTypeName } from '../constants.js';
import { ofpError } from '../errors.js';
import type { Bucket, MeterBand, PacketQueue, PortDesc, QueueProperty } from '../types/structs.js';
import type { BufferWriter } from '../writer.js';
import { writeActions } from './actions.js';

function show(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : typeof v === 'bigint' ? `${v}n` : String(v);
}

function uint(v: unknown, max: number, type: ErrorTypeName, code: string, at: number, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw ofpError(type, code, at, `${what} must be an integer in 0..${max}, got ${show(v)}`);
  }
  return v;
}

function u32(v: unknown, type: ErrorTypeName, code: string, at: number, what: string): number {
  return uint(v, 0xffffffff, type, code, at, what);
}

/** Restores the writer on failure, so a caller never sees half a structure. */
function atomically(w: BufferWriter, write: () => void): void {
  const start = w.pos;
  try {
    write();
  } catch (err) {
    w.pos = start;
    throw err;
  }
}

/** ofp_port: 64 bytes. The name is at most 15 bytes (latin1) so that it stays NUL-terminated. */
export function writePortDesc(w: BufferWriter, p: PortDesc): void {
  atomically(w, () => {
    const at = w.pos;
    const T = 'PORT_MOD_FAILED';
    w.u32(u32(p.portNo, T, 'BAD_PORT', at, 'port portNo')).zeros(4);
    writeMac(w, p.hwAddr, T, 'BAD_HW_ADDR', 'port hwAddr');
    w.zeros(2);
    const name = p.name;
    // 16 characters fill the field with no NUL: switches send that, so it must re-encode.
    if (typeof name !== 'string' || name.length > 16 || /[^\x01-\xff]/.test(name)) {
      throw ofpError(T, 'BAD_CONFIG', at + 16, `port name must be a string of at most 16 latin1 characters without NUL, got ${show(name)}`);
    }
    w.fixedString(name, 16);
    w.u32(u32(p.config, T, 'BAD_CONFIG', at + 32, 'port config'));
    w.u32(u32(p.state, T, 'BAD_CONFIG', at + 36, 'port state'));
    w.u32(u32(p.curr, T, 'BAD_ADVERTISE', at + 40, 'port curr'));
    w.u32(u32(p.advertised, T, 'BAD_ADVERTISE', at + 44, 'port advertised'));
    w.u32(u32(p.supported, T, 'BAD_ADVERTISE', at + 48, 'port supported'));
    w.u32(u32(p.peer, T, 'BAD_ADVERTISE', at + 52, 'port peer'));
    w.u32(u32(p.currSpeed, T, 'BAD_CONFIG', at + 56, 'port currSpeed'));
    w.u32(u32(p.maxSpeed, T, 'BAD_CONFIG', at + 60, 'port maxSpeed'));
  });
}

export function writeBuckets(w: BufferWriter, buckets: Bucket[]): void {
  if (!Array.isArray(buckets)) throw ofpError('GROUP_MOD_FAILED', 'BAD_BUCKET', w.pos, 'buckets must be an array');
  atomically(w, () => {
    for (let i = 0; i < buckets.length; i++) {
      const b = buckets[i]!;
      const at = w.pos;
      if (b === null || typeof b !== 'object') throw ofpError('GROUP_MOD_FAILED', 'BAD_BUCKET', at, `bucket ${i} must be an object`);
      w.u16(0);
      w.u16(uint(b.weight, 0xffff, 'GROUP_MOD_FAILED', 'BAD_BUCKET', at, `bucket ${i} weight`));
      w.u32(u32(b.watchPort, 'GROUP_MOD_FAILED', 'BAD_WATCH', at, `bucket ${i} watchPort`));
      w.u32(u32(b.watchGroup, 'GROUP_MOD_FAILED', 'BAD_WATCH', at, `bucket ${i} watchGroup`));
      w.zeros(4);
      writeActions(w, b.actions);
      const len = w.pos - at;
      if (len > 0xffff) throw ofpError('GROUP_MOD_FAILED', 'BAD_BUCKET', at, `bucket ${i} of ${len} bytes exceeds the 16-bit length field`);
      w.patchU16(at, len);
    }
  });
}

export function writeMeterBands(w: BufferWriter, bands: MeterBand[]): void {
  if (!Array.isArray(bands)) throw ofpError('METER_MOD_FAILED', 'BAD_BAND', w.pos, 'bands must be an array');
  const T = 'METER_MOD_FAILED';
  atomically(w, () => {
    for (let i = 0; i < bands.length; i++) {
      const b = bands[i]!;
      const at = w.pos;
      if (b === null || typeof b !== 'object') throw ofpError(T, 'BAD_BAND', at, `meter band ${i} must be an object`);
      const rate = u32(b.rate, T, 'BAD_RATE', at + 4, `${b.type} band rate`);
      const burst = u32(b.burstSize, T, 'BAD_BURST', at + 8, `${b.type} band burstSize`);
      switch (b.type) {
        case 'DROP':
          w.u16(1).u16(16).u32(rate).u32(burst).zeros(4);
          break;
        case 'DSCP_REMARK':
          w.u16(2).u16(16).u32(rate).u32(burst).u8(uint(b.precLevel, 0xff, T, 'BAD_BAND_VALUE', at + 12, 'DSCP_REMARK band precLevel')).zeros(3);
          break;
        case 'EXPERIMENTER': {
          const experimenter = u32(b.experimenter, T, 'BAD_BAND', at + 12, 'EXPERIMENTER band experimenter');
          if (!(b.data instanceof Uint8Array) || 16 + b.data.length > 0xffff) {
            throw ofpError(T, 'BAD_BAND', at, 'EXPERIMENTER band data must be a Buffer of at most 65519 bytes');
          }
          w.u16(0xffff).u16(16 + b.data.length).u32(rate).u32(burst).u32(experimenter).bytes(b.data);
          break;
        }
        default:
          throw ofpError(T, 'BAD_BAND', at, `unknown meter band type ${show((b as { type: unknown }).type)}`);
      }
    }
  });
}

export function writePacketQueue(w: BufferWriter, q: PacketQueue): void {
  atomically(w, () => {
    const at = w.pos;
    w.u32(u32(q.queueId, 'QUEUE_OP_FAILED', 'BAD_QUEUE', at, 'queue queueId'));
    w.u32(u32(q.port, 'QUEUE_OP_FAILED', 'BAD_PORT', at + 4, 'queue port'));
    w.u16(0).zeros(6);
    writeQueueProperties(w, q.properties);
    const len = w.pos - at;
    if (len > 0xffff) throw ofpError('QUEUE_OP_FAILED', 'BAD_QUEUE', at, `queue ${q.queueId} of ${len} bytes exceeds the 16-bit length field`);
    w.patchU16(at + 8, len);
  });
}

export function writeQueueProperties(w: BufferWriter, props: QueueProperty[]): void {
  if (!Array.isArray(props)) throw ofpError('QUEUE_OP_FAILED', 'BAD_QUEUE', w.pos, 'queue properties must be an array');
  const T = 'QUEUE_OP_FAILED';
  atomically(w, () => {
    for (let i = 0; i < props.length; i++) {
      const prop = props[i]!;
      const at = w.pos;
      if (prop === null || typeof prop !== 'object') throw ofpError(T, 'BAD_QUEUE', at, `queue property ${i} must be an object`);
      switch (prop.property) {
        case 'MIN_RATE':
        case 'MAX_RATE':
          w.u16(prop.property === 'MIN_RATE' ? 1 : 2).u16(16).zeros(4);
          w.u16(uint(prop.rate, 0xffff, T, 'BAD_QUEUE', at + 8, `${prop.property} rate`)).zeros(6);
          break;
        case 'EXPERIMENTER': {
          const experimenter = u32(prop.experimenter, T, 'BAD_QUEUE', at + 8, 'EXPERIMENTER queue property experimenter');
          if (!(prop.data instanceof Uint8Array) || 16 + prop.data.length > 0xffff) {
            throw ofpError(T, 'BAD_QUEUE', at, 'EXPERIMENTER queue property data must be a Buffer of at most 65519 bytes');
          }
          w.u16(0xffff).u16(16 + prop.data.length).zeros(4).u32(experimenter).zeros(4).bytes(prop.data);
          break;
        }
        default:
          throw ofpError(T, 'BAD_QUEUE', at, `unknown queue property ${show((prop as { property: unknown }).property)}`);
      }
    }
  });
}
