/**
 * MULTIPART_REQUEST / MULTIPART_REPLY (spec 1.3.5 section 7.3.5). The body is discriminated by
 * `kind`, the OFPMP_* name without prefix. Request bodies are named `...Request`, reply bodies
 * `...Reply`; the entries of list replies carry the name of their ofp_* structure
 * (`FlowStats` = ofp_flow_stats, `TableFeatures` = ofp_table_features, ...).
 *
 * Counters are `bigint` where the wire field is 64 bits. Durations are kept as the two wire
 * fields (`durationSec`, `durationNsec`) so no precision is lost.
 */
import type { ActionType, Instruction, InstructionType } from './actions.js';
import type { Match, OxmFieldName } from './match.js';
import type { Bucket, MeterBand, PortDesc } from './structs.js';
import type { GroupType } from './group-meter.js';

// ---------------------------------------------------------------------------------------------
// Wire codes. They live next to the names they map so decode and encode share one table.

/** ofp_multipart_type codes by our `kind` name. */
export const MultipartTypeCode = {
  DESC: 0,
  FLOW: 1,
  AGGREGATE: 2,
  TABLE: 3,
  PORT_STATS: 4,
  QUEUE: 5,
  GROUP: 6,
  GROUP_DESC: 7,
  GROUP_FEATURES: 8,
  METER: 9,
  METER_CONFIG: 10,
  METER_FEATURES: 11,
  TABLE_FEATURES: 12,
  PORT_DESC: 13,
  EXPERIMENTER: 0xffff,
} as const;
export type MultipartKind = keyof typeof MultipartTypeCode;

/** ofp_multipart_request_flags / ofp_multipart_reply_flags (same bit, both directions). */
export const MultipartFlags = { REQ_MORE: 1, REPLY_MORE: 1 } as const;

/** ofp_table_feature_prop_type codes by name. 9 and 11 are unassigned in 1.3. */
export const TableFeaturePropCode = {
  INSTRUCTIONS: 0,
  INSTRUCTIONS_MISS: 1,
  NEXT_TABLES: 2,
  NEXT_TABLES_MISS: 3,
  WRITE_ACTIONS: 4,
  WRITE_ACTIONS_MISS: 5,
  APPLY_ACTIONS: 6,
  APPLY_ACTIONS_MISS: 7,
  MATCH: 8,
  WILDCARDS: 10,
  WRITE_SETFIELD: 12,
  WRITE_SETFIELD_MISS: 13,
  APPLY_SETFIELD: 14,
  APPLY_SETFIELD_MISS: 15,
  EXPERIMENTER: 0xfffe,
  EXPERIMENTER_MISS: 0xffff,
} as const;
export type TableFeaturePropType = keyof typeof TableFeaturePropCode;

/** ofp_group_type codes by name, for group-desc entries (the names are GROUP_MOD's `GroupType`). */
export const GroupDescTypeCode: Readonly<Record<GroupType, number>> = { ALL: 0, SELECT: 1, INDIRECT: 2, FF: 3 };
export type GroupDescType = GroupType;

// ---------------------------------------------------------------------------------------------
// Messages

export interface MultipartRequest {
  type: 'MULTIPART_REQUEST';
  xid: number;
  /** OFPMPF_REQ_* bits (1 = more requests follow). */
  flags: number;
  body: MultipartRequestBody;
}

export interface MultipartReply {
  type: 'MULTIPART_REPLY';
  xid: number;
  /** OFPMPF_REPLY_* bits (1 = more replies follow). */
  flags: number;
  body: MultipartReplyBody;
}

export type MultipartRequestBody =
  | DescRequest
  | FlowStatsRequest
  | AggregateStatsRequest
  | TableStatsRequest
  | PortStatsRequest
  | QueueStatsRequest
  | GroupStatsRequest
  | GroupDescRequest
  | GroupFeaturesRequest
  | MeterStatsRequest
  | MeterConfigRequest
  | MeterFeaturesRequest
  | TableFeaturesRequest
  | PortDescRequest
  | ExperimenterMultipartRequest;

export type MultipartReplyBody =
  | DescReply
  | FlowStatsReply
  | AggregateStatsReply
  | TableStatsReply
  | PortStatsReply
  | QueueStatsReply
  | GroupStatsReply
  | GroupDescReply
  | GroupFeaturesReply
  | MeterStatsReply
  | MeterConfigReply
  | MeterFeaturesReply
  | TableFeaturesReply
  | PortDescReply
  | ExperimenterMultipartReply;

// ---------------------------------------------------------------------------------------------
// Requests

/** Requests without a body. */
export interface DescRequest { kind: 'DESC' }
export interface TableStatsRequest { kind: 'TABLE' }
export interface GroupDescRequest { kind: 'GROUP_DESC' }
export interface GroupFeaturesRequest { kind: 'GROUP_FEATURES' }
export interface MeterFeaturesRequest { kind: 'METER_FEATURES' }
export interface PortDescRequest { kind: 'PORT_DESC' }

/** The selection shared by flow and aggregate requests (ofp_flow_stats_request). */
export interface FlowSelection {
  /** Table to read, or 0xff (Table.ALL) for all. */
  tableId: number;
  /** Require an output action to this port; 0xffffffff (Port.ANY) = no restriction. */
  outPort: number;
  /** Require an output to this group; 0xffffffff (Group.ANY) = no restriction. */
  outGroup: number;
  /** Only flows whose cookie equals `cookie` on the bits set in `cookieMask` (0 = all). */
  cookie: bigint;
  cookieMask: bigint;
  match: Match;
}
export interface FlowStatsRequest extends FlowSelection { kind: 'FLOW' }
export interface AggregateStatsRequest extends FlowSelection { kind: 'AGGREGATE' }

/** ofp_port_stats_request; portNo 0xffffffff (Port.ANY) = all ports. */
export interface PortStatsRequest { kind: 'PORT_STATS'; portNo: number }

/** ofp_queue_stats_request; Port.ANY and queueId 0xffffffff (OFPQ_ALL) select all. */
export interface QueueStatsRequest { kind: 'QUEUE'; portNo: number; queueId: number }

/** ofp_group_stats_request; groupId 0xfffffffc (Group.ALL) = all groups. */
export interface GroupStatsRequest { kind: 'GROUP'; groupId: number }

/** ofp_meter_multipart_request; meterId 0xffffffff (Meter.ALL) = all meters. */
export interface MeterStatsRequest { kind: 'METER'; meterId: number }
export interface MeterConfigRequest { kind: 'METER_CONFIG'; meterId: number }

/**
 * Table-features request: an empty list only asks for the switch's features; a non-empty list
 * asks the switch to reconfigure its tables to exactly these (spec 7.3.5.5.1).
 */
export interface TableFeaturesRequest { kind: 'TABLE_FEATURES'; tables: TableFeatures[] }

/** ofp_experimenter_multipart_header + opaque payload. */
export interface ExperimenterMultipartRequest {
  kind: 'EXPERIMENTER';
  experimenter: number;
  expType: number;
  data: Buffer;
}

// ---------------------------------------------------------------------------------------------
// Replies

/** ofp_desc: NUL-padded strings (read as latin1 so any byte survives a round trip). */
export interface DescReply {
  kind: 'DESC';
  /** Manufacturer (256-byte field). */
  mfrDesc: string;
  /** Hardware revision (256). */
  hwDesc: string;
  /** Software revision (256). */
  swDesc: string;
  /** Serial number (32). */
  serialNum: string;
  /** Human-readable datapath description (256). */
  dpDesc: string;
}

/** ofp_flow_stats: one flow entry. */
export interface FlowStats {
  tableId: number;
  durationSec: number;
  durationNsec: number;
  priority: number;
  idleTimeout: number;
  hardTimeout: number;
  /** OFPFF_* bits. */
  flags: number;
  cookie: bigint;
  packetCount: bigint;
  byteCount: bigint;
  match: Match;
  instructions: Instruction[];
}
export interface FlowStatsReply { kind: 'FLOW'; flows: FlowStats[] }

/** ofp_aggregate_stats_reply. */
export interface AggregateStatsReply {
  kind: 'AGGREGATE';
  packetCount: bigint;
  byteCount: bigint;
  flowCount: number;
}

/** ofp_table_stats. */
export interface TableStats {
  tableId: number;
  activeCount: number;
  lookupCount: bigint;
  matchedCount: bigint;
}
export interface TableStatsReply { kind: 'TABLE'; tables: TableStats[] }

/** ofp_port_stats. Counters a switch does not support are all-ones. */
export interface PortStats {
  portNo: number;
  rxPackets: bigint;
  txPackets: bigint;
  rxBytes: bigint;
  txBytes: bigint;
  rxDropped: bigint;
  txDropped: bigint;
  rxErrors: bigint;
  txErrors: bigint;
  rxFrameErr: bigint;
  rxOverErr: bigint;
  rxCrcErr: bigint;
  collisions: bigint;
  durationSec: number;
  durationNsec: number;
}
export interface PortStatsReply { kind: 'PORT_STATS'; ports: PortStats[] }

/** ofp_queue_stats. */
export interface QueueStats {
  portNo: number;
  queueId: number;
  txBytes: bigint;
  txPackets: bigint;
  txErrors: bigint;
  durationSec: number;
  durationNsec: number;
}
export interface QueueStatsReply { kind: 'QUEUE'; queues: QueueStats[] }

/** ofp_bucket_counter: per-bucket counters of a group, in bucket order. */
export interface BucketCounter {
  packetCount: bigint;
  byteCount: bigint;
}

/** ofp_group_stats. */
export interface GroupStats {
  groupId: number;
  refCount: number;
  packetCount: bigint;
  byteCount: bigint;
  durationSec: number;
  durationNsec: number;
  bucketStats: BucketCounter[];
}
export interface GroupStatsReply { kind: 'GROUP'; groups: GroupStats[] }

/** ofp_group_desc: one group's configuration. */
export interface GroupDesc {
  groupType: GroupDescType;
  groupId: number;
  buckets: Bucket[];
}
export interface GroupDescReply { kind: 'GROUP_DESC'; groups: GroupDesc[] }

/** ofp_group_features. The arrays are indexed by group type (ALL, SELECT, INDIRECT, FF). */
export interface GroupFeaturesReply {
  kind: 'GROUP_FEATURES';
  /** Bitmap of (1 << OFPGT_*) supported. */
  types: number;
  /** OFPGFC_* bits. */
  capabilities: number;
  maxGroups: [number, number, number, number];
  /** Per group type, bitmap of (1 << OFPAT_*) supported. */
  actions: [number, number, number, number];
}

/** ofp_meter_band_stats, in band order. */
export interface MeterBandStats {
  packetBandCount: bigint;
  byteBandCount: bigint;
}

/** ofp_meter_stats. */
export interface MeterStats {
  meterId: number;
  flowCount: number;
  packetInCount: bigint;
  byteInCount: bigint;
  durationSec: number;
  durationNsec: number;
  bandStats: MeterBandStats[];
}
export interface MeterStatsReply { kind: 'METER'; meters: MeterStats[] }

/** ofp_meter_config: one meter's configuration. */
export interface MeterConfig {
  /** OFPMF_* bits. */
  flags: number;
  meterId: number;
  bands: MeterBand[];
}
export interface MeterConfigReply { kind: 'METER_CONFIG'; meters: MeterConfig[] }

/** ofp_meter_features. */
export interface MeterFeaturesReply {
  kind: 'METER_FEATURES';
  maxMeter: number;
  /** Bitmap of (1 << OFPMBT_*) supported. */
  bandTypes: number;
  /** OFPMF_* bits supported. */
  capabilities: number;
  maxBands: number;
  maxColor: number;
}

export interface TableFeaturesReply { kind: 'TABLE_FEATURES'; tables: TableFeatures[] }

/** The switch's ports (ofp_port list). */
export interface PortDescReply { kind: 'PORT_DESC'; ports: PortDesc[] }

export interface ExperimenterMultipartReply {
  kind: 'EXPERIMENTER';
  experimenter: number;
  expType: number;
  data: Buffer;
}

// ---------------------------------------------------------------------------------------------
// Table features

/** ofp_table_features: one table's capabilities (reply) or wanted configuration (request). */
export interface TableFeatures {
  tableId: number;
  /** Up to 32 bytes (NUL-padded field), read as latin1 so any byte survives a round trip. */
  name: string;
  /** Bits of metadata the table can match / write. */
  metadataMatch: bigint;
  metadataWrite: bigint;
  /** OFPTC_* bits. */
  config: number;
  maxEntries: number;
  /** In wire order. */
  properties: TableFeatureProperty[];
}

/**
 * One element of an instruction-id list (ofp_instruction header: type + len). Known OFPIT_*
 * codes are always given by name, other codes as a number. A 4-byte id has neither
 * `experimenter` nor `data`; an EXPERIMENTER id of 8+ bytes has `experimenter`; any bytes
 * beyond that (or beyond the 4-byte header of a non-experimenter id) are in `data`, which is
 * omitted when empty. The id's length on the wire is derived from these.
 */
export interface InstructionId {
  type: InstructionType | number;
  experimenter?: number;
  data?: Buffer;
}

/** One element of an action-id list (ofp_action header: type + len); like `InstructionId`. */
export interface ActionId {
  type: ActionType | number;
  experimenter?: number;
  data?: Buffer;
}

/**
 * One element of an OXM-id list: an OXM header naming a field the table supports, shaped like
 * an `OxmField` of a match. OpenFlow-basic fields (class 0x8000) known to this library are
 * given by name; any other header (other classes, unknown basic codes) is `opaque` with its
 * class and field numbers. `length` is the header's oxm_length as the switch sent it (for a
 * basic field normally its value length, doubled when `hasMask`). Ids of the experimenter
 * class 0xffff are 8 bytes on the wire and carry the experimenter id.
 */
export type OxmId =
  | { field: OxmFieldName; hasMask: boolean; length: number }
  | {
      field: 'opaque';
      oxmClass: number;
      oxmField: number;
      hasMask: boolean;
      length: number;
      /** Present exactly when `oxmClass` is 0xffff. */
      experimenter?: number;
    };

/**
 * A table-features property (ofp_table_feature_prop_*). On the wire each is padded to a
 * multiple of 8 bytes; the padding is not represented (written as zeros). Property types this
 * library does not know are kept as `UNKNOWN` with their payload so they survive a round trip.
 */
export type TableFeatureProperty =
  | { type: 'INSTRUCTIONS' | 'INSTRUCTIONS_MISS'; instructionIds: InstructionId[] }
  | { type: 'NEXT_TABLES' | 'NEXT_TABLES_MISS'; tableIds: number[] }
  | {
      type: 'WRITE_ACTIONS' | 'WRITE_ACTIONS_MISS' | 'APPLY_ACTIONS' | 'APPLY_ACTIONS_MISS';
      actionIds: ActionId[];
    }
  | {
      type:
        | 'MATCH' | 'WILDCARDS'
        | 'WRITE_SETFIELD' | 'WRITE_SETFIELD_MISS' | 'APPLY_SETFIELD' | 'APPLY_SETFIELD_MISS';
      oxmIds: OxmId[];
    }
  /** `data` is the experimenter_data after exp_type (any length; padding excluded). */
  | { type: 'EXPERIMENTER' | 'EXPERIMENTER_MISS'; experimenter: number; expType: number; data: Buffer }
  /** An unassigned property type: `code` is its type, `data` its payload (padding excluded). */
  | { type: 'UNKNOWN'; code: number; data: Buffer };
