/** IPv4 frames for the tests of a held frame's conversation (transportFlowKey) and the hold queue. */

export interface Ipv4PacketOptions {
  /** Last octets of 10.0.0.x. */
  src?: number;
  dst?: number;
  proto?: number;
  sport?: number;
  dport?: number;
  /** Flags and fragment offset (MF 0x2000). */
  frag?: number;
  /** An 802.1Q tag with this VLAN id. */
  vlan?: number;
  /** Header length in 32-bit words (> 5: options). */
  ihl?: number;
  /** A number in the payload, 8 bytes after the ports (a UDP datagram's first payload bytes). */
  payload?: number;
}

/** An Ethernet frame carrying an IPv4 packet from 10.0.0.`src`:`sport` to 10.0.0.`dst`:`dport`. */
export function ipv4Packet({ src = 1, dst = 9, proto = 6, sport = 1000, dport = 80, frag = 0, vlan, ihl = 5, payload = 0 }: Ipv4PacketOptions = {}): Buffer {
  const tag = vlan === undefined ? 0 : 4;
  const f = Buffer.alloc(14 + tag + ihl * 4 + 20);
  Buffer.from('020000000001', 'hex').copy(f, 0);
  Buffer.from('020000000002', 'hex').copy(f, 6);
  if (vlan !== undefined) {
    f.writeUInt16BE(0x8100, 12);
    f.writeUInt16BE(vlan, 14);
  }
  const p = 14 + tag;
  f.writeUInt16BE(0x0800, p - 2);
  f[p] = 0x40 | ihl;
  f.writeUInt16BE(frag, p + 6);
  f[p + 9] = proto;
  Buffer.from([10, 0, 0, src]).copy(f, p + 12);
  Buffer.from([10, 0, 0, dst]).copy(f, p + 16);
  const l4 = p + ihl * 4;
  f.writeUInt16BE(sport, l4);
  f.writeUInt16BE(dport, l4 + 2);
  f.writeUInt32BE(payload, l4 + 8);
  return f;
}
