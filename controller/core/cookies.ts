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
  let hash = subjectHashes.get(subject);
  if (hash === undefined) {
    hash = fnv1a40(subject);
    if (subjectHashes.size > 1_000_000) subjectHashes.clear();
    subjectHashes.set(subject, hash);
  }
  return COOKIE_OWNER_VALUE | (BigInt(kind & 0xff) << 40n) | hash;
}

const subjectHashes = new Map<string, bigint>();

export function cookieKind(cookie: bigint): number {
  return Number((cookie >> 40n) & 0xffn);
}

export function isOurCookie(cookie: bigint): boolean {
  return (cookie & COOKIE_OWNER_MASK) === COOKIE_OWNER_VALUE;
}

/** FNV-1a folded to 40 bits: stable across runs and platforms. */
function fnv1a40(text: string): bigint {
  let hash = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) {
    hash ^= BigInt(text.charCodeAt(i));
    hash = (hash * 0x100000001b3n) & 0xffff_ffff_ffff_ffffn;
  }
  return (hash ^ (hash >> 40n)) & 0xff_ffff_ffffn;
}
