// A held frame's conversation (transportFlowKey): frames of one conversation keep their order
// during a replay, frames of another may pass them. Same key = same conversation.
import t from 'tap';
import { transportFlowKey } from '../../controller/core/packet.js';
import { ipv4Packet as ipv4 } from './ipv4-packet.js';

function ipv6(next: number, sport: number): Buffer {
  const f = Buffer.alloc(14 + 40 + 8);
  f.writeUInt16BE(0x86dd, 12);
  f[14] = 0x60;
  f[20] = next;
  f[14 + 8 + 15] = 1;
  f[14 + 24 + 15] = 9;
  f.writeUInt16BE(sport, 54);
  f.writeUInt16BE(443, 56);
  return f;
}

t.test('IPv4: addresses, protocol and ports tell conversations apart; the payload does not', async (t) => {
  const base = transportFlowKey(ipv4());
  const withPayload = ipv4();
  withPayload[withPayload.length - 1] = 0xff;
  t.equal(transportFlowKey(withPayload), base, 'same 5-tuple, other payload: same conversation');
  t.not(transportFlowKey(ipv4({ sport: 1001 })), base, 'source port');
  t.not(transportFlowKey(ipv4({ dport: 81 })), base, 'destination port');
  t.not(transportFlowKey(ipv4({ src: 2 })), base, 'source address');
  t.not(transportFlowKey(ipv4({ dst: 8 })), base, 'destination address');
  t.not(transportFlowKey(ipv4({ proto: 17 })), base, 'protocol');
  t.equal(transportFlowKey(ipv4({ proto: 17, sport: 5 })), transportFlowKey(ipv4({ proto: 17, sport: 5 })), 'UDP keyed the same way');
  t.equal(transportFlowKey(ipv4({ ihl: 6 })), transportFlowKey(ipv4({ ihl: 6, dport: 80 })), 'options: the ports are read after them');
  t.not(transportFlowKey(ipv4({ ihl: 6, sport: 1 })), transportFlowKey(ipv4({ ihl: 6, sport: 2 })));
  t.equal(transportFlowKey(ipv4({ proto: 1, sport: 1 })), transportFlowKey(ipv4({ proto: 1, sport: 2 })), 'ICMP: no ports, one conversation per address pair');
  t.not(transportFlowKey(ipv4({ vlan: 10 })), transportFlowKey(ipv4({ vlan: 11 })), 'the same addresses in two VLANs');
});

t.test('IPv4 fragments of an address pair and protocol share one key, whatever bytes sit where ports would', async (t) => {
  const first = transportFlowKey(ipv4({ frag: 0x2000, sport: 1000 })); // MF, offset 0
  const later = transportFlowKey(ipv4({ frag: 0x0010, sport: 0x4142 })); // offset 16, payload bytes
  t.equal(first, later);
  t.not(first, transportFlowKey(ipv4({ frag: 0x2000, src: 3 })));
});

t.test('IPv6: addresses, next header and ports', async (t) => {
  t.equal(transportFlowKey(ipv6(6, 1000)), transportFlowKey(ipv6(6, 1000)));
  t.not(transportFlowKey(ipv6(6, 1000)), transportFlowKey(ipv6(6, 1001)));
  t.equal(transportFlowKey(ipv6(0, 1000)), transportFlowKey(ipv6(0, 1001)), 'an extension header: keyed without ports');
  t.not(transportFlowKey(ipv6(17, 1000)), transportFlowKey(ipv4({ proto: 17, sport: 1000 })));
});

t.test('other frames: by EtherType and MACs; short and odd frames give a key, never an exception', async (t) => {
  const arp = (sender: number) => {
    const f = Buffer.alloc(42);
    f.fill(0xff, 0, 6);
    Buffer.from([2, 0, 0, 0, 0, sender]).copy(f, 6);
    f.writeUInt16BE(0x0806, 12);
    return f;
  };
  t.equal(transportFlowKey(arp(1)), transportFlowKey(arp(1)));
  t.not(transportFlowKey(arp(1)), transportFlowKey(arp(2)));
  const truncated = ipv4().subarray(0, 14 + 20 + 2);
  t.type(transportFlowKey(truncated), 'string', 'an IPv4 header with half its ports');
  t.not(transportFlowKey(truncated), transportFlowKey(ipv4()));
  for (const len of [0, 1, 13, 14, 15, 17, 18, 33, 34]) t.type(transportFlowKey(ipv4({ vlan: 5 }).subarray(0, len)), 'string', `${len} bytes`);
  let seed = 7;
  for (let i = 0; i < 2000; i++) {
    const f = Buffer.alloc(seed % 90);
    for (let j = 0; j < f.length; j++) f[j] = (seed = (seed * 1103515245 + 12345) >>> 0) & 0xff;
    if (f.length > 13 && i % 2 === 0) f.writeUInt16BE(i % 4 === 0 ? 0x0800 : 0x8100, 12);
    transportFlowKey(f);
  }
  t.pass('2,000 random frames keyed');
  t.equal(transportFlowKey(new Uint8Array(ipv4())), transportFlowKey(ipv4()), 'a Uint8Array view is keyed as the Buffer');
});
