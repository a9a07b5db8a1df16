/**
 * Every OpenFlow 1.3 message as a plain object discriminated by `type` (the OFPT_* name).
 * `xid` is the header's transaction id. 64-bit values are `bigint`; byte payloads are `Buffer`
 * (views into the received bytes after a decode). The JSON form is described in `json.ts`.
 */
import type { Hello, ErrorMessage, EchoRequest, EchoReply, ExperimenterMessage } from './symmetric.js';
import type {
  FeaturesRequest, FeaturesReply, GetConfigRequest, GetConfigReply, SetConfig,
  BarrierRequest, BarrierReply, RoleRequest, RoleReply, GetAsyncRequest, GetAsyncReply,
  SetAsync, QueueGetConfigRequest, QueueGetConfigReply,
} from './switch.js';
import type { PacketIn, FlowRemoved, PortStatus } from './async.js';
import type { PacketOut, FlowMod } from './flow.js';
import type { GroupMod, MeterMod, PortMod, TableMod } from './group-meter.js';
import type { MultipartRequest, MultipartReply } from './multipart.js';

export type * from './match.js';
export type * from './actions.js';
export type * from './structs.js';
export type * from './symmetric.js';
export type * from './switch.js';
export type * from './async.js';
export type * from './flow.js';
export type * from './group-meter.js';
export type * from './multipart.js';

export type Message =
  | Hello | ErrorMessage | EchoRequest | EchoReply | ExperimenterMessage
  | FeaturesRequest | FeaturesReply | GetConfigRequest | GetConfigReply | SetConfig
  | PacketIn | FlowRemoved | PortStatus
  | PacketOut | FlowMod | GroupMod | PortMod | TableMod | MeterMod
  | MultipartRequest | MultipartReply
  | BarrierRequest | BarrierReply | QueueGetConfigRequest | QueueGetConfigReply
  | RoleRequest | RoleReply | GetAsyncRequest | GetAsyncReply | SetAsync;

export type MessageOfType<T extends Message['type']> = Extract<Message, { type: T }>;
