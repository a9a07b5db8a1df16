import { MessageTypeCode } from '../constants.js';
import type { DecoderTable } from '../codec.js';
import type { BufferReader } from '../reader.js';
import {
  FlowRemovedReasonNames, PacketInReasonNames, PortReasonNames,
  type FlowRemoved, type PacketIn, type PortStatus,
} from '../types/async.js';
import { readMatch } from './match.js';
import { readPortDesc } from './structs.js';

/** ofp_packet_in: the frame is handed out as a view into the received buffer (no copy). */
function decodePacketIn(r: BufferReader, xid: number): PacketIn {
  const bufferId = r.u32();
  const totalLen = r.u16();
  const reasonCode = r.u8();
  const tableId = r.u8();
  const cookie = r.u64();
  const match = readMatch(r);
  r.skip(2);
  return {
    type: 'PACKET_IN', xid, bufferId, totalLen,
    reason: PacketInReasonNames[reasonCode] ?? reasonCode,
    tableId, cookie, match, data: r.rest(),
  };
}

function decodeFlowRemoved(r: BufferReader, xid: number): FlowRemoved {
  const cookie = r.u64();
  const priority = r.u16();
  const reasonCode = r.u8();
  const tableId = r.u8();
  const durationSec = r.u32();
  const durationNsec = r.u32();
  const idleTimeout = r.u16();
  const hardTimeout = r.u16();
  const packetCount = r.u64();
  const byteCount = r.u64();
  const match = readMatch(r);
  return {
    type: 'FLOW_REMOVED', xid, cookie, priority,
    reason: FlowRemovedReasonNames[reasonCode] ?? reasonCode,
    tableId, durationSec, durationNsec, idleTimeout, hardTimeout, packetCount, byteCount, match,
  };
}

function decodePortStatus(r: BufferReader, xid: number): PortStatus {
  const reasonCode = r.u8();
  r.skip(7);
  const desc = readPortDesc(r);
  return { type: 'PORT_STATUS', xid, reason: PortReasonNames[reasonCode] ?? reasonCode, desc };
}

export const decoders: DecoderTable = {
  [MessageTypeCode.PACKET_IN]: decodePacketIn,
  [MessageTypeCode.FLOW_REMOVED]: decodeFlowRemoved,
  [MessageTypeCode.PORT_STATUS]: decodePortStatus,
};
