import { MessageTypeCode } from '../constants.js';
import { ofpError } from '../errors.js';
import type { DecoderTable } from '../codec.js';
import type { BufferReader } from '../reader.js';
import { FlowModCommandNames, type FlowMod, type PacketOut } from '../types/flow.js';
import { readActions, readInstructions } from './actions.js';
import { readMatch } from './match.js';

/** ofp_packet_out: actions_len bytes of actions, then the frame (a view, no copy). */
function decodePacketOut(r: BufferReader, xid: number): PacketOut {
  const bufferId = r.u32();
  const inPort = r.u32();
  const actionsLenAt = r.offset;
  const actionsLen = r.u16();
  r.skip(6);
  if (actionsLen > r.remaining) {
    throw ofpError('BAD_REQUEST', 'BAD_LEN', actionsLenAt,
      `actions_len ${actionsLen} runs past the end of the message (${r.remaining} bytes left)`);
  }
  const actions = readActions(r, actionsLen);
  return { type: 'PACKET_OUT', xid, bufferId, inPort, actions, data: r.rest() };
}

/** ofp_flow_mod: fixed part, match, then instructions up to the end of the message. */
function decodeFlowMod(r: BufferReader, xid: number): FlowMod {
  const cookie = r.u64();
  const cookieMask = r.u64();
  const tableId = r.u8();
  const commandCode = r.u8();
  const command = FlowModCommandNames[commandCode];
  if (command === undefined) {
    throw ofpError('FLOW_MOD_FAILED', 'BAD_COMMAND', r.offset - 1, `flow mod command ${commandCode} is not ADD(0)..DELETE_STRICT(4)`);
  }
  const idleTimeout = r.u16();
  const hardTimeout = r.u16();
  const priority = r.u16();
  const bufferId = r.u32();
  const outPort = r.u32();
  const outGroup = r.u32();
  const flags = r.u16();
  r.skip(2);
  const match = readMatch(r);
  const instructions = readInstructions(r, r.remaining);
  return {
    type: 'FLOW_MOD', xid, cookie, cookieMask, tableId, command, idleTimeout, hardTimeout,
    priority, bufferId, outPort, outGroup, flags, match, instructions,
  };
}

export const decoders: DecoderTable = {
  [MessageTypeCode.PACKET_OUT]: decodePacketOut,
  [MessageTypeCode.FLOW_MOD]: decodeFlowMod,
};
