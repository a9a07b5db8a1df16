/** Underlay addressing: picking a subnet the root namespace does not use, and handing out addresses. */
import { readFileSync } from 'node:fs';
import { formatIpv4, parseCidr, prefixMask, type Cidr } from '../src/topology/net.js';

/** IPv4 routes of the root namespace (destination and prefix length), default route excluded. */
export function rootRoutes(): { network: number; prefixLength: number; iface: string }[] {
  let text: string;
  try {
    text = readFileSync('/proc/net/route', 'utf8');
  } catch {
    return [];
  }
  const out: { network: number; prefixLength: number; iface: string }[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    // Destination and mask are host-order (little-endian) hex.
    const le = (h: string) => {
      const v = parseInt(h, 16);
      return (((v & 0xff) << 24) | (((v >>> 8) & 0xff) << 16) | (((v >>> 16) & 0xff) << 8) | ((v >>> 24) & 0xff)) >>> 0;
    };
    const mask = le(f[7]!);
    if (mask === 0) continue;
    // Leading ones of the mask = leading zeros of its complement (32 for a host route).
    const prefixLength = Math.clz32(~mask >>> 0);
    out.push({ network: (le(f[1]!) & mask) >>> 0, prefixLength, iface: f[0]! });
  }
  return out;
}

export function overlaps(a: { network: number; prefixLength: number }, b: { network: number; prefixLength: number }): boolean {
  const m = prefixMask(Math.min(a.prefixLength, b.prefixLength));
  return ((a.network & m) >>> 0) === ((b.network & m) >>> 0);
}

/** The root route overlapping `cidr`, if any (described for an error message). */
export function conflictingRoute(cidr: Cidr): string | null {
  const r = rootRoutes().find((route) => overlaps(route, cidr));
  return r ? `${formatIpv4(r.network)}/${r.prefixLength} dev ${r.iface}` : null;
}

/** A 10.250.X.0/24 no root route overlaps; X random so parallel runs rarely meet. */
export function pickUnderlaySubnet(): Cidr {
  const routes = rootRoutes();
  const start = Math.floor(Math.random() * 256);
  for (let i = 0; i < 256; i++) {
    const x = (start + i) % 256;
    const cidr = parseCidr(`10.250.${x}.0/24`);
    if (cidr.ok && !routes.some((r) => overlaps(r, cidr.value))) return cidr.value;
  }
  throw new Error('testbed: every 10.250.X.0/24 overlaps a route of this machine; pass an underlay subnet (--underlay CIDR)');
}

export function parseUnderlaySubnet(text: string): Cidr {
  const c = parseCidr(text);
  if (!c.ok) throw new Error(`testbed: underlay subnet: ${c.message}`);
  if (c.value.prefixLength > 29) throw new Error(`testbed: underlay subnet ${c.value.text} is too small (at most /29)`);
  return c.value;
}

/**
 * Addresses: the first host address is the gateway's (also when there is no gateway, so node
 * addresses do not depend on that option), then one per node in order.
 */
export function underlayAddresses(cidr: Cidr, nodeCount: number): { gateway: string; nodes: string[] } {
  const usable = 2 ** (32 - cidr.prefixLength) - 2;
  if (nodeCount + 1 > usable) {
    throw new Error(`testbed: underlay subnet ${cidr.text} has ${usable} host addresses; ${nodeCount} nodes and the gateway need ${nodeCount + 1}`);
  }
  return {
    gateway: formatIpv4(cidr.network + 1),
    nodes: Array.from({ length: nodeCount }, (_, i) => formatIpv4(cidr.network + 2 + i)),
  };
}
