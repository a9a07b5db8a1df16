/**
 * FLOW multipart replies (ofp_flow_stats, spec 7.3.5.2) read without decoding each entry's
 * match and instructions into objects: each entry keeps those as the switch sent them, for a
 * reader that compares a switch's table with what it would send (a controller's restart reads
 * back a million flows, nearly all byte for byte what it wants) and decodes only those that
 * differ. The structure is checked here as the full decoder checks it (lengths, the match type,
 * every OXM and instruction TLV within its bounds); what the TLVs say is checked when decoded.
 */
import { MessageTypeCode, OFP_HEADER_LEN, OFP_VERSION } from '../constants.js';
import { ofpError } from '../errors.js';
import { OXM_CLASS_OPENFLOW_BASIC } from '../oxm-fields.js';
import { BufferReader } from '../reader.js';
import type { FlowStats } from '../types/index.js';
import { readInstructions } from './actions.js';
import { readMatch } from './match.js';

/**
 * One flow stats entry with its match and instructions as bytes. Table and priority are read at
 * once (a diff compares them first); the rest is read from the frame when asked for (ofp_flow_stats:
 * idle and hard timeouts at 14 and 16, flags at 18, cookie at 24): a restart keeps a million
 * entries through its read-back, and a BigInt and three fields less each is that much less for
 * the garbage collector to copy and promote.
 */
export class RawFlowStats {
  constructor(
    readonly tableId: number,
    readonly priority: number,
    /**
     * The reply message the entry is in: its ofp_match (with padding) is frame[start, instructionsAt),
     * its instructions frame[instructionsAt, end). Offsets, not a view per entry: a Buffer view
     * each was a tenth of a restart's garbage.
     */
    readonly frame: Buffer,
    readonly start: number,
    readonly instructionsAt: number,
    readonly end: number,
  ) {}

  /** Free for the reader's own bookkeeping (a diff notes there what it did with the entry); undefined until set. */
  mark: number | undefined = undefined;

  get cookie(): bigint {
    return this.frame.readBigUInt64BE(this.start - COOKIE_BEFORE_MATCH);
  }

  /**
   * Whether the cookie is the 8 bytes at `bytes[at]` (big-endian, as a FLOW_MOD carries it): a
   * restart's diff compares a million cookies, and reading each as a BigInt allocated ~100 B.
   */
  cookieIs(bytes: Buffer, at: number): boolean {
    const c = this.start - COOKIE_BEFORE_MATCH;
    return this.frame.readUInt32BE(c) === bytes.readUInt32BE(at) && this.frame.readUInt32BE(c + 4) === bytes.readUInt32BE(at + 4);
  }

  /** The cookie's high 32 bits: who owns the flow and its kind, without making a BigInt. */
  get cookieHigh(): number {
    return this.frame.readUInt32BE(this.start - COOKIE_BEFORE_MATCH);
  }

  get idleTimeout(): number {
    return this.frame.readUInt16BE(this.start - FLOW_STATS_FIXED + 14);
  }

  get hardTimeout(): number {
    return this.frame.readUInt16BE(this.start - FLOW_STATS_FIXED + 16);
  }

  get flags(): number {
    return this.frame.readUInt16BE(this.start - FLOW_STATS_FIXED + 18);
  }
}

/** ofp_flow_stats up to its match. */
const FLOW_STATS_FIXED = 48;
/** Where an entry's cookie starts (at 24), counted back from its match: three readers of it. */
const COOKIE_BEFORE_MATCH = FLOW_STATS_FIXED - 24;

/** The entry's match and instructions, as a view (tests, dumps). */
export function rawFlowBody(raw: RawFlowStats): Buffer {
  return raw.frame.subarray(raw.start, raw.end);
}

const OFPMT_OXM = 1;
const MULTIPART_FLOW = 1;
/** ofp_multipart_reply after the header: type, flags, pad. */
const MULTIPART_HEADER_LEN = 8;
const REPLY_MORE = 1;

/**
 * Reads a whole MULTIPART_REPLY message of type FLOW: whether more parts follow, and its
 * entries. Throws OpenFlowError (with the offset in the message) for anything malformed.
 */
export function readRawFlowStatsReply(frame: Buffer): { xid: number; more: boolean; flows: RawFlowStats[] } {
  if (frame.length < OFP_HEADER_LEN + MULTIPART_HEADER_LEN) {
    throw ofpError('BAD_REQUEST', 'BAD_LEN', 0, `multipart reply of ${frame.length} bytes is shorter than its ${OFP_HEADER_LEN + MULTIPART_HEADER_LEN}-byte header`);
  }
  if (frame[0] !== OFP_VERSION) throw ofpError('BAD_REQUEST', 'BAD_VERSION', 0, `version 0x${frame[0]!.toString(16)} is not OpenFlow 1.3 (0x04)`);
  if (frame[1] !== MessageTypeCode.MULTIPART_REPLY) throw ofpError('BAD_REQUEST', 'BAD_TYPE', 1, `message type ${frame[1]} is not MULTIPART_REPLY`);
  const declared = frame.readUInt16BE(2);
  if (declared !== frame.length) throw ofpError('BAD_REQUEST', 'BAD_LEN', 2, `header length ${declared} but the message has ${frame.length} bytes`);
  const kind = frame.readUInt16BE(8);
  if (kind !== MULTIPART_FLOW) throw ofpError('BAD_REQUEST', 'BAD_MULTIPART', 8, `multipart reply type ${kind} is not FLOW (1)`);
  const more = (frame.readUInt16BE(10) & REPLY_MORE) !== 0;
  const flows: RawFlowStats[] = [];
  let at = OFP_HEADER_LEN + MULTIPART_HEADER_LEN;
  while (at < frame.length) {
    const left = frame.length - at;
    if (left < 2) throw ofpError('BAD_REQUEST', 'BAD_LEN', at, `flow stats entry needs 2 bytes for its length, ${left} left`);
    const len = frame.readUInt16BE(at);
    if (len < FLOW_STATS_FIXED + 8) throw ofpError('BAD_REQUEST', 'BAD_LEN', at, `flow stats length ${len} is shorter than its ${FLOW_STATS_FIXED + 8}-byte minimum`);
    if (len > left) throw ofpError('BAD_REQUEST', 'BAD_LEN', at, `flow stats length ${len} runs past the end of the message (${left} bytes left)`);
    const end = at + len;
    const matchAt = at + FLOW_STATS_FIXED;
    const matchType = frame.readUInt16BE(matchAt);
    const matchLen = frame.readUInt16BE(matchAt + 2);
    if (matchType !== OFPMT_OXM) throw ofpError('BAD_MATCH', 'BAD_TYPE', matchAt, `match type ${matchType} is not OFPMT_OXM (1)`);
    if (matchLen < 4) throw ofpError('BAD_MATCH', 'BAD_LEN', matchAt + 2, `match length ${matchLen} is shorter than its 4-byte header`);
    const padded = (matchLen + 7) & ~7;
    if (matchAt + padded > end) throw ofpError('BAD_MATCH', 'BAD_LEN', matchAt + 2, `match length ${matchLen} (${padded} with padding) runs past its flow stats entry`);
    checkTlvs(frame, matchAt + 4, matchAt + matchLen, 4, 'OXM', 'BAD_MATCH');
    checkTlvs(frame, matchAt + padded, end, 4, 'instruction', 'BAD_INSTRUCTION');
    flows.push(new RawFlowStats(frame[at + 2]!, frame.readUInt16BE(at + 12), frame, matchAt, matchAt + padded, end));
    at = end;
  }
  return { xid: frame.readUInt32BE(4), more, flows };
}

/**
 * TLVs from `from` to `to`: OXMs (4-byte header, payload length in its last byte) or
 * instructions (type and length, 16 bits each, the length counting the header); each must fit.
 */
function checkTlvs(buf: Buffer, from: number, to: number, headerLen: number, what: string, errorType: 'BAD_MATCH' | 'BAD_INSTRUCTION'): void {
  let p = from;
  while (p < to) {
    if (to - p < headerLen) throw ofpError(errorType, 'BAD_LEN', p, `${what} header needs ${headerLen} bytes, ${to - p} left`);
    const size = what === 'OXM' ? 4 + buf[p + 3]! : buf.readUInt16BE(p + 2);
    if (size < headerLen || size > to - p) throw ofpError(errorType, 'BAD_LEN', p, `${what} of ${size} bytes does not fit the ${to - p} left`);
    p += size;
  }
}

/** The entry decoded as the full decoder would have (counters and durations zero: not kept). */
export function decodeRawFlowStats(raw: RawFlowStats): FlowStats {
  const r = new BufferReader(raw.frame, raw.start, raw.end, raw.start);
  const match = readMatch(r);
  const instructions = readInstructions(r, r.remaining);
  return {
    tableId: raw.tableId, durationSec: 0, durationNsec: 0, priority: raw.priority, idleTimeout: raw.idleTimeout, hardTimeout: raw.hardTimeout,
    flags: raw.flags, cookie: raw.cookie, packetCount: 0n, byteCount: 0n, match, instructions,
  };
}

/**
 * Where the value of the OpenFlow-basic OXM field `fieldCode` without a mask sits in the entry's
 * match (an offset into `frame`), or -1: the first such TLV.
 */
export function rawOxmValueAt(raw: RawFlowStats, fieldCode: number): number {
  const b = raw.frame;
  const end = raw.start + ((b[raw.start + 2]! << 8) | b[raw.start + 3]!);
  for (let p = raw.start + 4; p + 4 <= end; p += 4 + b[p + 3]!) {
    // OpenFlow-basic class, field << 1, no mask bit.
    if (((b[p]! << 8) | b[p + 1]!) === OXM_CLASS_OPENFLOW_BASIC && b[p + 2] === fieldCode << 1) return p + 4;
  }
  return -1;
}
