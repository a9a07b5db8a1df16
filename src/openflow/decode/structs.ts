/**
 * Shared structures, bytes → objects: ofp_port (spec 7.2.1), ofp_bucket (7.3.4.2), meter
 * bands (7.3.4.4), ofp_packet_queue and its properties (7.2.2). Length errors use the error
 * type of the message family the structure belongs to (GROUP_MOD_FAILED/BAD_BUCKET,
 * METER_MOD_FAILED/BAD_BAND, BAD_REQUEST/BAD_LEN for ports and queues).
 */
import { formatMac } from '../addr.js';
import { ofpError } from '../errors.js';
import type { BufferReader } from '../reader.js';
import type { Bucket, MeterBand, PacketQueue, PortDesc, QueueProperty } from '../types/structs.js';
import { readActions } from './actions.js';

export const PORT_DESC_LEN = 64;
const BUCKET_HEADER_LEN = 16;
const METER_BAND_LEN = 16;
const PACKET_QUEUE_HEADER_LEN = 16;
const QUEUE_PROP_LEN = 16;

/** ofp_port: 64 bytes. */
export function readPortDesc(r: BufferReader): PortDesc {
  r.need(PORT_DESC_LEN, 'port description (ofp_port)');
  const buf = r.buf;
  const p = r.pos;
  const portNo = buf.readUInt32BE(p);
  const hwAddr = formatMac(buf, p + 8);
  r.pos = p + 16;
  const name = r.fixedString(16);
  const port: PortDesc = {
    portNo,
    hwAddr,
    name,
    config: buf.readUInt32BE(p + 32),
    state: buf.readUInt32BE(p + 36),
    curr: buf.readUInt32BE(p + 40),
    advertised: buf.readUInt32BE(p + 44),
    supported: buf.readUInt32BE(p + 48),
    peer: buf.readUInt32BE(p + 52),
    currSpeed: buf.readUInt32BE(p + 56),
    maxSpeed: buf.readUInt32BE(p + 60),
  };
  r.pos = p + PORT_DESC_LEN;
  return port;
}

/** End of a list of `length` bytes at the cursor, checked against what is left. */
function listEnd(r: BufferReader, length: number, type: 'GROUP_MOD_FAILED' | 'METER_MOD_FAILED' | 'BAD_REQUEST', code: string, what: string): number {
  const left = r.end - r.pos;
  if (!(length >= 0 && length <= left)) throw ofpError(type, code, r.pos - r.base, `${what} of ${length} bytes but only ${left} left`);
  return r.pos + length;
}

/** Exactly `length` bytes of ofp_bucket. */
export function readBuckets(r: BufferReader, length: number): Bucket[] {
  const end = listEnd(r, length, 'GROUP_MOD_FAILED', 'BAD_BUCKET', 'bucket list');
  const buckets: Bucket[] = [];
  const buf = r.buf;
  while (r.pos < end) {
    const p = r.pos;
    const at = p - r.base;
    const left = end - p;
    if (left < BUCKET_HEADER_LEN) throw ofpError('GROUP_MOD_FAILED', 'BAD_BUCKET', at, `bucket needs at least 16 bytes, ${left} left`);
    const len = (buf[p]! << 8) | buf[p + 1]!;
    if (len < BUCKET_HEADER_LEN || (len & 7) !== 0) throw ofpError('GROUP_MOD_FAILED', 'BAD_BUCKET', at, `bucket len ${len} is not a multiple of 8 of at least 16`);
    if (len > left) throw ofpError('GROUP_MOD_FAILED', 'BAD_BUCKET', at, `bucket len ${len} but only ${left} bytes left`);
    const weight = (buf[p + 2]! << 8) | buf[p + 3]!;
    const watchPort = buf.readUInt32BE(p + 4);
    const watchGroup = buf.readUInt32BE(p + 8);
    r.pos = p + BUCKET_HEADER_LEN;
    const actions = readActions(r, len - BUCKET_HEADER_LEN);
    buckets.push({ weight, watchPort, watchGroup, actions });
  }
  return buckets;
}

/** Exactly `length` bytes of ofp_meter_band_*. */
export function readMeterBands(r: BufferReader, length: number): MeterBand[] {
  const end = listEnd(r, length, 'METER_MOD_FAILED', 'BAD_BAND', 'meter band list');
  const bands: MeterBand[] = [];
  const buf = r.buf;
  while (r.pos < end) {
    const p = r.pos;
    const at = p - r.base;
    const left = end - p;
    if (left < METER_BAND_LEN) throw ofpError('METER_MOD_FAILED', 'BAD_BAND', at, `meter band needs at least 16 bytes, ${left} left`);
    const type = (buf[p]! << 8) | buf[p + 1]!;
    const len = (buf[p + 2]! << 8) | buf[p + 3]!;
    if (len < METER_BAND_LEN || len > left) {
      throw ofpError('METER_MOD_FAILED', 'BAD_BAND', at + 2, `meter band type ${type}: len ${len} outside 16..${left}`);
    }
    const rate = buf.readUInt32BE(p + 4);
    const burstSize = buf.readUInt32BE(p + 8);
    switch (type) {
      case 1:
      case 2:
        if (len !== METER_BAND_LEN) throw ofpError('METER_MOD_FAILED', 'BAD_BAND', at + 2, `${type === 1 ? 'DROP' : 'DSCP_REMARK'} band len must be 16, got ${len}`);
        bands.push(type === 1
          ? { type: 'DROP', rate, burstSize }
          : { type: 'DSCP_REMARK', rate, burstSize, precLevel: buf[p + 12]! });
        break;
      case 0xffff:
        bands.push({ type: 'EXPERIMENTER', rate, burstSize, experimenter: buf.readUInt32BE(p + 12), data: buf.subarray(p + 16, p + len) });
        break;
      default:
        throw ofpError('METER_MOD_FAILED', 'BAD_BAND', at, `unknown meter band type ${type}`);
    }
    r.pos = p + len;
  }
  return bands;
}

/** One ofp_packet_queue with its properties. */
export function readPacketQueue(r: BufferReader): PacketQueue {
  const p = r.pos;
  const at = p - r.base;
  const left = r.end - p;
  if (left < PACKET_QUEUE_HEADER_LEN) throw ofpError('BAD_REQUEST', 'BAD_LEN', at, `packet queue needs at least 16 bytes, ${left} left`);
  const buf = r.buf;
  const queueId = buf.readUInt32BE(p);
  const port = buf.readUInt32BE(p + 4);
  const len = (buf[p + 8]! << 8) | buf[p + 9]!;
  if (len < PACKET_QUEUE_HEADER_LEN || len > left) {
    throw ofpError('BAD_REQUEST', 'BAD_LEN', at + 8, `packet queue ${queueId}: len ${len} outside 16..${left}`);
  }
  r.pos = p + PACKET_QUEUE_HEADER_LEN;
  const properties = readQueueProperties(r, len - PACKET_QUEUE_HEADER_LEN);
  return { queueId, port, properties };
}

/** Exactly `length` bytes of ofp_queue_prop_*. */
export function readQueueProperties(r: BufferReader, length: number): QueueProperty[] {
  const end = listEnd(r, length, 'BAD_REQUEST', 'BAD_LEN', 'queue property list');
  const props: QueueProperty[] = [];
  const buf = r.buf;
  while (r.pos < end) {
    const p = r.pos;
    const at = p - r.base;
    const left = end - p;
    if (left < QUEUE_PROP_LEN) throw ofpError('BAD_REQUEST', 'BAD_LEN', at, `queue property needs at least 16 bytes, ${left} left`);
    const property = (buf[p]! << 8) | buf[p + 1]!;
    const len = (buf[p + 2]! << 8) | buf[p + 3]!;
    if (len < QUEUE_PROP_LEN || len > left) {
      throw ofpError('BAD_REQUEST', 'BAD_LEN', at + 2, `queue property ${property}: len ${len} outside 16..${left}`);
    }
    switch (property) {
      case 1:
      case 2:
        if (len !== QUEUE_PROP_LEN) throw ofpError('BAD_REQUEST', 'BAD_LEN', at + 2, `${property === 1 ? 'MIN_RATE' : 'MAX_RATE'} queue property len must be 16, got ${len}`);
        props.push({ property: property === 1 ? 'MIN_RATE' : 'MAX_RATE', rate: (buf[p + 8]! << 8) | buf[p + 9]! });
        break;
      case 0xffff:
        props.push({ property: 'EXPERIMENTER', experimenter: buf.readUInt32BE(p + 8), data: buf.subarray(p + 16, p + len) });
        break;
      default:
        throw ofpError('QUEUE_OP_FAILED', 'BAD_QUEUE', at, `unknown queue property type ${property}`);
    }
    r.pos = p + len;
  }
  return props;
}
