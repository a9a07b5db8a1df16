// Wire constants of OpenFlow 1.3 (OpenFlow Switch Specification 1.3.5, openflow.h).

export const OFP_VERSION = 0x04;
export const OFP_HEADER_LEN = 8;
/** The 16-bit length field bounds every message. */
export const OFP_MAX_MESSAGE_LEN = 0xffff;

/** ofp_type: message type codes, indexed by our JSON name. */
export const MessageTypeCode = {
  HELLO: 0,
  ERROR: 1,
  ECHO_REQUEST: 2,
  ECHO_REPLY: 3,
  EXPERIMENTER: 4,
  FEATURES_REQUEST: 5,
  FEATURES_REPLY: 6,
  GET_CONFIG_REQUEST: 7,
  GET_CONFIG_REPLY: 8,
  SET_CONFIG: 9,
  PACKET_IN: 10,
  FLOW_REMOVED: 11,
  PORT_STATUS: 12,
  PACKET_OUT: 13,
  FLOW_MOD: 14,
  GROUP_MOD: 15,
  PORT_MOD: 16,
  TABLE_MOD: 17,
  MULTIPART_REQUEST: 18,
  MULTIPART_REPLY: 19,
  BARRIER_REQUEST: 20,
  BARRIER_REPLY: 21,
  QUEUE_GET_CONFIG_REQUEST: 22,
  QUEUE_GET_CONFIG_REPLY: 23,
  ROLE_REQUEST: 24,
  ROLE_REPLY: 25,
  GET_ASYNC_REQUEST: 26,
  GET_ASYNC_REPLY: 27,
  SET_ASYNC: 28,
  METER_MOD: 29,
} as const;
export type MessageTypeName = keyof typeof MessageTypeCode;
export const MessageTypeName: readonly MessageTypeName[] = (() => {
  const names: MessageTypeName[] = [];
  for (const [name, code] of Object.entries(MessageTypeCode)) names[code] = name as MessageTypeName;
  return names;
})();

/** ofp_error_type and, per type, its codes (section 7.4.4 of the spec). */
export const ErrorType = {
  HELLO_FAILED: 0,
  BAD_REQUEST: 1,
  BAD_ACTION: 2,
  BAD_INSTRUCTION: 3,
  BAD_MATCH: 4,
  FLOW_MOD_FAILED: 5,
  GROUP_MOD_FAILED: 6,
  PORT_MOD_FAILED: 7,
  TABLE_MOD_FAILED: 8,
  QUEUE_OP_FAILED: 9,
  SWITCH_CONFIG_FAILED: 10,
  ROLE_REQUEST_FAILED: 11,
  METER_MOD_FAILED: 12,
  TABLE_FEATURES_FAILED: 13,
  EXPERIMENTER: 0xffff,
} as const;
export type ErrorTypeName = keyof typeof ErrorType;

export const ErrorCodeNames: Record<number, readonly string[]> = {
  [ErrorType.HELLO_FAILED]: ['INCOMPATIBLE', 'EPERM'],
  [ErrorType.BAD_REQUEST]: [
    'BAD_VERSION', 'BAD_TYPE', 'BAD_MULTIPART', 'BAD_EXPERIMENTER', 'BAD_EXP_TYPE', 'EPERM',
    'BAD_LEN', 'BUFFER_EMPTY', 'BUFFER_UNKNOWN', 'BAD_TABLE_ID', 'IS_SLAVE', 'BAD_PORT',
    'BAD_PACKET', 'MULTIPART_BUFFER_OVERFLOW',
  ],
  [ErrorType.BAD_ACTION]: [
    'BAD_TYPE', 'BAD_LEN', 'BAD_EXPERIMENTER', 'BAD_EXP_TYPE', 'BAD_OUT_PORT', 'BAD_ARGUMENT',
    'EPERM', 'TOO_MANY', 'BAD_QUEUE', 'BAD_OUT_GROUP', 'MATCH_INCONSISTENT', 'UNSUPPORTED_ORDER',
    'BAD_TAG', 'BAD_SET_TYPE', 'BAD_SET_LEN', 'BAD_SET_ARGUMENT',
  ],
  [ErrorType.BAD_INSTRUCTION]: [
    'UNKNOWN_INST', 'UNSUP_INST', 'BAD_TABLE_ID', 'UNSUP_METADATA', 'UNSUP_METADATA_MASK',
    'BAD_EXPERIMENTER', 'BAD_EXP_TYPE', 'BAD_LEN', 'EPERM',
  ],
  [ErrorType.BAD_MATCH]: [
    'BAD_TYPE', 'BAD_LEN', 'BAD_TAG', 'BAD_DL_ADDR_MASK', 'BAD_NW_ADDR_MASK', 'BAD_WILDCARDS',
    'BAD_FIELD', 'BAD_VALUE', 'BAD_MASK', 'BAD_PREREQ', 'DUP_FIELD', 'EPERM',
  ],
  [ErrorType.FLOW_MOD_FAILED]: [
    'UNKNOWN', 'TABLE_FULL', 'BAD_TABLE_ID', 'OVERLAP', 'EPERM', 'BAD_TIMEOUT', 'BAD_COMMAND',
    'BAD_FLAGS',
  ],
  [ErrorType.GROUP_MOD_FAILED]: [
    'GROUP_EXISTS', 'INVALID_GROUP', 'WEIGHT_UNSUPPORTED', 'OUT_OF_GROUPS', 'OUT_OF_BUCKETS',
    'CHAINING_UNSUPPORTED', 'WATCH_UNSUPPORTED', 'LOOP', 'UNKNOWN_GROUP', 'CHAINED_GROUP',
    'BAD_TYPE', 'BAD_COMMAND', 'BAD_BUCKET', 'BAD_WATCH', 'EPERM',
  ],
  [ErrorType.PORT_MOD_FAILED]: ['BAD_PORT', 'BAD_HW_ADDR', 'BAD_CONFIG', 'BAD_ADVERTISE', 'EPERM'],
  [ErrorType.TABLE_MOD_FAILED]: ['BAD_TABLE', 'BAD_CONFIG', 'EPERM'],
  [ErrorType.QUEUE_OP_FAILED]: ['BAD_PORT', 'BAD_QUEUE', 'EPERM'],
  [ErrorType.SWITCH_CONFIG_FAILED]: ['BAD_FLAGS', 'BAD_LEN', 'EPERM'],
  [ErrorType.ROLE_REQUEST_FAILED]: ['STALE', 'UNSUP', 'BAD_ROLE'],
  [ErrorType.METER_MOD_FAILED]: [
    'UNKNOWN', 'METER_EXISTS', 'INVALID_METER', 'UNKNOWN_METER', 'BAD_COMMAND', 'BAD_FLAGS',
    'BAD_RATE', 'BAD_BURST', 'BAD_BAND', 'BAD_BAND_VALUE', 'OUT_OF_METERS', 'OUT_OF_BANDS',
  ],
  [ErrorType.TABLE_FEATURES_FAILED]: [
    'BAD_TABLE', 'BAD_METADATA', 'BAD_TYPE', 'BAD_LEN', 'BAD_ARGUMENT', 'EPERM',
  ],
};

/** Builds a name → code map for one error type, e.g. `ErrorCode.BAD_MATCH.BAD_FIELD`. */
function codesOf<T extends number>(type: T): Record<string, number> {
  const out: Record<string, number> = {};
  (ErrorCodeNames[type] ?? []).forEach((name, code) => (out[name] = code));
  return out;
}
export const ErrorCode = {
  HELLO_FAILED: codesOf(ErrorType.HELLO_FAILED),
  BAD_REQUEST: codesOf(ErrorType.BAD_REQUEST),
  BAD_ACTION: codesOf(ErrorType.BAD_ACTION),
  BAD_INSTRUCTION: codesOf(ErrorType.BAD_INSTRUCTION),
  BAD_MATCH: codesOf(ErrorType.BAD_MATCH),
  FLOW_MOD_FAILED: codesOf(ErrorType.FLOW_MOD_FAILED),
  GROUP_MOD_FAILED: codesOf(ErrorType.GROUP_MOD_FAILED),
  PORT_MOD_FAILED: codesOf(ErrorType.PORT_MOD_FAILED),
  TABLE_MOD_FAILED: codesOf(ErrorType.TABLE_MOD_FAILED),
  QUEUE_OP_FAILED: codesOf(ErrorType.QUEUE_OP_FAILED),
  SWITCH_CONFIG_FAILED: codesOf(ErrorType.SWITCH_CONFIG_FAILED),
  ROLE_REQUEST_FAILED: codesOf(ErrorType.ROLE_REQUEST_FAILED),
  METER_MOD_FAILED: codesOf(ErrorType.METER_MOD_FAILED),
  TABLE_FEATURES_FAILED: codesOf(ErrorType.TABLE_FEATURES_FAILED),
} as const;

/** Reserved port numbers (ofp_port_no). */
export const Port = {
  MAX: 0xffffff00,
  IN_PORT: 0xfffffff8,
  TABLE: 0xfffffff9,
  NORMAL: 0xfffffffa,
  FLOOD: 0xfffffffb,
  ALL: 0xfffffffc,
  CONTROLLER: 0xfffffffd,
  LOCAL: 0xfffffffe,
  ANY: 0xffffffff,
} as const;

export const Table = { MAX: 0xfe, ALL: 0xff } as const;
export const Group = { MAX: 0xffffff00, ALL: 0xfffffffc, ANY: 0xffffffff } as const;
export const Meter = { MAX: 0xffff0000, SLOWPATH: 0xfffffffd, CONTROLLER: 0xfffffffe, ALL: 0xffffffff } as const;
export const NO_BUFFER = 0xffffffff;
/** ofp_controller_max_len: send the whole packet to the controller. */
export const CONTROLLER_MAX_LEN_NO_BUFFER = 0xffff;
