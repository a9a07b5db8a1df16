import type { EncoderTable } from '../codec.js';
import type { BufferWriter } from '../writer.js';
import {
  FlowRemovedReasonNames, PacketInReasonNames, PortReasonNames,
  type FlowRemoved, type PacketIn, type PortStatus,
} from '../types/async.js';
import { writeMatch } from './match.js';
import { writePortDesc } from './structs.js';
import { bytes, messageBase, object, openEnumCode, u16, u32, u64, u8 } from './fields.js';

function encodePacketIn(w: BufferWriter, msg: PacketIn): void {
  const base = messageBase(w);
  u32(w, base, msg.bufferId, 'PACKET_IN bufferId');
  u16(w, base, msg.totalLen, 'PACKET_IN totalLen');
  w.u8(openEnumCode(w, base, PacketInReasonNames, msg.reason, 'PACKET_IN reason', 8));
  u8(w, base, msg.tableId, 'PACKET_IN tableId');
  u64(w, base, msg.cookie, 'PACKET_IN cookie');
  writeMatch(w, msg.match);
  w.u16(0); // pad (u16 is cheaper than Buffer.fill for 2 bytes)
  bytes(w, base, msg.data, 'PACKET_IN data');
}

function encodeFlowRemoved(w: BufferWriter, msg: FlowRemoved): void {
  const base = messageBase(w);
  u64(w, base, msg.cookie, 'FLOW_REMOVED cookie');
  u16(w, base, msg.priority, 'FLOW_REMOVED priority');
  w.u8(openEnumCode(w, base, FlowRemovedReasonNames, msg.reason, 'FLOW_REMOVED reason', 8));
  u8(w, base, msg.tableId, 'FLOW_REMOVED tableId');
  u32(w, base, msg.durationSec, 'FLOW_REMOVED durationSec');
  u32(w, base, msg.durationNsec, 'FLOW_REMOVED durationNsec');
  u16(w, base, msg.idleTimeout, 'FLOW_REMOVED idleTimeout');
  u16(w, base, msg.hardTimeout, 'FLOW_REMOVED hardTimeout');
  u64(w, base, msg.packetCount, 'FLOW_REMOVED packetCount');
  u64(w, base, msg.byteCount, 'FLOW_REMOVED byteCount');
  writeMatch(w, msg.match);
}

function encodePortStatus(w: BufferWriter, msg: PortStatus): void {
  const base = messageBase(w);
  w.u8(openEnumCode(w, base, PortReasonNames, msg.reason, 'PORT_STATUS reason', 8));
  w.u32(0).u16(0).u8(0);
  writePortDesc(w, object(w, base, msg.desc, 'PORT_STATUS desc'));
}

export const encoders: EncoderTable = {
  PACKET_IN: encodePacketIn,
  FLOW_REMOVED: encodeFlowRemoved,
  PORT_STATUS: encodePortStatus,
};
