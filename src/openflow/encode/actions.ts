/**
 * Action lists (spec 7.2.5) and instruction lists (7.2.4), objects → bytes. Values that do
 * not fit their wire fields raise OpenFlowError naming the action and field (offset = writer
 * position of the action); nothing is silently truncated.
 */
import { ofpError } from '../errors.js';
import { OxmContext } from '../oxm-fields.js';
import type { Action, Instruction } from '../types/actions.js';
import type { BufferWriter } from '../writer.js';
import { padTo8, writeOxm, writePad } from './match.js';

const MAX_U64 = (1n << 64n) - 1n;

function isUint(v: unknown, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
}

function show(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : typeof v === 'bigint' ? `${v}n` : String(v);
}

function arg(v: unknown, max: number, code: string, at: number, what: string): number {
  if (!isUint(v, max)) throw ofpError('BAD_ACTION', code, at, `${what} must be an integer in 0..${max}, got ${show(v)}`);
  return v;
}

export function writeActions(w: BufferWriter, actions: Action[]): void {
  if (!Array.isArray(actions)) throw ofpError('BAD_ACTION', 'BAD_LEN', w.pos, 'actions must be an array');
  const start = w.pos;
  try {
    for (let i = 0; i < actions.length; i++) writeAction(w, actions[i]!);
  } catch (err) {
    w.pos = start;
    throw err;
  }
}

function writeAction(w: BufferWriter, a: Action): void {
  const at = w.pos;
  if (a === null || typeof a !== 'object') throw ofpError('BAD_ACTION', 'BAD_TYPE', at, `action must be an object, got ${String(a)}`);
  switch (a.type) {
    case 'OUTPUT': {
      const port = arg(a.port, 0xffffffff, 'BAD_OUT_PORT', at, 'OUTPUT port');
      const maxLen = arg(a.maxLen, 0xffff, 'BAD_ARGUMENT', at, 'OUTPUT maxLen');
      w.u16(0).u16(16).u32(port).u16(maxLen);
      writePad(w, 6);
      return;
    }
    case 'COPY_TTL_OUT':
      w.u16(11).u16(8);
      writePad(w, 4);
      return;
    case 'COPY_TTL_IN':
      w.u16(12).u16(8);
      writePad(w, 4);
      return;
    case 'SET_MPLS_TTL':
      w.u16(15).u16(8).u8(arg(a.mplsTtl, 0xff, 'BAD_ARGUMENT', at, 'SET_MPLS_TTL mplsTtl'));
      writePad(w, 3);
      return;
    case 'DEC_MPLS_TTL':
      w.u16(16).u16(8);
      writePad(w, 4);
      return;
    case 'PUSH_VLAN':
      w.u16(17).u16(8).u16(arg(a.ethertype, 0xffff, 'BAD_ARGUMENT', at, 'PUSH_VLAN ethertype'));
      writePad(w, 2);
      return;
    case 'POP_VLAN':
      w.u16(18).u16(8);
      writePad(w, 4);
      return;
    case 'PUSH_MPLS':
      w.u16(19).u16(8).u16(arg(a.ethertype, 0xffff, 'BAD_ARGUMENT', at, 'PUSH_MPLS ethertype'));
      writePad(w, 2);
      return;
    case 'POP_MPLS':
      w.u16(20).u16(8).u16(arg(a.ethertype, 0xffff, 'BAD_ARGUMENT', at, 'POP_MPLS ethertype'));
      writePad(w, 2);
      return;
    case 'SET_QUEUE':
      w.u16(21).u16(8).u32(arg(a.queueId, 0xffffffff, 'BAD_QUEUE', at, 'SET_QUEUE queueId'));
      return;
    case 'GROUP':
      w.u16(22).u16(8).u32(arg(a.groupId, 0xffffffff, 'BAD_OUT_GROUP', at, 'GROUP groupId'));
      return;
    case 'SET_NW_TTL':
      w.u16(23).u16(8).u8(arg(a.nwTtl, 0xff, 'BAD_ARGUMENT', at, 'SET_NW_TTL nwTtl'));
      writePad(w, 3);
      return;
    case 'DEC_NW_TTL':
      w.u16(24).u16(8);
      writePad(w, 4);
      return;
    case 'SET_FIELD': {
      w.u16(25).u16(0);
      writeOxm(w, a.field, OxmContext.SET_FIELD);
      padTo8(w, at);
      w.patchU16(at + 2, w.pos - at);
      return;
    }
    case 'PUSH_PBB':
      w.u16(26).u16(8).u16(arg(a.ethertype, 0xffff, 'BAD_ARGUMENT', at, 'PUSH_PBB ethertype'));
      writePad(w, 2);
      return;
    case 'POP_PBB':
      w.u16(27).u16(8);
      writePad(w, 4);
      return;
    case 'EXPERIMENTER': {
      const experimenter = arg(a.experimenter, 0xffffffff, 'BAD_EXPERIMENTER', at, 'EXPERIMENTER experimenter');
      const data = a.data;
      if (!(data instanceof Uint8Array)) throw ofpError('BAD_ACTION', 'BAD_LEN', at, 'EXPERIMENTER action data must be a Buffer');
      const len = 8 + data.length;
      if ((len & 7) !== 0 || len > 0xfff8) {
        throw ofpError('BAD_ACTION', 'BAD_LEN', at, `EXPERIMENTER action of ${len} bytes (8 + ${data.length} data) must be a multiple of 8 up to 65528; data includes the padding`);
      }
      w.u16(0xffff).u16(len).u32(experimenter).bytes(data);
      return;
    }
    default:
      throw ofpError('BAD_ACTION', 'BAD_TYPE', at, `unknown action type ${show((a as { type: unknown }).type)}`);
  }
}

export function writeInstructions(w: BufferWriter, instructions: Instruction[]): void {
  if (!Array.isArray(instructions)) throw ofpError('BAD_INSTRUCTION', 'BAD_LEN', w.pos, 'instructions must be an array');
  const start = w.pos;
  try {
    for (let i = 0; i < instructions.length; i++) writeInstruction(w, instructions[i]!);
  } catch (err) {
    w.pos = start;
    throw err;
  }
}

function writeInstruction(w: BufferWriter, ins: Instruction): void {
  const at = w.pos;
  if (ins === null || typeof ins !== 'object') throw ofpError('BAD_INSTRUCTION', 'UNKNOWN_INST', at, `instruction must be an object, got ${String(ins)}`);
  switch (ins.type) {
    case 'GOTO_TABLE':
      if (!isUint(ins.tableId, 0xff)) throw ofpError('BAD_INSTRUCTION', 'BAD_TABLE_ID', at, `GOTO_TABLE tableId must be an integer in 0..255, got ${show(ins.tableId)}`);
      w.u16(1).u16(8).u8(ins.tableId);
      writePad(w, 3);
      return;
    case 'WRITE_METADATA': {
      const { metadata, metadataMask } = ins;
      if (typeof metadata !== 'bigint' || metadata < 0n || metadata > MAX_U64) {
        throw ofpError('BAD_INSTRUCTION', 'UNSUP_METADATA', at, `WRITE_METADATA metadata must be a bigint in 0..2^64-1, got ${show(metadata)}`);
      }
      if (typeof metadataMask !== 'bigint' || metadataMask < 0n || metadataMask > MAX_U64) {
        throw ofpError('BAD_INSTRUCTION', 'UNSUP_METADATA_MASK', at, `WRITE_METADATA metadataMask must be a bigint in 0..2^64-1, got ${show(metadataMask)}`);
      }
      w.u16(2).u16(24).u32(0).u64(metadata).u64(metadataMask);
      return;
    }
    case 'WRITE_ACTIONS':
    case 'APPLY_ACTIONS': {
      w.u16(ins.type === 'WRITE_ACTIONS' ? 3 : 4).u16(0);
      writePad(w, 4);
      writeActions(w, ins.actions);
      const len = w.pos - at;
      if (len > 0xffff) throw ofpError('BAD_INSTRUCTION', 'BAD_LEN', at, `${ins.type} instruction of ${len} bytes exceeds the 16-bit length field`);
      w.patchU16(at + 2, len);
      return;
    }
    case 'CLEAR_ACTIONS':
      w.u16(5).u16(8);
      writePad(w, 4);
      return;
    case 'METER':
      if (!isUint(ins.meterId, 0xffffffff)) throw ofpError('METER_MOD_FAILED', 'INVALID_METER', at, `METER meterId must be an integer in 0..4294967295, got ${show(ins.meterId)}`);
      w.u16(6).u16(8).u32(ins.meterId);
      return;
    case 'EXPERIMENTER': {
      if (!isUint(ins.experimenter, 0xffffffff)) {
        throw ofpError('BAD_INSTRUCTION', 'BAD_EXPERIMENTER', at, `EXPERIMENTER experimenter must be an integer in 0..4294967295, got ${show(ins.experimenter)}`);
      }
      const data = ins.data;
      if (!(data instanceof Uint8Array)) throw ofpError('BAD_INSTRUCTION', 'BAD_LEN', at, 'EXPERIMENTER instruction data must be a Buffer');
      const len = 8 + data.length;
      if ((len & 7) !== 0 || len > 0xfff8) {
        throw ofpError('BAD_INSTRUCTION', 'BAD_LEN', at, `EXPERIMENTER instruction of ${len} bytes (8 + ${data.length} data) must be a multiple of 8 up to 65528; data includes the padding`);
      }
      w.u16(0xffff).u16(len).u32(ins.experimenter).bytes(data);
      return;
    }
    default:
      throw ofpError('BAD_INSTRUCTION', 'UNKNOWN_INST', at, `unknown instruction type ${show((ins as { type: unknown }).type)}`);
  }
}
