/**
 * The location table: where every container (and every learned MAC) is. Pure data with
 * change tracking; the shell persists it (state file) and feeds it to the forwarding function.
 */
import type { Endpoint } from './fabric.js';
import { lowerMac } from './flows.js';

export type LocationSource = 'topology' | 'api' | 'learned' | 'migration';

export interface Location {
  name: string;
  mac: string;
  ip?: string;
  /** Node (bridge owner) and OpenFlow port. */
  node: string;
  ofport: number;
  /** OVS port name, when known. */
  port?: string;
  source: LocationSource;
  /** ms since epoch of the last change. */
  since: number;
}

export type LocationChange =
  | { kind: 'added'; location: Location }
  | { kind: 'moved'; location: Location; from: Location }
  | { kind: 'removed'; location: Location };

export class LocationTable {
  private readonly byName = new Map<string, Location>();
  // MAC → its entry itself, not its name: a restart looks up a MAC per ingress entry read back
  // (800k at 100k containers), and a second lookup by name doubled that cost.
  private readonly locationByMac = new Map<string, Location>();
  private readonly nameByIp = new Map<string, string>();

  get size(): number {
    return this.byName.size;
  }

  all(): Location[] {
    return [...this.byName.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** Every entry in no particular order (all() sorts: a copy and n log n per call). */
  values(): IterableIterator<Location> {
    return this.byName.values();
  }

  get(name: string): Location | undefined {
    return this.byName.get(name);
  }

  byMac(mac: string): Location | undefined {
    // lowerMac: no new string (to hash again) for a MAC already in lower case, as most are.
    return this.locationByMac.get(lowerMac(mac));
  }

  byIp(ip: string): Location | undefined {
    const name = this.nameByIp.get(ip);
    return name === undefined ? undefined : this.byName.get(name);
  }

  /**
   * Adds or moves an entry. A MAC or IP already owned by another name is a conflict: the
   * caller gets an error naming the owner instead of silently stealing it.
   */
  set(entry: Omit<Location, 'since'> & { since?: number }): LocationChange | undefined {
    // lowerMac: the entry's own string when already in lower case (a copy per container otherwise).
    const mac = lowerMac(entry.mac);
    const macOwner = this.locationByMac.get(mac)?.name;
    if (macOwner !== undefined && macOwner !== entry.name) {
      throw new LocationConflict(`MAC ${mac} already belongs to "${macOwner}"`);
    }
    if (entry.ip) {
      const ipOwner = this.byIp(entry.ip);
      if (ipOwner && ipOwner.name !== entry.name) throw new LocationConflict(`IP ${entry.ip} already belongs to "${ipOwner.name}"`);
    }
    const location = makeLocation(entry, mac, entry.since ?? Date.now());
    const before = this.byName.get(entry.name);
    if (before && before.mac !== mac) this.locationByMac.delete(before.mac);
    if (before?.ip && before.ip !== location.ip) this.nameByIp.delete(before.ip);
    if (location.ip) this.nameByIp.set(location.ip, entry.name);
    if (before && before.node === location.node && before.ofport === location.ofport && before.mac === location.mac && before.ip === location.ip) {
      const kept = makeLocation(location, mac, before.since);
      this.byName.set(entry.name, kept);
      this.locationByMac.set(mac, kept);
      return undefined;
    }
    this.byName.set(entry.name, location);
    this.locationByMac.set(mac, location);
    if (!before) return { kind: 'added', location };
    return { kind: 'moved', location, from: before };
  }

  delete(name: string): LocationChange | undefined {
    const before = this.byName.get(name);
    if (!before) return undefined;
    this.byName.delete(name);
    this.locationByMac.delete(before.mac);
    if (before.ip) this.nameByIp.delete(before.ip);
    return { kind: 'removed', location: before };
  }

  endpoints(): Endpoint[] {
    return this.all().map((l) => ({ name: l.name, mac: l.mac, ...(l.ip ? { ip: l.ip } : {}), at: { bridge: l.node, ofport: l.ofport } }));
  }

  toJSON(): Location[] {
    return this.all();
  }

  static fromJSON(rows: unknown): LocationTable {
    const table = new LocationTable();
    if (!Array.isArray(rows)) throw new Error('state file: "locations" must be an array');
    rows.forEach((row, i) => {
      const r = row as Partial<Location>;
      if (typeof r.name !== 'string' || typeof r.mac !== 'string' || typeof r.node !== 'string' || typeof r.ofport !== 'number') {
        throw new Error(`state file: locations[${i}] needs name, mac, node and ofport`);
      }
      table.set({ name: r.name, mac: r.mac, node: r.node, ofport: r.ofport, source: r.source ?? 'api', ...(r.ip ? { ip: r.ip } : {}), ...(r.port ? { port: r.port } : {}), ...(r.since ? { since: r.since } : {}) });
    });
    return table;
  }
}

/**
 * A Location as one literal of exactly its fields: an object spread makes a hidden class of its
 * own for every object once its site has seen a few shapes (about 300 B per entry at 100k
 * containers), and fields added after the literal go to a separate property array (40 B each).
 * Fields absent from `entry` stay absent.
 */
function makeLocation(entry: Omit<Location, 'since' | 'mac'>, mac: string, since: number): Location {
  const { name, node, ofport, source, ip, port } = entry;
  if (ip !== undefined) {
    return port !== undefined ? { name, mac, node, ofport, source, since, ip, port } : { name, mac, node, ofport, source, since, ip };
  }
  return port !== undefined ? { name, mac, node, ofport, source, since, port } : { name, mac, node, ofport, source, since };
}

export class LocationConflict extends Error {
  override readonly name = 'LocationConflict';
}
