import { MessageTypeCode } from '../constants.js';
import { ofpError } from '../errors.js';
import type { DecoderTable } from '../codec.js';
import type { BufferReader } from '../reader.js';
import type { PacketQueue } from '../types/structs.js';
import {
  ControllerRoleNames, type AsyncMaskPair, type BarrierReply, type BarrierRequest,
  type ControllerRole, type FeaturesReply, type FeaturesRequest, type GetAsyncReply,
  type GetAsyncRequest, type GetConfigReply, type GetConfigRequest, type QueueGetConfigReply,
  type QueueGetConfigRequest, type RoleReply, type RoleRequest, type SetAsync, type SetConfig,
} from '../types/switch.js';
import { readPacketQueue } from './structs.js';

function decodeFeaturesRequest(_r: BufferReader, xid: number): FeaturesRequest {
  return { type: 'FEATURES_REQUEST', xid };
}

function decodeFeaturesReply(r: BufferReader, xid: number): FeaturesReply {
  const datapathId = r.u64();
  const nBuffers = r.u32();
  const nTables = r.u8();
  const auxiliaryId = r.u8();
  r.skip(2);
  const capabilities = r.u32();
  r.skip(4); // reserved
  return { type: 'FEATURES_REPLY', xid, datapathId, nBuffers, nTables, auxiliaryId, capabilities };
}

function decodeGetConfigRequest(_r: BufferReader, xid: number): GetConfigRequest {
  return { type: 'GET_CONFIG_REQUEST', xid };
}

function decodeGetConfigReply(r: BufferReader, xid: number): GetConfigReply {
  const flags = r.u16();
  const missSendLen = r.u16();
  return { type: 'GET_CONFIG_REPLY', xid, flags, missSendLen };
}

function decodeSetConfig(r: BufferReader, xid: number): SetConfig {
  const flags = r.u16();
  const missSendLen = r.u16();
  return { type: 'SET_CONFIG', xid, flags, missSendLen };
}

function decodeBarrierRequest(_r: BufferReader, xid: number): BarrierRequest {
  return { type: 'BARRIER_REQUEST', xid };
}

function decodeBarrierReply(_r: BufferReader, xid: number): BarrierReply {
  return { type: 'BARRIER_REPLY', xid };
}

/** ofp_role_request body: role, 4 bytes pad, generation id. */
function readRole(r: BufferReader): ControllerRole {
  const at = r.offset;
  const code = r.u32();
  const role = ControllerRoleNames[code];
  if (role === undefined) {
    throw ofpError('ROLE_REQUEST_FAILED', 'BAD_ROLE', at, `role ${code} is not NOCHANGE(0), EQUAL(1), MASTER(2) or SLAVE(3)`);
  }
  r.skip(4);
  return role;
}

function decodeRoleRequest(r: BufferReader, xid: number): RoleRequest {
  const role = readRole(r);
  return { type: 'ROLE_REQUEST', xid, role, generationId: r.u64() };
}

function decodeRoleReply(r: BufferReader, xid: number): RoleReply {
  const role = readRole(r);
  return { type: 'ROLE_REPLY', xid, role, generationId: r.u64() };
}

function decodeGetAsyncRequest(_r: BufferReader, xid: number): GetAsyncRequest {
  return { type: 'GET_ASYNC_REQUEST', xid };
}

function readMaskPair(r: BufferReader): AsyncMaskPair {
  const master = r.u32();
  return [master, r.u32()];
}

function decodeGetAsyncReply(r: BufferReader, xid: number): GetAsyncReply {
  const packetInMask = readMaskPair(r);
  const portStatusMask = readMaskPair(r);
  const flowRemovedMask = readMaskPair(r);
  return { type: 'GET_ASYNC_REPLY', xid, packetInMask, portStatusMask, flowRemovedMask };
}

function decodeSetAsync(r: BufferReader, xid: number): SetAsync {
  const packetInMask = readMaskPair(r);
  const portStatusMask = readMaskPair(r);
  const flowRemovedMask = readMaskPair(r);
  return { type: 'SET_ASYNC', xid, packetInMask, portStatusMask, flowRemovedMask };
}

function decodeQueueGetConfigRequest(r: BufferReader, xid: number): QueueGetConfigRequest {
  const port = r.u32();
  r.skip(4);
  return { type: 'QUEUE_GET_CONFIG_REQUEST', xid, port };
}

function decodeQueueGetConfigReply(r: BufferReader, xid: number): QueueGetConfigReply {
  const port = r.u32();
  r.skip(4);
  const queues: PacketQueue[] = [];
  while (r.remaining > 0) queues.push(readPacketQueue(r));
  return { type: 'QUEUE_GET_CONFIG_REPLY', xid, port, queues };
}

export const decoders: DecoderTable = {
  [MessageTypeCode.FEATURES_REQUEST]: decodeFeaturesRequest,
  [MessageTypeCode.FEATURES_REPLY]: decodeFeaturesReply,
  [MessageTypeCode.GET_CONFIG_REQUEST]: decodeGetConfigRequest,
  [MessageTypeCode.GET_CONFIG_REPLY]: decodeGetConfigReply,
  [MessageTypeCode.SET_CONFIG]: decodeSetConfig,
  [MessageTypeCode.BARRIER_REQUEST]: decodeBarrierRequest,
  [MessageTypeCode.BARRIER_REPLY]: decodeBarrierReply,
  [MessageTypeCode.ROLE_REQUEST]: decodeRoleRequest,
  [MessageTypeCode.ROLE_REPLY]: decodeRoleReply,
  [MessageTypeCode.GET_ASYNC_REQUEST]: decodeGetAsyncRequest,
  [MessageTypeCode.GET_ASYNC_REPLY]: decodeGetAsyncReply,
  [MessageTypeCode.SET_ASYNC]: decodeSetAsync,
  [MessageTypeCode.QUEUE_GET_CONFIG_REQUEST]: decodeQueueGetConfigRequest,
  [MessageTypeCode.QUEUE_GET_CONFIG_REPLY]: decodeQueueGetConfigReply,
};
