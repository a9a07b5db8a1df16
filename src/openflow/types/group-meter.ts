/**
 * Controller-to-switch table state messages (spec 7.3.3, 7.3.4.2-7.3.4.4): GROUP_MOD,
 * METER_MOD, PORT_MOD, TABLE_MOD.
 */
import type { Bucket, MeterBand } from './structs.js';

/** ofp_group_mod_command, indexed by its wire code. */
export const GroupModCommandNames = ['ADD', 'MODIFY', 'DELETE'] as const;
export type GroupModCommand = (typeof GroupModCommandNames)[number];

/** ofp_group_type, indexed by its wire code. */
export const GroupTypeNames = ['ALL', 'SELECT', 'INDIRECT', 'FF'] as const;
export type GroupType = (typeof GroupTypeNames)[number];

/** ofp_group_mod. */
export interface GroupMod {
  type: 'GROUP_MOD';
  xid: number;
  command: GroupModCommand;
  groupType: GroupType;
  /** Group id, or Group.ALL for DELETE of every group. */
  groupId: number;
  buckets: Bucket[];
}

/** ofp_meter_mod_command, indexed by its wire code. */
export const MeterModCommandNames = ['ADD', 'MODIFY', 'DELETE'] as const;
export type MeterModCommand = (typeof MeterModCommandNames)[number];

/** ofp_meter_mod. */
export interface MeterMod {
  type: 'METER_MOD';
  xid: number;
  command: MeterModCommand;
  /** OFPMF_* bits (KBPS 1, PKTPS 2, BURST 4, STATS 8). */
  flags: number;
  /** Meter id, or Meter.ALL for DELETE of every meter. */
  meterId: number;
  bands: MeterBand[];
}

/** ofp_port_mod. */
export interface PortMod {
  type: 'PORT_MOD';
  xid: number;
  portNo: number;
  /** Must equal the port's hardware address ("aa:bb:cc:dd:ee:ff"); the switch checks it. */
  hwAddr: string;
  /** OFPPC_* bits to set (those selected by `mask`). */
  config: number;
  /** OFPPC_* bits of `config` to change. */
  mask: number;
  /** OFPPF_* bits to advertise; 0 = leave unchanged. */
  advertise: number;
}

/** ofp_table_mod. */
export interface TableMod {
  type: 'TABLE_MOD';
  xid: number;
  /** Table id, or Table.ALL for every table. */
  tableId: number;
  /** OFPTC_* bits (deprecated in 1.3: only the value 0 is defined). */
  config: number;
}
