/**
 * What a node's OVSDB holds, as plain data: read through one monitor (whose row cache stays
 * current while we work, so waiting for ovs-vswitchd to create interfaces needs no polling).
 */
import type { OvsdbClient } from '../../src/ovsdb/client.js';
import type { RowCache } from '../../src/ovsdb/cache.js';
import type { Monitor } from '../../src/ovsdb/monitor.js';
import { OvsdbMap, OvsdbSet, Uuid, type Atom, type Row, type Value } from '../../src/ovsdb/values.js';

export const DB = 'Open_vSwitch';

export interface BridgeRow {
  uuid: string;
  name: string;
  datapathType: string;
  failMode: string | null;
  protocols: string[];
  otherConfig: Record<string, string>;
  externalIds: Record<string, string>;
  controllers: string[];
  ports: string[];
}

export interface PortRow {
  uuid: string;
  name: string;
  interfaces: string[];
  externalIds: Record<string, string>;
}

export interface InterfaceRow {
  uuid: string;
  name: string;
  type: string;
  options: Record<string, string>;
  ofportRequest: number | null;
  externalIds: Record<string, string>;
  /** Set by ovs-vswitchd: the OpenFlow port number it got, -1 when it failed, null before it looked. */
  ofport: number | null;
  /** Set by ovs-vswitchd when it cannot create the interface. */
  error: string | null;
}

export interface ControllerRow {
  uuid: string;
  target: string;
  externalIds: Record<string, string>;
}

export interface OvsState {
  /** UUID of the Open_vSwitch row (null when the database has none: never initialised). */
  root: string | null;
  rootBridges: string[];
  bridges: Map<string, BridgeRow>;
  ports: Map<string, PortRow>;
  interfaces: Map<string, InterfaceRow>;
  controllers: Map<string, ControllerRow>;
}

/** The columns provisioning reads: enough to diff and to see ovs-vswitchd's verdict on interfaces. */
export const MONITORED = {
  Open_vSwitch: ['bridges'],
  Bridge: ['name', 'datapath_type', 'fail_mode', 'protocols', 'other_config', 'external_ids', 'controller', 'ports'],
  Port: ['name', 'interfaces', 'external_ids'],
  Interface: ['name', 'type', 'options', 'ofport_request', 'external_ids', 'ofport', 'error'],
  Controller: ['target', 'external_ids'],
} as const;

/** Starts the monitor; its cache holds the tables above (and is kept current). */
export function monitorState(client: OvsdbClient, onChange?: () => void, timeout?: number): Promise<Monitor> {
  const requests = Object.fromEntries(Object.entries(MONITORED).map(([table, columns]) => [table, { columns }]));
  return client.monitor(DB, requests, () => onChange?.(), timeout === undefined ? {} : { timeout });
}

function atoms(v: Value | undefined): readonly Atom[] {
  if (v === undefined) return [];
  if (v instanceof OvsdbSet) return v.values;
  if (v instanceof OvsdbMap) throw new TypeError('expected a set, got a map');
  return [v];
}

function str(v: Value | undefined): string {
  const a = atoms(v)[0];
  return typeof a === 'string' ? a : '';
}

function optStr(v: Value | undefined): string | null {
  const a = atoms(v)[0];
  return typeof a === 'string' ? a : null;
}

function optInt(v: Value | undefined): number | null {
  const a = atoms(v)[0];
  if (typeof a === 'number') return a;
  if (typeof a === 'bigint') return Number(a);
  return null;
}

function strSet(v: Value | undefined): string[] {
  return atoms(v).filter((a): a is string => typeof a === 'string');
}

function uuidSet(v: Value | undefined): string[] {
  return atoms(v).flatMap((a) => (a instanceof Uuid ? [a.uuid] : []));
}

function strMap(v: Value | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (v instanceof OvsdbMap) for (const [k, val] of v.entries) out[String(k)] = String(val);
  return out;
}

function rows<T>(cache: RowCache, table: string, convert: (uuid: string, row: Row) => T): Map<string, T> {
  const out = new Map<string, T>();
  for (const [uuid, row] of cache.table(table)) out.set(uuid, convert(uuid, row));
  return out;
}

/** A snapshot of the monitored tables. */
export function stateFromCache(cache: RowCache): OvsState {
  const roots = [...cache.table('Open_vSwitch')];
  const root = roots[0];
  return {
    root: root ? root[0] : null,
    rootBridges: root ? uuidSet(root[1].bridges) : [],
    bridges: rows(cache, 'Bridge', (uuid, r) => ({
      uuid,
      name: str(r.name),
      datapathType: str(r.datapath_type),
      failMode: optStr(r.fail_mode),
      protocols: strSet(r.protocols),
      otherConfig: strMap(r.other_config),
      externalIds: strMap(r.external_ids),
      controllers: uuidSet(r.controller),
      ports: uuidSet(r.ports),
    })),
    ports: rows(cache, 'Port', (uuid, r) => ({ uuid, name: str(r.name), interfaces: uuidSet(r.interfaces), externalIds: strMap(r.external_ids) })),
    interfaces: rows(cache, 'Interface', (uuid, r) => ({
      uuid,
      name: str(r.name),
      type: str(r.type),
      options: strMap(r.options),
      ofportRequest: optInt(r.ofport_request),
      externalIds: strMap(r.external_ids),
      ofport: optInt(r.ofport),
      error: optStr(r.error),
    })),
    controllers: rows(cache, 'Controller', (uuid, r) => ({ uuid, target: str(r.target), externalIds: strMap(r.external_ids) })),
  };
}

/** An empty, initialised database (for tests and dry runs of pure diffs). */
export function emptyState(root = '00000000-0000-4000-8000-000000000000'): OvsState {
  return { root, rootBridges: [], bridges: new Map(), ports: new Map(), interfaces: new Map(), controllers: new Map() };
}
