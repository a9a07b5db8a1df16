import { MessageTypeCode } from '../constants.js';
import { ofpError } from '../errors.js';
import type { DecoderTable } from '../codec.js';
import type { BufferReader } from '../reader.js';
import {
  GroupModCommandNames, GroupTypeNames, MeterModCommandNames,
  type GroupMod, type MeterMod, type PortMod, type TableMod,
} from '../types/group-meter.js';
import { formatMac } from '../addr.js';
import { readBuckets, readMeterBands } from './structs.js';

/** ofp_group_mod: command, type, pad, group id, then buckets up to the end. */
function decodeGroupMod(r: BufferReader, xid: number): GroupMod {
  const commandCode = r.u16();
  const command = GroupModCommandNames[commandCode];
  if (command === undefined) {
    throw ofpError('GROUP_MOD_FAILED', 'BAD_COMMAND', r.offset - 2, `group mod command ${commandCode} is not ADD(0), MODIFY(1) or DELETE(2)`);
  }
  const typeCode = r.u8();
  const groupType = GroupTypeNames[typeCode];
  if (groupType === undefined) {
    throw ofpError('GROUP_MOD_FAILED', 'BAD_TYPE', r.offset - 1, `group type ${typeCode} is not ALL(0), SELECT(1), INDIRECT(2) or FF(3)`);
  }
  r.skip(1);
  const groupId = r.u32();
  const buckets = readBuckets(r, r.remaining);
  return { type: 'GROUP_MOD', xid, command, groupType, groupId, buckets };
}

/** ofp_meter_mod: command, flags, meter id, then bands up to the end. */
function decodeMeterMod(r: BufferReader, xid: number): MeterMod {
  const commandCode = r.u16();
  const command = MeterModCommandNames[commandCode];
  if (command === undefined) {
    throw ofpError('METER_MOD_FAILED', 'BAD_COMMAND', r.offset - 2, `meter mod command ${commandCode} is not ADD(0), MODIFY(1) or DELETE(2)`);
  }
  const flags = r.u16();
  const meterId = r.u32();
  const bands = readMeterBands(r, r.remaining);
  return { type: 'METER_MOD', xid, command, flags, meterId, bands };
}

/** ofp_port_mod. */
function decodePortMod(r: BufferReader, xid: number): PortMod {
  const portNo = r.u32();
  r.skip(4);
  const macAt = r.pos;
  r.skip(6);
  const hwAddr = formatMac(r.buf, macAt);
  r.skip(2);
  const config = r.u32();
  const mask = r.u32();
  const advertise = r.u32();
  r.skip(4);
  return { type: 'PORT_MOD', xid, portNo, hwAddr, config, mask, advertise };
}

/** ofp_table_mod. */
function decodeTableMod(r: BufferReader, xid: number): TableMod {
  const tableId = r.u8();
  r.skip(3);
  return { type: 'TABLE_MOD', xid, tableId, config: r.u32() };
}

export const decoders: DecoderTable = {
  [MessageTypeCode.GROUP_MOD]: decodeGroupMod,
  [MessageTypeCode.METER_MOD]: decodeMeterMod,
  [MessageTypeCode.PORT_MOD]: decodePortMod,
  [MessageTypeCode.TABLE_MOD]: decodeTableMod,
};
