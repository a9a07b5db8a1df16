import { ofpError } from '../errors.js';
import type { EncoderTable } from '../codec.js';
import type { BufferWriter } from '../writer.js';
import {
  GroupModCommandNames, GroupTypeNames, MeterModCommandNames,
  type GroupMod, type MeterMod, type PortMod, type TableMod,
} from '../types/group-meter.js';
import { parseMacInto } from '../addr.js';
import { writeBuckets, writeMeterBands } from './structs.js';
import { enumCode, messageBase, show, u32, u16, u8 } from './fields.js';

function encodeGroupMod(w: BufferWriter, msg: GroupMod): void {
  const base = messageBase(w);
  w.u16(enumCode(w, base, GroupModCommandNames, msg.command, 'GROUP_MOD command', 'GROUP_MOD_FAILED', 'BAD_COMMAND'));
  w.u8(enumCode(w, base, GroupTypeNames, msg.groupType, 'GROUP_MOD groupType', 'GROUP_MOD_FAILED', 'BAD_TYPE'));
  w.u8(0);
  u32(w, base, msg.groupId, 'GROUP_MOD groupId');
  writeBuckets(w, msg.buckets);
}

function encodeMeterMod(w: BufferWriter, msg: MeterMod): void {
  const base = messageBase(w);
  w.u16(enumCode(w, base, MeterModCommandNames, msg.command, 'METER_MOD command', 'METER_MOD_FAILED', 'BAD_COMMAND'));
  u16(w, base, msg.flags, 'METER_MOD flags');
  u32(w, base, msg.meterId, 'METER_MOD meterId');
  writeMeterBands(w, msg.bands);
}

function encodePortMod(w: BufferWriter, msg: PortMod): void {
  const base = messageBase(w);
  u32(w, base, msg.portNo, 'PORT_MOD portNo');
  w.u32(0);
  const macAt = w.pos;
  w.zeros(8); // hw_addr and 2 bytes of padding
  if (!parseMacInto(msg.hwAddr, w.buf, macAt)) {
    throw ofpError('PORT_MOD_FAILED', 'BAD_HW_ADDR', macAt - base,
      `PORT_MOD hwAddr ${show(msg.hwAddr)} is not a MAC address (aa:bb:cc:dd:ee:ff)`);
  }
  u32(w, base, msg.config, 'PORT_MOD config');
  u32(w, base, msg.mask, 'PORT_MOD mask');
  u32(w, base, msg.advertise, 'PORT_MOD advertise');
  w.u32(0);
}

function encodeTableMod(w: BufferWriter, msg: TableMod): void {
  const base = messageBase(w);
  u8(w, base, msg.tableId, 'TABLE_MOD tableId');
  w.u16(0).u8(0);
  u32(w, base, msg.config, 'TABLE_MOD config');
}

export const encoders: EncoderTable = {
  GROUP_MOD: encodeGroupMod,
  METER_MOD: encodeMeterMod,
  PORT_MOD: encodePortMod,
  TABLE_MOD: encodeTableMod,
};
