import type { Action } from './actions.js';

/** ofp_port (spec 7.2.1): a port description, in PORT_STATUS and port-desc replies. */
export interface PortDesc {
  portNo: number;
  hwAddr: string;
  /** Up to 15 characters (16-byte NUL-padded field). */
  name: string;
  /** OFPPC_* bits. */
  config: number;
  /** OFPPS_* bits. */
  state: number;
  /** OFPPF_* bits. */
  curr: number;
  advertised: number;
  supported: number;
  peer: number;
  /** kbps */
  currSpeed: number;
  maxSpeed: number;
}

/** ofp_bucket (spec 7.3.4.2), in GROUP_MOD and group-desc replies. */
export interface Bucket {
  weight: number;
  watchPort: number;
  watchGroup: number;
  actions: Action[];
}

/** Meter bands (spec 7.3.4.4), in METER_MOD and meter-config replies. */
export type MeterBand =
  | { type: 'DROP'; rate: number; burstSize: number }
  | { type: 'DSCP_REMARK'; rate: number; burstSize: number; precLevel: number }
  | { type: 'EXPERIMENTER'; rate: number; burstSize: number; experimenter: number; data: Buffer };

/** Queue properties (spec 7.2.2). */
export type QueueProperty =
  | { property: 'MIN_RATE'; rate: number }
  | { property: 'MAX_RATE'; rate: number }
  | { property: 'EXPERIMENTER'; experimenter: number; data: Buffer };

/** ofp_packet_queue, in QUEUE_GET_CONFIG_REPLY. */
export interface PacketQueue {
  queueId: number;
  port: number;
  properties: QueueProperty[];
}
