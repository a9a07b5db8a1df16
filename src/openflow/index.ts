/**
 * OpenFlow 1.3 wire library: the public entry point. Message objects, their decoder and
 * encoder, the stream framer, the bounds-checked reader/writer, and the wire constants.
 */
export type * from './types/index.js';
export * from './constants.js';
export { OpenFlowError, ofpError, errorTypeName, errorCodeName } from './errors.js';
export { BufferReader } from './reader.js';
export { BufferWriter } from './writer.js';
export { MessageFramer } from './framer.js';
export { decodeMessage } from './decode/index.js';
export { encodeMessage, encodeMessageInto } from './encode/index.js';

// Name tables of the closed enums, indexed by wire code (the types of the same names are the
// unions of their entries).
export { ControllerRoleNames } from './types/switch.js';
export { PacketInReasonNames, FlowRemovedReasonNames, PortReasonNames } from './types/async.js';
export { FlowModCommandNames } from './types/flow.js';
export { GroupModCommandNames, GroupTypeNames, MeterModCommandNames } from './types/group-meter.js';
export { MultipartTypeCode, MultipartFlags, TableFeaturePropCode, GroupDescTypeCode } from './types/multipart.js';
// Wire codes of actions, instructions, meter bands and queue properties.
export * from './struct-codes.js';
// The OXM field table (names, codes, widths, maskability, prerequisites) and VLAN id flags.
export {
  OXM_FIELDS, oxmFieldByName, oxmFieldByCode, OFPVID_PRESENT, OFPVID_NONE,
  OXM_CLASS_NXM_0, OXM_CLASS_NXM_1, OXM_CLASS_OPENFLOW_BASIC, OXM_CLASS_EXPERIMENTER,
  type OxmFieldSpec,
} from './oxm-fields.js';

export { validateMatch } from './validate-match.js';
// JSON form of messages (messageToJSON/messageFromJSON, stringifyMessage/parseMessage, ...).
export * from './json.js';
// MAC/IPv4/IPv6 text <-> wire helpers, as used for match values.
export * from './addr.js';
