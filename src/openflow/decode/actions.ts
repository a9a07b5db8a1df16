/**
 * Action lists (spec 7.2.5) and instruction lists (7.2.4), bytes → objects.
 * Every action and instruction is 64-bit aligned: a len below 8, not a multiple of 8, past
 * the end of the list, or not the fixed size of its type is BAD_LEN. Experimenter actions and
 * instructions keep everything after the experimenter id as `data`, so vendor actions (e.g.
 * Nicira's from Open vSwitch) re-encode byte for byte.
 */
import { ofpError } from '../errors.js';
import { OxmContext } from '../oxm-fields.js';
import type { BufferReader } from '../reader.js';
import type { Action, Instruction } from '../types/actions.js';
import { readOxm } from './match.js';

/** Reads exactly `length` bytes of ofp_action_* at the cursor. */
export function readActions(r: BufferReader, length: number): Action[] {
  const left = r.end - r.pos;
  if (!(length >= 0 && length <= left)) {
    throw ofpError('BAD_ACTION', 'BAD_LEN', r.pos - r.base, `action list of ${length} bytes but only ${left} left`);
  }
  const end = r.pos + length;
  const actions: Action[] = [];
  const outerEnd = r.end;
  r.end = end;
  try {
    while (r.pos < end) actions.push(readAction(r));
  } finally {
    r.end = outerEnd;
  }
  return actions;
}

function actionLenError(at: number, detail: string) {
  return ofpError('BAD_ACTION', 'BAD_LEN', at, detail);
}

function readAction(r: BufferReader): Action {
  const buf = r.buf;
  const p = r.pos;
  const at = p - r.base;
  const left = r.end - p;
  if (left < 8) throw actionLenError(at, `action needs at least 8 bytes, ${left} left`);
  const type = (buf[p]! << 8) | buf[p + 1]!;
  const len = (buf[p + 2]! << 8) | buf[p + 3]!;
  if (len < 8 || (len & 7) !== 0) throw actionLenError(at + 2, `action type ${type}: len ${len} is not a multiple of 8 of at least 8`);
  if (len > left) throw actionLenError(at + 2, `action type ${type}: len ${len} but only ${left} bytes left`);
  let action: Action;
  switch (type) {
    case 0: // OUTPUT
      if (len !== 16) throw actionLenError(at + 2, `OUTPUT action len must be 16, got ${len}`);
      action = { type: 'OUTPUT', port: buf.readUInt32BE(p + 4), maxLen: (buf[p + 8]! << 8) | buf[p + 9]! };
      break;
    case 11:
      action = { type: 'COPY_TTL_OUT' };
      break;
    case 12:
      action = { type: 'COPY_TTL_IN' };
      break;
    case 15:
      action = { type: 'SET_MPLS_TTL', mplsTtl: buf[p + 4]! };
      break;
    case 16:
      action = { type: 'DEC_MPLS_TTL' };
      break;
    case 17:
      action = { type: 'PUSH_VLAN', ethertype: (buf[p + 4]! << 8) | buf[p + 5]! };
      break;
    case 18:
      action = { type: 'POP_VLAN' };
      break;
    case 19:
      action = { type: 'PUSH_MPLS', ethertype: (buf[p + 4]! << 8) | buf[p + 5]! };
      break;
    case 20:
      action = { type: 'POP_MPLS', ethertype: (buf[p + 4]! << 8) | buf[p + 5]! };
      break;
    case 21:
      action = { type: 'SET_QUEUE', queueId: buf.readUInt32BE(p + 4) };
      break;
    case 22:
      action = { type: 'GROUP', groupId: buf.readUInt32BE(p + 4) };
      break;
    case 23:
      action = { type: 'SET_NW_TTL', nwTtl: buf[p + 4]! };
      break;
    case 24:
      action = { type: 'DEC_NW_TTL' };
      break;
    case 25:
      r.pos = p + len;
      return { type: 'SET_FIELD', field: readSetField(r, p, len) };
    case 26:
      action = { type: 'PUSH_PBB', ethertype: (buf[p + 4]! << 8) | buf[p + 5]! };
      break;
    case 27:
      action = { type: 'POP_PBB' };
      break;
    case 0xffff:
      r.pos = p + len;
      return { type: 'EXPERIMENTER', experimenter: buf.readUInt32BE(p + 4), data: buf.subarray(p + 8, p + len) };
    default:
      throw ofpError('BAD_ACTION', 'BAD_TYPE', at, `unknown action type ${type}`);
  }
  // Every fixed-size action other than OUTPUT is 8 bytes.
  if (type !== 0 && len !== 8) throw actionLenError(at + 2, `${action.type} action len must be 8, got ${len}`);
  r.pos = p + len;
  return action;
}

/** ofp_action_set_field at p: one OXM TLV, then zero padding to a multiple of 8. */
function readSetField(r: BufferReader, p: number, len: number) {
  const at = p - r.base;
  const oxmLen = r.buf[p + 7]!;
  const expected = (8 + oxmLen + 7) & ~7;
  if (len !== expected) {
    throw ofpError('BAD_ACTION', 'BAD_SET_LEN', at + 2, `SET_FIELD len ${len} does not fit its OXM of ${oxmLen} bytes (expected ${expected})`);
  }
  const after = r.pos;
  const outerEnd = r.end;
  r.pos = p + 4;
  r.end = p + 8 + oxmLen;
  try {
    const field = readOxm(r, OxmContext.SET_FIELD);
    const masked = field.field === 'opaque' ? field.hasMask : field.mask !== undefined;
    if (masked) throw ofpError('BAD_ACTION', 'BAD_SET_ARGUMENT', at + 4, 'OpenFlow 1.3 set-field actions cannot carry a mask');
    return field;
  } finally {
    r.end = outerEnd;
    r.pos = after;
  }
}

/** Reads exactly `length` bytes of ofp_instruction_* at the cursor. */
export function readInstructions(r: BufferReader, length: number): Instruction[] {
  const left = r.end - r.pos;
  if (!(length >= 0 && length <= left)) {
    throw ofpError('BAD_INSTRUCTION', 'BAD_LEN', r.pos - r.base, `instruction list of ${length} bytes but only ${left} left`);
  }
  const end = r.pos + length;
  const instructions: Instruction[] = [];
  const outerEnd = r.end;
  r.end = end;
  try {
    while (r.pos < end) instructions.push(readInstruction(r));
  } finally {
    r.end = outerEnd;
  }
  return instructions;
}

function instLenError(at: number, detail: string) {
  return ofpError('BAD_INSTRUCTION', 'BAD_LEN', at, detail);
}

function readInstruction(r: BufferReader): Instruction {
  const buf = r.buf;
  const p = r.pos;
  const at = p - r.base;
  const left = r.end - p;
  if (left < 8) throw instLenError(at, `instruction needs at least 8 bytes, ${left} left`);
  const type = (buf[p]! << 8) | buf[p + 1]!;
  const len = (buf[p + 2]! << 8) | buf[p + 3]!;
  if (len < 8 || (len & 7) !== 0) throw instLenError(at + 2, `instruction type ${type}: len ${len} is not a multiple of 8 of at least 8`);
  if (len > left) throw instLenError(at + 2, `instruction type ${type}: len ${len} but only ${left} bytes left`);
  switch (type) {
    case 1: // GOTO_TABLE
      if (len !== 8) throw instLenError(at + 2, `GOTO_TABLE instruction len must be 8, got ${len}`);
      r.pos = p + 8;
      return { type: 'GOTO_TABLE', tableId: buf[p + 4]! };
    case 2: // WRITE_METADATA
      if (len !== 24) throw instLenError(at + 2, `WRITE_METADATA instruction len must be 24, got ${len}`);
      r.pos = p + 24;
      return { type: 'WRITE_METADATA', metadata: buf.readBigUInt64BE(p + 8), metadataMask: buf.readBigUInt64BE(p + 16) };
    case 3:
    case 4: {
      r.pos = p + 8;
      const actions = readActions(r, len - 8);
      return type === 3 ? { type: 'WRITE_ACTIONS', actions } : { type: 'APPLY_ACTIONS', actions };
    }
    case 5:
      if (len !== 8) throw instLenError(at + 2, `CLEAR_ACTIONS instruction len must be 8, got ${len}`);
      r.pos = p + 8;
      return { type: 'CLEAR_ACTIONS' };
    case 6:
      if (len !== 8) throw instLenError(at + 2, `METER instruction len must be 8, got ${len}`);
      r.pos = p + 8;
      return { type: 'METER', meterId: buf.readUInt32BE(p + 4) };
    case 0xffff:
      r.pos = p + len;
      return { type: 'EXPERIMENTER', experimenter: buf.readUInt32BE(p + 4), data: buf.subarray(p + 8, p + len) };
    default:
      throw ofpError('BAD_INSTRUCTION', 'UNKNOWN_INST', at, `unknown instruction type ${type}`);
  }
}
