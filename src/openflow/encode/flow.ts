import type { EncoderTable } from '../codec.js';
import type { BufferWriter } from '../writer.js';
import { FlowModCommandNames, type FlowMod, type PacketOut } from '../types/flow.js';
import { writeActions, writeInstructions } from './actions.js';
import { writeMatch } from './match.js';
import { bytes, enumCode, messageBase, tooWide, u16, u32, u64, u8 } from './fields.js';

function encodePacketOut(w: BufferWriter, msg: PacketOut): void {
  const base = messageBase(w);
  u32(w, base, msg.bufferId, 'PACKET_OUT bufferId');
  u32(w, base, msg.inPort, 'PACKET_OUT inPort');
  const lenAt = w.pos;
  w.u16(0).u32(0).u16(0); // actions_len (patched below), pad
  const actionsStart = w.pos;
  writeActions(w, msg.actions);
  const actionsLen = w.pos - actionsStart;
  if (actionsLen > 0xffff) throw tooWide(w, base, 'PACKET_OUT actions length', actionsLen, 16);
  w.patchU16(lenAt, actionsLen);
  bytes(w, base, msg.data, 'PACKET_OUT data');
}

function encodeFlowMod(w: BufferWriter, msg: FlowMod): void {
  const base = messageBase(w);
  u64(w, base, msg.cookie, 'FLOW_MOD cookie');
  u64(w, base, msg.cookieMask, 'FLOW_MOD cookieMask');
  u8(w, base, msg.tableId, 'FLOW_MOD tableId');
  w.u8(enumCode(w, base, FlowModCommandNames, msg.command, 'FLOW_MOD command', 'FLOW_MOD_FAILED', 'BAD_COMMAND'));
  u16(w, base, msg.idleTimeout, 'FLOW_MOD idleTimeout');
  u16(w, base, msg.hardTimeout, 'FLOW_MOD hardTimeout');
  u16(w, base, msg.priority, 'FLOW_MOD priority');
  u32(w, base, msg.bufferId, 'FLOW_MOD bufferId');
  u32(w, base, msg.outPort, 'FLOW_MOD outPort');
  u32(w, base, msg.outGroup, 'FLOW_MOD outGroup');
  u16(w, base, msg.flags, 'FLOW_MOD flags');
  w.u16(0);
  writeMatch(w, msg.match);
  writeInstructions(w, msg.instructions);
}

export const encoders: EncoderTable = {
  PACKET_OUT: encodePacketOut,
  FLOW_MOD: encodeFlowMod,
};
