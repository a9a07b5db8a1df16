/**
 * Just enough Ethernet/ARP/IPv4 parsing for the controller's packet-in handling (learning,
 * host-move detection, proxy ARP), and the ARP reply it sends. Bounds-checked: a short or odd
 * frame yields what could be read, never an exception.
 */
import { formatIpv4, formatMac } from '../../src/openflow/addr.js';

export interface EthernetInfo {
  dst: string;
  src: string;
  /** Outer VLAN id when tagged. */
  vlan?: number;
  ethType: number;
  /** Offset of the payload after the (possibly tagged) Ethernet header. */
  payloadOffset: number;
  arp?: ArpInfo;
  ipv4?: { src: string; dst: string; protocol: number };
}

export interface ArpInfo {
  op: number;
  sha: string;
  spa: string;
  tha: string;
  tpa: string;
}

export const ETH_TYPE_IPV4 = 0x0800;
export const ETH_TYPE_ARP = 0x0806;
const ETH_TYPE_VLAN = 0x8100;
const ETH_TYPE_QINQ = 0x88a8;

export function parseEthernet(frame: Buffer): EthernetInfo | undefined {
  if (frame.length < 14) return undefined;
  const info: EthernetInfo = { dst: formatMac(frame, 0), src: formatMac(frame, 6), ethType: frame.readUInt16BE(12), payloadOffset: 14 };
  if ((info.ethType === ETH_TYPE_VLAN || info.ethType === ETH_TYPE_QINQ) && frame.length >= 18) {
    info.vlan = frame.readUInt16BE(14) & 0x0fff;
    info.ethType = frame.readUInt16BE(16);
    info.payloadOffset = 18;
  }
  const p = info.payloadOffset;
  if (info.ethType === ETH_TYPE_ARP && frame.length >= p + 28) {
    // Only Ethernet/IPv4 ARP (htype 1, ptype 0x0800, hlen 6, plen 4) is understood.
    if (frame.readUInt16BE(p) === 1 && frame.readUInt16BE(p + 2) === ETH_TYPE_IPV4 && frame[p + 4] === 6 && frame[p + 5] === 4) {
      info.arp = {
        op: frame.readUInt16BE(p + 6),
        sha: formatMac(frame, p + 8),
        spa: formatIpv4(frame, p + 14),
        tha: formatMac(frame, p + 18),
        tpa: formatIpv4(frame, p + 24),
      };
    }
  } else if (info.ethType === ETH_TYPE_IPV4 && frame.length >= p + 20 && frame[p]! >> 4 === 4) {
    info.ipv4 = { protocol: frame[p + 9]!, src: formatIpv4(frame, p + 12), dst: formatIpv4(frame, p + 16) };
  }
  return info;
}

/** The ARP reply "`ip` is at `mac`" to the requester described by `request`. */
export function buildArpReply(request: ArpInfo, mac: string, ip: string): Buffer {
  const frame = Buffer.alloc(42);
  macBytes(request.sha).copy(frame, 0);
  macBytes(mac).copy(frame, 6);
  frame.writeUInt16BE(ETH_TYPE_ARP, 12);
  frame.writeUInt16BE(1, 14); // htype Ethernet
  frame.writeUInt16BE(ETH_TYPE_IPV4, 16);
  frame[18] = 6;
  frame[19] = 4;
  frame.writeUInt16BE(2, 20); // reply
  macBytes(mac).copy(frame, 22);
  ipv4Bytes(ip).copy(frame, 28);
  macBytes(request.sha).copy(frame, 32);
  ipv4Bytes(request.spa).copy(frame, 38);
  return frame;
}

export function isUnicastMac(mac: string): boolean {
  return (parseInt(mac.slice(0, 2), 16) & 1) === 0;
}

function macBytes(mac: string): Buffer {
  return Buffer.from(mac.replace(/:/g, ''), 'hex');
}

function ipv4Bytes(ip: string): Buffer {
  return Buffer.from(ip.split('.').map((o) => Number(o)));
}

const ETH_TYPE_IPV6 = 0x86dd;
const IP_PROTO_TCP = 6;
const IP_PROTO_UDP = 17;
const IP_PROTO_SCTP = 132;

/**
 * The conversation a frame belongs to, as a string key, for keeping order within it while
 * frames of others may pass: IPv4/IPv6 source, destination and protocol, with the ports for
 * TCP, UDP and SCTP; any other frame by EtherType, source and destination MAC. An IPv4 fragment
 * carries no ports after the first: every fragmented frame of an address pair and protocol
 * shares one key (one without ports), so fragments keep their order among themselves; a whole
 * datagram of the same conversation may pass a fragmented one. IPv6 extension headers are
 * not walked: such a packet is keyed without ports.
 */
export function transportFlowKey(frame: Uint8Array): string {
  const f = Buffer.isBuffer(frame) ? frame : Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  if (f.length < 14) return `short:${f.toString('latin1')}`;
  let p = 14;
  let ethType = f.readUInt16BE(12);
  while ((ethType === ETH_TYPE_VLAN || ethType === ETH_TYPE_QINQ) && f.length >= p + 4) {
    ethType = f.readUInt16BE(p + 2);
    p += 4;
  }
  // Tags are part of the key: the same addresses in two VLANs are two conversations.
  const link = f.toString('latin1', 12, p);
  if (ethType === ETH_TYPE_IPV4 && f.length >= p + 20 && f[p]! >> 4 === 4) {
    const proto = f[p + 9]!;
    const ihl = (f[p]! & 0x0f) * 4;
    const fragmented = (f.readUInt16BE(p + 6) & 0x3fff) !== 0; // MF or an offset
    const addrs = f.toString('latin1', p + 12, p + 20);
    const l4 = p + ihl;
    if (!fragmented && hasPorts(proto) && ihl >= 20 && f.length >= l4 + 4) return `4${link}${addrs}${String.fromCharCode(proto)}${f.toString('latin1', l4, l4 + 4)}`;
    return `4${link}${addrs}${String.fromCharCode(proto)}${fragmented ? 'f' : ''}`;
  }
  if (ethType === ETH_TYPE_IPV6 && f.length >= p + 40 && f[p]! >> 4 === 6) {
    const next = f[p + 6]!;
    const addrs = f.toString('latin1', p + 8, p + 40);
    const l4 = p + 40;
    if (hasPorts(next) && f.length >= l4 + 4) return `6${link}${addrs}${String.fromCharCode(next)}${f.toString('latin1', l4, l4 + 4)}`;
    return `6${link}${addrs}${String.fromCharCode(next)}`;
  }
  return `e${link}${f.toString('latin1', 0, 12)}`;
}

function hasPorts(proto: number): boolean {
  return proto === IP_PROTO_TCP || proto === IP_PROTO_UDP || proto === IP_PROTO_SCTP;
}
