import { ofpError } from '../errors.js';
import type { EncoderTable } from '../codec.js';
import type { BufferWriter } from '../writer.js';
import {
  ControllerRoleNames, type AsyncConfig, type AsyncMaskPair, type FeaturesReply,
  type GetConfigReply, type QueueGetConfigReply, type QueueGetConfigRequest, type RoleReply,
  type RoleRequest, type SetConfig,
} from '../types/switch.js';
import { writePacketQueue } from './structs.js';
import { array, enumCode, messageBase, object, u16, u32, u64, u8 } from './fields.js';

function encodeEmpty(): void {
  // Header-only messages: FEATURES_REQUEST, GET_CONFIG_REQUEST, BARRIER_*, GET_ASYNC_REQUEST.
}

function encodeFeaturesReply(w: BufferWriter, msg: FeaturesReply): void {
  const base = messageBase(w);
  u64(w, base, msg.datapathId, 'FEATURES_REPLY datapathId');
  u32(w, base, msg.nBuffers, 'FEATURES_REPLY nBuffers');
  u8(w, base, msg.nTables, 'FEATURES_REPLY nTables');
  u8(w, base, msg.auxiliaryId, 'FEATURES_REPLY auxiliaryId');
  w.u16(0);
  u32(w, base, msg.capabilities, 'FEATURES_REPLY capabilities');
  w.u32(0); // reserved
}

function encodeSwitchConfig(w: BufferWriter, msg: GetConfigReply | SetConfig): void {
  const base = messageBase(w);
  u16(w, base, msg.flags, 'switch config flags');
  u16(w, base, msg.missSendLen, 'switch config missSendLen');
}

function encodeRole(w: BufferWriter, msg: RoleRequest | RoleReply): void {
  const base = messageBase(w);
  w.u32(enumCode(w, base, ControllerRoleNames, msg.role, 'role', 'ROLE_REQUEST_FAILED', 'BAD_ROLE'));
  w.u32(0);
  u64(w, base, msg.generationId, 'role generationId');
}

function writeMaskPair(w: BufferWriter, base: number, pair: AsyncMaskPair, what: string): void {
  if (!Array.isArray(pair) || pair.length !== 2) {
    throw ofpError('BAD_REQUEST', 'BAD_LEN', w.pos - base, `${what} must be a [master, slave] pair of 32-bit masks`);
  }
  u32(w, base, pair[0], what);
  u32(w, base, pair[1], what);
}

function encodeAsyncConfig(w: BufferWriter, msg: AsyncConfig & { type: 'GET_ASYNC_REPLY' | 'SET_ASYNC' }): void {
  const base = messageBase(w);
  writeMaskPair(w, base, msg.packetInMask, 'async config packetInMask');
  writeMaskPair(w, base, msg.portStatusMask, 'async config portStatusMask');
  writeMaskPair(w, base, msg.flowRemovedMask, 'async config flowRemovedMask');
}

function encodeQueueGetConfigRequest(w: BufferWriter, msg: QueueGetConfigRequest): void {
  u32(w, messageBase(w), msg.port, 'QUEUE_GET_CONFIG_REQUEST port');
  w.u32(0);
}

function encodeQueueGetConfigReply(w: BufferWriter, msg: QueueGetConfigReply): void {
  const base = messageBase(w);
  u32(w, base, msg.port, 'QUEUE_GET_CONFIG_REPLY port');
  w.u32(0);
  for (const q of array(w, base, msg.queues, 'QUEUE_GET_CONFIG_REPLY queues')) {
    writePacketQueue(w, object(w, base, q, 'QUEUE_GET_CONFIG_REPLY queue'));
  }
}

export const encoders: EncoderTable = {
  FEATURES_REQUEST: encodeEmpty,
  FEATURES_REPLY: encodeFeaturesReply,
  GET_CONFIG_REQUEST: encodeEmpty,
  GET_CONFIG_REPLY: encodeSwitchConfig,
  SET_CONFIG: encodeSwitchConfig,
  BARRIER_REQUEST: encodeEmpty,
  BARRIER_REPLY: encodeEmpty,
  ROLE_REQUEST: encodeRole,
  ROLE_REPLY: encodeRole,
  GET_ASYNC_REQUEST: encodeEmpty,
  GET_ASYNC_REPLY: encodeAsyncConfig,
  SET_ASYNC: encodeAsyncConfig,
  QUEUE_GET_CONFIG_REQUEST: encodeQueueGetConfigRequest,
  QUEUE_GET_CONFIG_REPLY: encodeQueueGetConfigReply,
};
