/**
 * Controller-to-switch configuration messages (spec 7.3.1-7.3.9): features, switch config,
 * barrier, role, asynchronous-message config and queue config.
 */
import type { PacketQueue } from './structs.js';

export interface FeaturesRequest {
  type: 'FEATURES_REQUEST';
  xid: number;
}

/** ofp_switch_features. */
export interface FeaturesReply {
  type: 'FEATURES_REPLY';
  xid: number;
  datapathId: bigint;
  /** Packets the switch can buffer at once. */
  nBuffers: number;
  nTables: number;
  /** 0 on the main connection, else the auxiliary connection's id. */
  auxiliaryId: number;
  /** OFPC_* bits. */
  capabilities: number;
}

export interface GetConfigRequest {
  type: 'GET_CONFIG_REQUEST';
  xid: number;
}

/** ofp_switch_config, as read back from the switch. */
export interface GetConfigReply {
  type: 'GET_CONFIG_REPLY';
  xid: number;
  /** OFPC_FRAG_* bits. */
  flags: number;
  /** Bytes of a table-miss packet sent to the controller (0xffff: whole packet). */
  missSendLen: number;
}

export interface SetConfig {
  type: 'SET_CONFIG';
  xid: number;
  flags: number;
  missSendLen: number;
}

export interface BarrierRequest {
  type: 'BARRIER_REQUEST';
  xid: number;
}

export interface BarrierReply {
  type: 'BARRIER_REPLY';
  xid: number;
}

/** ofp_controller_role, indexed by its wire code. */
export const ControllerRoleNames = ['NOCHANGE', 'EQUAL', 'MASTER', 'SLAVE'] as const;
export type ControllerRole = (typeof ControllerRoleNames)[number];

/** ofp_role_request. */
export interface RoleRequest {
  type: 'ROLE_REQUEST';
  xid: number;
  role: ControllerRole;
  /** Master election generation id (ignored by the switch for NOCHANGE and EQUAL). */
  generationId: bigint;
}

export interface RoleReply {
  type: 'ROLE_REPLY';
  xid: number;
  role: ControllerRole;
  generationId: bigint;
}

export interface GetAsyncRequest {
  type: 'GET_ASYNC_REQUEST';
  xid: number;
}

/** [mask used when the controller is MASTER or EQUAL, mask used when it is SLAVE]. */
export type AsyncMaskPair = [master: number, slave: number];

/** ofp_async_config: which reasons of each asynchronous message the controller receives
 * (bit n set = reason n enabled). */
export interface AsyncConfig {
  packetInMask: AsyncMaskPair;
  portStatusMask: AsyncMaskPair;
  flowRemovedMask: AsyncMaskPair;
}

export interface GetAsyncReply extends AsyncConfig {
  type: 'GET_ASYNC_REPLY';
  xid: number;
}

export interface SetAsync extends AsyncConfig {
  type: 'SET_ASYNC';
  xid: number;
}

/** ofp_queue_get_config_request. */
export interface QueueGetConfigRequest {
  type: 'QUEUE_GET_CONFIG_REQUEST';
  xid: number;
  /** Port to query (Port.ANY for all). */
  port: number;
}

export interface QueueGetConfigReply {
  type: 'QUEUE_GET_CONFIG_REPLY';
  xid: number;
  port: number;
  queues: PacketQueue[];
}
