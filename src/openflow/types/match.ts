/**
 * OXM match types (spec 7.2.3). A match is an ordered list of TLVs, kept in wire order so that
 * a decode/encode round trip is byte-exact, and so that invalid matches (duplicates, missing
 * prerequisites) can still be built and read; `validateMatch` checks them separately.
 */

/** The 40 OpenFlow-basic fields of OpenFlow 1.3 (class 0x8000), by their OXM_OF_* name. */
export type OxmFieldName =
  | 'in_port' | 'in_phy_port' | 'metadata' | 'eth_dst' | 'eth_src' | 'eth_type'
  | 'vlan_vid' | 'vlan_pcp' | 'ip_dscp' | 'ip_ecn' | 'ip_proto' | 'ipv4_src' | 'ipv4_dst'
  | 'tcp_src' | 'tcp_dst' | 'udp_src' | 'udp_dst' | 'sctp_src' | 'sctp_dst' | 'icmpv4_type'
  | 'icmpv4_code' | 'arp_op' | 'arp_spa' | 'arp_tpa' | 'arp_sha' | 'arp_tha' | 'ipv6_src'
  | 'ipv6_dst' | 'ipv6_flabel' | 'icmpv6_type' | 'icmpv6_code' | 'ipv6_nd_target'
  | 'ipv6_nd_sll' | 'ipv6_nd_tll' | 'mpls_label' | 'mpls_tc' | 'mpls_bos' | 'pbb_isid'
  | 'tunnel_id' | 'ipv6_exthdr';

/**
 * Value of a basic field, by the field's kind: integers up to 32 bits are `number`; 64-bit
 * fields (metadata, tunnel_id) are `bigint`; MAC addresses are "aa:bb:cc:dd:ee:ff";
 * IPv4 "10.0.0.1"; IPv6 in RFC 5952 text form.
 */
export type OxmValue = number | bigint | string;

/** A TLV of the OpenFlow-basic class. `mask` present = the HM bit is set on the wire. */
export interface OxmBasicField {
  field: OxmFieldName;
  value: OxmValue;
  mask?: OxmValue;
}

/**
 * A TLV of any other class (NXM_0/NXM_1 registers, experimenter 0xffff, ...) or an unknown
 * basic field: kept as opaque bytes so it survives a round trip untouched.
 * `data` is the TLV payload after the 4-byte OXM header (value, then mask if `hasMask`;
 * for class 0xffff the experimenter id is its first 4 bytes).
 */
export interface OxmOpaqueField {
  field: 'opaque';
  oxmClass: number;
  oxmField: number;
  hasMask: boolean;
  data: Buffer;
}

export type OxmField = OxmBasicField | OxmOpaqueField;

/** ofp_match of type OFPMT_OXM (the only match type OpenFlow 1.3 defines for use). */
export interface Match {
  fields: OxmField[];
}
