/** Controller-to-switch flow messages (spec 7.3.7, 7.3.4.1): PACKET_OUT and FLOW_MOD. */
import type { Action, Instruction } from './actions.js';
import type { Match } from './match.js';

/** ofp_packet_out. */
export interface PacketOut {
  type: 'PACKET_OUT';
  xid: number;
  /** Buffered packet to send, or NO_BUFFER (0xffffffff) when `data` carries the frame. */
  bufferId: number;
  /** Ingress port the pipeline sees (Port.CONTROLLER when the packet has none). */
  inPort: number;
  actions: Action[];
  /** The frame, used only when bufferId is NO_BUFFER (empty otherwise). */
  data: Buffer;
}

/** ofp_flow_mod_command, indexed by its wire code. */
export const FlowModCommandNames = ['ADD', 'MODIFY', 'MODIFY_STRICT', 'DELETE', 'DELETE_STRICT'] as const;
export type FlowModCommand = (typeof FlowModCommandNames)[number];

/** ofp_flow_mod. */
export interface FlowMod {
  type: 'FLOW_MOD';
  xid: number;
  cookie: bigint;
  /** For MODIFY/DELETE: only entries whose cookie matches under this mask (0 = all). */
  cookieMask: bigint;
  /** Table id, or Table.ALL (0xff) for DELETE. */
  tableId: number;
  command: FlowModCommand;
  /** Seconds, 0 = never. */
  idleTimeout: number;
  hardTimeout: number;
  priority: number;
  /** Buffered packet to apply the flow to, or NO_BUFFER. */
  bufferId: number;
  /** For DELETE: only entries that output to this port (Port.ANY = any). */
  outPort: number;
  /** For DELETE: only entries that output to this group (Group.ANY = any). */
  outGroup: number;
  /** OFPFF_* bits. */
  flags: number;
  match: Match;
  instructions: Instruction[];
}
