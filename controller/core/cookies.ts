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
  /** Table 0: frames from a tunnel port skip learning. */
  TUNNEL_INGRESS: 1,
  /** Table 0: a known MAC at its known edge port. */
  KNOWN_SOURCE: 2,
  /** Table 0: unknown sources and unknown ports go to the controller, metered, then forwarding. */
  INGRESS_MISS: 3,
  /** Table 0: ARP request for a known IP, answered by the controller. */
  PROXY_ARP: 4,
  /** Table 1: unicast to a known MAC. */
  UNICAST: 5,
  /** Table 1: broadcast/multicast flooded along the spanning tree. */
  FLOOD: 6,
  /** Table 1: unknown unicast flooded. */
  FORWARD_MISS: 7,
  /** Table 1: copies tagged during a migration (bicast). */
  MIGRATION_COPY: 8,
  /** Table 1: at the new edge of a frozen container, its frames go to the controller to be held. */
  MIGRATION_HOLD: 9,
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
