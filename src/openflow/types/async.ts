/**
 * Asynchronous switch-to-controller messages (spec 7.4.1-7.4.3). Their `reason` fields are
 * informational, and switches send values newer specs define (e.g. OVS's FLOW_REMOVED
 * reasons), so a code outside the OpenFlow 1.3 set is kept as its number.
 */
import type { Match } from './match.js';
import type { PortDesc } from './structs.js';

/** ofp_packet_in_reason, indexed by its wire code. */
export const PacketInReasonNames = ['NO_MATCH', 'ACTION', 'INVALID_TTL'] as const;
export type PacketInReason = (typeof PacketInReasonNames)[number];

/** ofp_packet_in. */
export interface PacketIn {
  type: 'PACKET_IN';
  xid: number;
  /** Switch buffer holding the packet, or NO_BUFFER (0xffffffff). */
  bufferId: number;
  /** Full length of the frame (`data` may be shorter when truncated to miss_send_len/max_len). */
  totalLen: number;
  /** A name of the 1.3 set, or the raw code for any other value. */
  reason: PacketInReason | number;
  tableId: number;
  /** Cookie of the flow entry that sent the packet (all ones when none applies). */
  cookie: bigint;
  /** Pipeline fields of the packet (in_port first). */
  match: Match;
  /** The frame (possibly truncated); after a decode, a view into the received buffer. */
  data: Buffer;
}

/** ofp_flow_removed_reason, indexed by its wire code. */
export const FlowRemovedReasonNames = ['IDLE_TIMEOUT', 'HARD_TIMEOUT', 'DELETE', 'GROUP_DELETE'] as const;
export type FlowRemovedReason = (typeof FlowRemovedReasonNames)[number];

/** ofp_flow_removed. */
export interface FlowRemoved {
  type: 'FLOW_REMOVED';
  xid: number;
  cookie: bigint;
  priority: number;
  reason: FlowRemovedReason | number;
  tableId: number;
  durationSec: number;
  durationNsec: number;
  idleTimeout: number;
  hardTimeout: number;
  packetCount: bigint;
  byteCount: bigint;
  match: Match;
}

/** ofp_port_reason, indexed by its wire code. */
export const PortReasonNames = ['ADD', 'DELETE', 'MODIFY'] as const;
export type PortReason = (typeof PortReasonNames)[number];

/** ofp_port_status. */
export interface PortStatus {
  type: 'PORT_STATUS';
  xid: number;
  reason: PortReason | number;
  desc: PortDesc;
}
