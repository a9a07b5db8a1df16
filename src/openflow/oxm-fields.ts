/**
 * The OpenFlow-basic OXM fields of OpenFlow 1.3 (spec 7.2.3.7, table 12; prerequisites from the
 * same table, rules in 7.2.3.6), as one table indexed by field code, plus helpers for the
 * 32-bit OXM header. Decoder, encoder and validator all read this table; nothing else knows
 * field layouts.
 */
import type { OxmFieldName } from './types/match.js';

export const OXM_CLASS_NXM_0 = 0x0000;
export const OXM_CLASS_NXM_1 = 0x0001;
export const OXM_CLASS_OPENFLOW_BASIC = 0x8000;
export const OXM_CLASS_EXPERIMENTER = 0xffff;

/** vlan_vid: bit set in the value when a VLAN tag is present (spec table 13). */
export const OFPVID_PRESENT = 0x1000;
/** vlan_vid: the "no VLAN tag" value. */
export const OFPVID_NONE = 0x0000;

/**
 * Where a TLV is read or written decides the error it raises: a bad TLV in a match is
 * BAD_MATCH/*, in a set-field action BAD_ACTION/BAD_SET_* (the codes a switch answers with).
 */
export const OxmContext = { MATCH: 0, SET_FIELD: 1 } as const;
export type OxmContext = (typeof OxmContext)[keyof typeof OxmContext];

/** How a field's payload is read and shown. */
export type OxmValueKind = 'u8' | 'u16' | 'u24' | 'u32' | 'u64' | 'mac' | 'ipv4' | 'ipv6';

/** Kind as a small integer, for switch dispatch in the hot paths. */
export const KindCode = { U8: 0, U16: 1, U24: 2, U32: 3, U64: 4, MAC: 5, IPV4: 6, IPV6: 7 } as const;
export type KindCode = (typeof KindCode)[keyof typeof KindCode];

/**
 * A prerequisite: `field` must appear earlier in the match, unmasked, with one of `values`
 * (`values: null` = present with any value). vlan_pcp's "VLAN_VID != NONE" is expressed by
 * `presentBit`: the vlan_vid value (and its mask, if any) must have OFPVID_PRESENT set.
 */
export interface OxmPrereq {
  readonly field: OxmFieldName;
  readonly values: readonly number[] | null;
  readonly presentBit?: number;
}

export interface OxmFieldSpec {
  readonly name: OxmFieldName;
  /** oxm_field within class 0x8000. */
  readonly code: number;
  /** Payload bytes of the value (the mask, when present, is the same length again). */
  readonly length: number;
  /** Whether the spec allows oxm_hasmask=1 for this field. */
  readonly maskable: boolean;
  readonly kind: OxmValueKind;
  readonly kindCode: KindCode;
  /**
   * Meaningful low bits of the value (e.g. 6 for ip_dscp, 13 for vlan_vid with its PRESENT
   * bit); validation reports bits above this as BAD_VALUE. Equals 8 * length for full-width fields.
   */
  readonly bits: number;
  readonly prereq: OxmPrereq | null;
}

const ETH_IP = { field: 'eth_type', values: [0x0800, 0x86dd] } as const;
const ETH_IPV4 = { field: 'eth_type', values: [0x0800] } as const;
const ETH_IPV6 = { field: 'eth_type', values: [0x86dd] } as const;
const ETH_ARP = { field: 'eth_type', values: [0x0806] } as const;
const ETH_MPLS = { field: 'eth_type', values: [0x8847, 0x8848] } as const;
const ETH_PBB = { field: 'eth_type', values: [0x88e7] } as const;
const PROTO_TCP = { field: 'ip_proto', values: [6] } as const;
const PROTO_UDP = { field: 'ip_proto', values: [17] } as const;
const PROTO_SCTP = { field: 'ip_proto', values: [132] } as const;
const PROTO_ICMP = { field: 'ip_proto', values: [1] } as const;
const PROTO_ICMPV6 = { field: 'ip_proto', values: [58] } as const;

const KIND_CODES: Record<OxmValueKind, KindCode> = {
  u8: KindCode.U8, u16: KindCode.U16, u24: KindCode.U24, u32: KindCode.U32, u64: KindCode.U64,
  mac: KindCode.MAC, ipv4: KindCode.IPV4, ipv6: KindCode.IPV6,
};
const KIND_LENGTH: Record<OxmValueKind, number> = { u8: 1, u16: 2, u24: 3, u32: 4, u64: 8, mac: 6, ipv4: 4, ipv6: 16 };

function f(
  code: number, name: OxmFieldName, kind: OxmValueKind, maskable: boolean, bits: number | null,
  prereq: OxmPrereq | null,
): OxmFieldSpec {
  const length = KIND_LENGTH[kind];
  return { name, code, length, maskable, kind, kindCode: KIND_CODES[kind], bits: bits ?? length * 8, prereq };
}

/** Indexed by field code (0..39). */
export const OXM_FIELDS: readonly OxmFieldSpec[] = Object.freeze([
  f(0, 'in_port', 'u32', false, null, null),
  f(1, 'in_phy_port', 'u32', false, null, { field: 'in_port', values: null }),
  f(2, 'metadata', 'u64', true, null, null),
  f(3, 'eth_dst', 'mac', true, null, null),
  f(4, 'eth_src', 'mac', true, null, null),
  f(5, 'eth_type', 'u16', false, null, null),
  f(6, 'vlan_vid', 'u16', true, 13, null),
  f(7, 'vlan_pcp', 'u8', false, 3, { field: 'vlan_vid', values: null, presentBit: OFPVID_PRESENT }),
  f(8, 'ip_dscp', 'u8', false, 6, ETH_IP),
  f(9, 'ip_ecn', 'u8', false, 2, ETH_IP),
  f(10, 'ip_proto', 'u8', false, null, ETH_IP),
  f(11, 'ipv4_src', 'ipv4', true, null, ETH_IPV4),
  f(12, 'ipv4_dst', 'ipv4', true, null, ETH_IPV4),
  f(13, 'tcp_src', 'u16', false, null, PROTO_TCP),
  f(14, 'tcp_dst', 'u16', false, null, PROTO_TCP),
  f(15, 'udp_src', 'u16', false, null, PROTO_UDP),
  f(16, 'udp_dst', 'u16', false, null, PROTO_UDP),
  f(17, 'sctp_src', 'u16', false, null, PROTO_SCTP),
  f(18, 'sctp_dst', 'u16', false, null, PROTO_SCTP),
  f(19, 'icmpv4_type', 'u8', false, null, PROTO_ICMP),
  f(20, 'icmpv4_code', 'u8', false, null, PROTO_ICMP),
  f(21, 'arp_op', 'u16', false, null, ETH_ARP),
  f(22, 'arp_spa', 'ipv4', true, null, ETH_ARP),
  f(23, 'arp_tpa', 'ipv4', true, null, ETH_ARP),
  f(24, 'arp_sha', 'mac', true, null, ETH_ARP),
  f(25, 'arp_tha', 'mac', true, null, ETH_ARP),
  f(26, 'ipv6_src', 'ipv6', true, null, ETH_IPV6),
  f(27, 'ipv6_dst', 'ipv6', true, null, ETH_IPV6),
  f(28, 'ipv6_flabel', 'u32', true, 20, ETH_IPV6),
  f(29, 'icmpv6_type', 'u8', false, null, PROTO_ICMPV6),
  f(30, 'icmpv6_code', 'u8', false, null, PROTO_ICMPV6),
  f(31, 'ipv6_nd_target', 'ipv6', false, null, { field: 'icmpv6_type', values: [135, 136] }),
  f(32, 'ipv6_nd_sll', 'mac', false, null, { field: 'icmpv6_type', values: [135] }),
  f(33, 'ipv6_nd_tll', 'mac', false, null, { field: 'icmpv6_type', values: [136] }),
  f(34, 'mpls_label', 'u32', false, 20, ETH_MPLS),
  f(35, 'mpls_tc', 'u8', false, 3, ETH_MPLS),
  f(36, 'mpls_bos', 'u8', false, 1, ETH_MPLS),
  f(37, 'pbb_isid', 'u24', true, null, ETH_PBB),
  f(38, 'tunnel_id', 'u64', true, null, null),
  f(39, 'ipv6_exthdr', 'u16', true, 9, ETH_IPV6),
]);

const BY_NAME: ReadonlyMap<string, OxmFieldSpec> = new Map(OXM_FIELDS.map((s) => [s.name, s]));

export function oxmFieldByName(name: string): OxmFieldSpec | undefined {
  return BY_NAME.get(name);
}

/** The spec of a basic field, or undefined for any other class or an unknown code. */
export function oxmFieldByCode(oxmClass: number, oxmField: number): OxmFieldSpec | undefined {
  return oxmClass === OXM_CLASS_OPENFLOW_BASIC ? OXM_FIELDS[oxmField] : undefined;
}

/** The 32-bit OXM header: class(16) | field(7) | hasmask(1) | length(8). */
export function oxmHeader(oxmClass: number, oxmField: number, hasMask: boolean, length: number): number {
  if (!Number.isInteger(oxmClass) || oxmClass < 0 || oxmClass > 0xffff) throw new RangeError(`OXM class ${oxmClass} is not a 16-bit value`);
  if (!Number.isInteger(oxmField) || oxmField < 0 || oxmField > 0x7f) throw new RangeError(`OXM field ${oxmField} is not a 7-bit value`);
  if (!Number.isInteger(length) || length < 0 || length > 0xff) throw new RangeError(`OXM length ${length} is not an 8-bit value`);
  return ((oxmClass << 16) | (oxmField << 9) | (hasMask ? 0x100 : 0) | length) >>> 0;
}

/** Header of a basic field; the length is the value length, doubled when masked. */
export function oxmHeaderOf(name: OxmFieldName, hasMask = false): number {
  const spec = BY_NAME.get(name);
  if (!spec) throw new RangeError(`unknown OXM field name ${JSON.stringify(name)}`);
  return oxmHeader(OXM_CLASS_OPENFLOW_BASIC, spec.code, hasMask, hasMask ? spec.length * 2 : spec.length);
}

export interface OxmHeaderInfo {
  /** The basic field's name, or 'opaque' for other classes and unknown basic codes. */
  field: OxmFieldName | 'opaque';
  oxmClass: number;
  oxmField: number;
  hasMask: boolean;
  /** oxm_length: payload bytes after the header. */
  length: number;
}

export function describeOxmHeader(header: number): OxmHeaderInfo {
  const oxmClass = header >>> 16;
  const oxmField = (header >>> 9) & 0x7f;
  return {
    field: oxmFieldByCode(oxmClass, oxmField)?.name ?? 'opaque',
    oxmClass,
    oxmField,
    hasMask: (header & 0x100) !== 0,
    length: header & 0xff,
  };
}
