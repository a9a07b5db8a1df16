import type { OxmField } from './match.js';

/** Actions (spec 7.2.5), discriminated by their OFPAT_* name. */
export type Action =
  | { type: 'OUTPUT'; port: number; maxLen: number }
  | { type: 'COPY_TTL_OUT' }
  | { type: 'COPY_TTL_IN' }
  | { type: 'SET_MPLS_TTL'; mplsTtl: number }
  | { type: 'DEC_MPLS_TTL' }
  | { type: 'PUSH_VLAN'; ethertype: number }
  | { type: 'POP_VLAN' }
  | { type: 'PUSH_MPLS'; ethertype: number }
  | { type: 'POP_MPLS'; ethertype: number }
  | { type: 'SET_QUEUE'; queueId: number }
  | { type: 'GROUP'; groupId: number }
  | { type: 'SET_NW_TTL'; nwTtl: number }
  | { type: 'DEC_NW_TTL' }
  /** One OXM TLV; the action is padded to a multiple of 8 on the wire. */
  | { type: 'SET_FIELD'; field: OxmField }
  | { type: 'PUSH_PBB'; ethertype: number }
  | { type: 'POP_PBB' }
  /** Vendor action (e.g. Nicira NXAST_*): `data` is everything after the experimenter id, padding included. */
  | { type: 'EXPERIMENTER'; experimenter: number; data: Buffer };

export type ActionType = Action['type'];

/** Instructions (spec 7.2.4), discriminated by their OFPIT_* name. */
export type Instruction =
  | { type: 'GOTO_TABLE'; tableId: number }
  | { type: 'WRITE_METADATA'; metadata: bigint; metadataMask: bigint }
  | { type: 'WRITE_ACTIONS'; actions: Action[] }
  | { type: 'APPLY_ACTIONS'; actions: Action[] }
  | { type: 'CLEAR_ACTIONS' }
  | { type: 'METER'; meterId: number }
  | { type: 'EXPERIMENTER'; experimenter: number; data: Buffer };

export type InstructionType = Instruction['type'];
