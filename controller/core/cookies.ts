/**
 * Cookies identify which rule produced a flow. The top 16 bits mark the flow as ours, so that
 * flow-stats requests can be filtered to our flows (cookie/cookie_mask) and flows installed by
 * anyone else are never touched; the next 8 bits name the rule kind; the low 40 bits are a hash
 * of the rule's subject (a MAC, an IP, a port), for humans and for targeted deletes.
 */
export const COOKIE_OWNER = 0x5649n; // "VI"
export const COOKIE_OWNER_MASK = 0xffff_0000_0000_0000n;
export const COOKIE_OWNER_VALUE = COOKIE_OWNER << 48n;

export const RuleKind = {
  /** Table 0: frames from a tunnel port skip learning and go to the label table. */
  TUNNEL_INGRESS: 1,
  /** Table 0: a known MAC at its known edge port. */
  KNOWN_SOURCE: 2,
  /** Table 0: unknown sources and unknown ports go to the controller, metered, then forwarding. */
  INGRESS_MISS: 3,
  /** Table 0: ARP requests from edge ports go to the controller (answered, or flooded by PACKET_OUT). */
  PROXY_ARP: 4,
  /** Table 1: a frame for a container on this bridge goes straight to its port. */
  UNICAST: 5,
  /** Tables 1 and 2: broadcast/multicast flooded along the spanning tree. */
  FLOOD: 6,
  /** Table 2: untagged unknown unicast from a tunnel flooded on. */
  FORWARD_MISS: 7,
  /** Table 2: at the new edge of a migration, the copies (labelled with its label) delivered to the new port. */
  MIGRATION_COPY: 8,
  /** At the new edge of a frozen container, its frames go to the controller to be held. */
  MIGRATION_HOLD: 9,
  /** Table 2: a destination edge's label → the next hop towards it. */
  LABEL: 10,
  /** Table 2: every label whose next hop is the one towards the label root, in one flow. */
  LABEL_DEFAULT: 11,
  /** Table 1: an ingress entry (on demand): a MAC elsewhere → push its edge's label. */
  INGRESS_ENTRY: 12,
  /** Table 2: own label + a local MAC → pop, its port. */
  DELIVER: 13,
  /** Table 2: own label + a MAC that left this bridge → its new edge's label. */
  RELABEL: 14,
  /** Table 1: unicast with no entry: flooded, and a copy to the controller (demand). */
  UNKNOWN_DESTINATION: 15,
  /** Table 1: frames from edge ports that carry a VLAN tag are dropped (tags are labels inside the overlay). */
  EDGE_TAGGED: 16,
  /** Table 2: own label with a MAC not here: dropped (never sent on by the default). */
  LABEL_LOCAL_MISS: 17,
  /** Table 3: the metered copy to the controller of a frame already forwarded. */
  TO_CONTROLLER: 18,
  /**
   * Table 0, at a migration's new port: the container's frames, with an unmetered copy to the
   * controller (its first frame commits the migration).
   */
  MIGRATION_ARRIVAL: 19,
} as const;
export type RuleKindName = keyof typeof RuleKind;

export function ruleCookie(kind: number, subject: string): bigint {
  return cookiePrefix(kind) | BigInt(fnv1a40(subject));
}

const prefixes = new Map<number, bigint>();
function cookiePrefix(kind: number): bigint {
  let p = prefixes.get(kind & 0xff);
  if (p === undefined) prefixes.set(kind & 0xff, (p = COOKIE_OWNER_VALUE | (BigInt(kind & 0xff) << 40n)));
  return p;
}

export function cookieKind(cookie: bigint): number {
  return Number((cookie >> 40n) & 0xffn);
}

export function isOurCookie(cookie: bigint): boolean {
  return (cookie & COOKIE_OWNER_MASK) === COOKIE_OWNER_VALUE;
}

/** isOurCookie and cookieKind from a cookie's high 32 bits (a flow read raw: no BigInt made). */
export function isOurCookieHigh(high: number): boolean {
  return high >>> 16 === OWNER_HIGH;
}
const OWNER_HIGH = Number(COOKIE_OWNER);

export function cookieKindHigh(high: number): number {
  return (high >>> 8) & 0xff;
}

/**
 * FNV-1a (64 bits) folded to 40 bits: stable across runs and platforms. Computed on four 16-bit
 * limbs in plain numbers, exact, without BigInt arithmetic per character (no memo needed: at
 * 100k containers a memo of every subject cost about 75 B per container).
 */
export function fnv1a40(text: string): number {
  // 0xcbf29ce484222325, low limb first.
  let h0 = 0x2325;
  let h1 = 0x8422;
  let h2 = 0x9ce4;
  let h3 = 0xcbf2;
  for (let i = 0; i < text.length; i++) {
    h0 ^= text.charCodeAt(i);
    // hash * 0x100000001b3 mod 2^64 = hash * 0x1b3 + (hash << 40).
    const t0 = h0 * 0x1b3;
    const t1 = h1 * 0x1b3 + (t0 >>> 16);
    const t2 = h2 * 0x1b3 + (t1 >>> 16) + ((h0 << 8) & 0xffff);
    const t3 = h3 * 0x1b3 + (t2 >>> 16) + (((h1 << 8) | (h0 >>> 8)) & 0xffff);
    h0 = t0 & 0xffff;
    h1 = t1 & 0xffff;
    h2 = t2 & 0xffff;
    h3 = t3 & 0xffff;
  }
  // (hash ^ (hash >> 40)) & (2^40 - 1): the top 24 bits fold onto the low ones.
  const top24 = (h3 << 8) | (h2 >>> 8);
  const low32 = ((h0 | (h1 << 16)) ^ top24) >>> 0;
  return (h2 & 0xff) * 2 ** 32 + low32;
}
