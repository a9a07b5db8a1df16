/**
 * Wire codes of actions, instructions, meter bands and queue properties (openflow.h
 * OFPAT_*, OFPIT_*, OFPMBT_*, OFPQT_*), shared by the decoders, encoders and the
 * table-features lists of action/instruction ids.
 */
import type { ActionType, InstructionType } from './types/actions.js';
import type { MeterBand, QueueProperty } from './types/structs.js';

/** OFPAT_* codes by action name. */
export const ActionTypeCode: Readonly<Record<ActionType, number>> = {
  OUTPUT: 0, COPY_TTL_OUT: 11, COPY_TTL_IN: 12, SET_MPLS_TTL: 15, DEC_MPLS_TTL: 16, PUSH_VLAN: 17,
  POP_VLAN: 18, PUSH_MPLS: 19, POP_MPLS: 20, SET_QUEUE: 21, GROUP: 22, SET_NW_TTL: 23,
  DEC_NW_TTL: 24, SET_FIELD: 25, PUSH_PBB: 26, POP_PBB: 27, EXPERIMENTER: 0xffff,
};

/** OFPIT_* codes by instruction name. */
export const InstructionTypeCode: Readonly<Record<InstructionType, number>> = {
  GOTO_TABLE: 1, WRITE_METADATA: 2, WRITE_ACTIONS: 3, APPLY_ACTIONS: 4, CLEAR_ACTIONS: 5,
  METER: 6, EXPERIMENTER: 0xffff,
};

/** OFPMBT_* codes by meter band name. */
export const MeterBandTypeCode: Readonly<Record<MeterBand['type'], number>> = {
  DROP: 1, DSCP_REMARK: 2, EXPERIMENTER: 0xffff,
};

/** OFPQT_* codes by queue property name. */
export const QueuePropertyCode: Readonly<Record<QueueProperty['property'], number>> = {
  MIN_RATE: 1, MAX_RATE: 2, EXPERIMENTER: 0xffff,
};

function invert<K extends string>(table: Readonly<Record<K, number>>): ReadonlyMap<number, K> {
  return new Map(Object.entries(table).map(([name, code]) => [code as number, name as K]));
}
const ACTION_NAMES = invert(ActionTypeCode);
const INSTRUCTION_NAMES = invert(InstructionTypeCode);
const BAND_NAMES = invert(MeterBandTypeCode);
const QUEUE_PROPERTY_NAMES = invert(QueuePropertyCode);

export function actionTypeName(code: number): ActionType | undefined {
  return ACTION_NAMES.get(code);
}
export function instructionTypeName(code: number): InstructionType | undefined {
  return INSTRUCTION_NAMES.get(code);
}
export function meterBandTypeName(code: number): MeterBand['type'] | undefined {
  return BAND_NAMES.get(code);
}
export function queuePropertyName(code: number): QueueProperty['property'] | undefined {
  return QUEUE_PROPERTY_NAMES.get(code);
}
