/**
 * Derived identifiers: datapath ids, VNIs, OpenFlow port numbers and interface names.
 *
 * Every derived value is a hash of the names it belongs to (never of a position in the file),
 * so adding, removing or reordering unrelated nodes, links or containers leaves it unchanged.
 * Two values can still land on the same number; the later one in file order then takes the next
 * free number, so appending to a file never moves an existing value. Changing anything in this
 * file changes deployed identifiers: the golden test in test/topology pins them.
 */
import { createHash } from 'node:crypto';
import { IFNAME_MAX } from './schema.js';

function digest(purpose: string, ...parts: string[]): Buffer {
  // NUL separators: names cannot contain NUL, so ("ab","c") and ("a","bc") differ.
  return createHash('sha256').update(['vino', purpose, ...parts].join('\0')).digest();
}

/** Unsigned integer from the first `bits` (<= 48) bits of the digest. */
function hashBits(bits: number, purpose: string, ...parts: string[]): number {
  const d = digest(purpose, ...parts);
  return Math.floor(d.readUIntBE(0, 6) / 2 ** (48 - bits));
}

/**
 * A number in [min, max] (below 2^31) from a hash of the parts, as a small integer: the division
 * leaves a double, which V8 keeps boxed (16 B) in every object field it is copied into, and which
 * turns that field of every object of the shape into a boxed one (a container's port number is
 * copied into several records per container).
 */
function hashedIn(min: number, max: number, bits: number, purpose: string, ...parts: string[]): number {
  return (min + (hashBits(bits, purpose, ...parts) % (max - min + 1))) | 0;
}

/** Four hex digits identifying `text`, used when a name has to be shortened. */
export function shortHash(text: string): string {
  return digest('name', text).toString('hex').slice(0, 4);
}

/**
 * `text` if it fits in an interface name; otherwise its first 10 characters, "-" and a
 * 4-digit hash of the whole text (15 characters), so that long names stay distinct.
 */
export function fitIfname(text: string): string {
  if (text.length <= IFNAME_MAX) return text;
  return `${text.slice(0, IFNAME_MAX - 5)}-${shortHash(text)}`;
}

export const defaultBridgeName = (node: string) => fitIfname(`${node}_br`);
export const defaultInternalPortName = (node: string) => fitIfname(`int-${node}`);
export const defaultTunnelPortName = (peer: string) => fitIfname(`vx-${peer}`);
export const defaultContainerPortName = (container: string) => fitIfname(`c-${container}`);

/**
 * Preferred datapath id of a node's bridge: 16 hex digits, the top 16 bits zero and the low 48
 * bits a hash shaped like a locally administered unicast MAC (as OVS derives dpids from the
 * bridge MAC), so it can double as the bridge's hwaddr.
 */
export function preferredDpid(node: string): bigint {
  const d = digest('dpid', node);
  d[0] = (d[0]! & 0xfc) | 0x02;
  return BigInt(d.readUIntBE(0, 6));
}

export const DPID_SPACE = 2n ** 48n;

export function formatDpid(dpid: bigint): string {
  return dpid.toString(16).padStart(16, '0');
}

export function parseDpid(text: string): bigint {
  return BigInt(`0x${text}`);
}

/** Derived VNIs stay above the first 4096, which are left for hand-picked ones. */
export const VNI_DERIVED_MIN = 4096;
export const VNI_DERIVED_MAX = 0xffffff;

/** Preferred VNI of the link between `a` and `b` (order-independent). */
export function preferredVni(a: string, b: string): number {
  const [x, y] = a < b ? [a, b] : [b, a];
  return hashedIn(VNI_DERIVED_MIN, VNI_DERIVED_MAX, 24, 'vni', x, y);
}

/**
 * OpenFlow port number plan of every bridge (ofport_request):
 * - 1: the internal port carrying the bridge's overlay address;
 * - 100..4095: VXLAN tunnel ports, from the peer's name, unique per bridge;
 * - 4096..65279: container ports, from the container's name, unique across the whole topology
 *   so that a container keeps its number on whichever bridge it migrates to.
 * 65279 (0xfeff) is the highest number OVS accepts in ofport_request.
 */
export const OFPORT_INTERNAL = 1;
export const OFPORT_TUNNEL_MIN = 100;
export const OFPORT_TUNNEL_MAX = 4095;
export const OFPORT_CONTAINER_MIN = 4096;
export const OFPORT_CONTAINER_MAX = 65279;

export function preferredTunnelOfport(peer: string): number {
  return hashedIn(OFPORT_TUNNEL_MIN, OFPORT_TUNNEL_MAX, 32, 'tunnel-ofport', peer);
}

export function preferredContainerOfport(container: string): number {
  return hashedIn(OFPORT_CONTAINER_MIN, OFPORT_CONTAINER_MAX, 32, 'container-ofport', container);
}

/**
 * Hands out numbers in [min, max]: the preferred one if free, else the next free one,
 * wrapping around. Callers reserve explicit (pinned) values first and then allocate in file
 * order, which is what keeps earlier values fixed when entries are appended.
 */
export class NumberPool {
  private readonly used = new Set<number>();
  private inRange = 0;
  constructor(
    readonly min: number,
    readonly max: number,
  ) {}

  isUsed(n: number): boolean {
    return this.used.has(n);
  }

  /** Every number of the range is taken: allocate would throw. */
  get full(): boolean {
    return this.inRange >= this.max - this.min + 1;
  }

  reserve(n: number): void {
    if (this.used.has(n)) return;
    this.used.add(n);
    if (n >= this.min && n <= this.max) this.inRange++;
  }

  allocate(preferred: number): number {
    if (this.inRange >= this.max - this.min + 1) throw new RangeError(`no free number left in ${this.min}..${this.max}`);
    let n = preferred;
    while (this.used.has(n)) n = n === this.max ? this.min : n + 1;
    this.reserve(n);
    return n;
  }
}
