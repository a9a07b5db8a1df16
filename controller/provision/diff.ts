/**
 * Desired node state against what its OVSDB holds: the operations of ONE transaction that
 * makes the database match, and a description of each change. Pure: no I/O.
 *
 * Ownership: a row is ours when its external_ids carry vino-owner=<owner> and
 * vino-node=<node>. Only our rows are updated or removed. A bridge, port or interface we need
 * whose name is already taken by a row that is not ours stops the node (DiffConflictError):
 * taking over somebody else's bridge is not provisioning's call.
 *
 * Removal: our rows no longer wanted get an explicit `delete`, and every row that still
 * refers to them and stays (a kept bridge, the Open_vSwitch row, someone else's bridge) gets a
 * `mutate` dropping the reference; the server checks referential integrity at commit, so a
 * mistake here fails the transaction instead of leaving dangling rows.
 *
 * Map columns: Interface.options is replaced whole (the tunnel is ours entirely). In
 * external_ids we own the vino-* keys and in Bridge.other_config the keys of the plan; other
 * keys, set by operators or other tools, are kept.
 */
import { cond, mutation, op, type Condition, type Mutation, type Operation } from '../../src/ovsdb/operations.js';
import { map, namedUuid, OvsdbSet, set, uuid, type Atom, type NamedUuid, type Row, type Uuid } from '../../src/ovsdb/values.js';

/** An OVSDB set from an array: set(...xs) would spread a large array into call arguments and overflow the stack. */
const setOf = <T extends Atom>(values: readonly T[]): OvsdbSet<T> => new OvsdbSet(values);
import { EXT_NODE, EXT_OWNER, EXT_PREFIX, type DesiredBridge, type DesiredNode, type DesiredPort, type OwnerScope } from './plan.js';
import type { BridgeRow, ControllerRow, InterfaceRow, OvsState, PortRow } from './state.js';

export type RowKind = 'bridge' | 'port' | 'interface' | 'controller';
export type ChangeAction = 'create' | 'update' | 'remove';

export interface Change {
  action: ChangeAction;
  /** An OVSDB row, or an address / link state set with `ip` (see addresses.ts). */
  kind: RowKind | 'address' | 'link';
  /** Bridge/port/interface name, controller target, or address. */
  name: string;
  /** What is created or what changes (columns, old -> new). */
  detail?: string;
}

export interface NodeDiff {
  ops: Operation[];
  changes: Change[];
  /** Things worth knowing that do not stop the node (foreign rows on our bridge, ...). */
  warnings: string[];
}

/** The node's database holds something that prevents provisioning it. */
export class DiffConflictError extends Error {
  override name = 'DiffConflictError';
}

const TABLE: Record<RowKind, string> = { bridge: 'Bridge', port: 'Port', interface: 'Interface', controller: 'Controller' };

export function isOurs(externalIds: Record<string, string>, scope: OwnerScope): boolean {
  return externalIds[EXT_OWNER] === scope.owner && externalIds[EXT_NODE] === scope.node;
}

function describeOwner(externalIds: Record<string, string>): string {
  const owner = externalIds[EXT_OWNER];
  if (owner === undefined) return 'it was not created by vino-controller';
  return `it belongs to ${EXT_OWNER}=${owner} ${EXT_NODE}=${externalIds[EXT_NODE] ?? '(none)'}`;
}

/** external_ids after setting ours: foreign keys kept, our vino-* keys exactly as desired. */
function mergeExternalIds(actual: Record<string, string>, desired: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(actual)) if (!k.startsWith(EXT_PREFIX)) out[k] = v;
  return { ...out, ...desired };
}

function sameRecord(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => b[k] === a[k]);
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a);
  const sb = new Set(b);
  return sa.size === sb.size && [...sa].every((x) => sb.has(x));
}

function fmtRecord(r: Record<string, string>): string {
  const e = Object.entries(r);
  return e.length === 0 ? '{}' : e.map(([k, v]) => `${k}=${v}`).join(',');
}

/** "key: old -> new" for the keys that differ. */
function recordDelta(column: string, before: Record<string, string>, after: Record<string, string>): string {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => before[k] !== after[k]);
  return keys.map((k) => `${column}:${k} ${before[k] ?? '(unset)'} -> ${after[k] ?? '(unset)'}`).join(', ');
}

const byUuid = (u: string): Condition[] => [cond('_uuid', '==', uuid(u))];

type Ref = Uuid | NamedUuid;

class Tx {
  readonly inserts: Operation[] = [];
  readonly updates: Operation[] = [];
  readonly deletes: Operation[] = [];
  readonly changes: Change[] = [];
  readonly warnings: string[] = [];
  /** table -> uuid -> mutations, merged so each row gets one mutate op. */
  private readonly mutations = new Map<string, Map<string, Mutation[]>>();
  private next = 0;

  insert(kind: RowKind, name: string, row: Row, detail?: string): NamedUuid {
    const ref = namedUuid(`${kind}${this.next++}`);
    this.inserts.push(op.insert(TABLE[kind], row, { uuidName: ref.name }));
    this.changes.push(detail === undefined ? { action: 'create', kind, name } : { action: 'create', kind, name, detail });
    return ref;
  }

  update(kind: RowKind, name: string, rowUuid: string, row: Row, detail: string): void {
    this.updates.push(op.update(TABLE[kind], byUuid(rowUuid), row));
    this.changes.push({ action: 'update', kind, name, detail });
  }

  remove(kind: RowKind, name: string, rowUuid: string, detail?: string): void {
    this.deletes.push(op.delete(TABLE[kind], byUuid(rowUuid)));
    this.changes.push(detail === undefined ? { action: 'remove', kind, name } : { action: 'remove', kind, name, detail });
  }

  mutate(table: string, rowUuid: string, m: Mutation): void {
    let t = this.mutations.get(table);
    if (!t) this.mutations.set(table, (t = new Map()));
    let list = t.get(rowUuid);
    if (!list) t.set(rowUuid, (list = []));
    list.push(m);
  }

  ops(): Operation[] {
    const mutates: Operation[] = [];
    for (const [table, rows] of this.mutations) for (const [u, ms] of rows) mutates.push(op.mutate(table, byUuid(u), ms));
    // Inserts first (named-uuids must be defined before use), deletes last.
    return [...this.inserts, ...this.updates, ...mutates, ...this.deletes];
  }
}

interface Plan {
  bridge: BridgeRow | null;
  keptPorts: Map<string, PortRow>;
  keptControllers: Set<string>;
}

/**
 * The transaction taking `state` to `desired` for `scope`; `desired` null means deprovision
 * (remove every row of ours). Throws DiffConflictError when a name we need is taken by a row
 * that is not ours, or the database was never initialised.
 */
export function diffNode(state: OvsState, desired: DesiredNode | null, scope: OwnerScope): NodeDiff {
  if (desired && (desired.owner !== scope.owner || desired.node !== scope.node)) {
    throw new Error(`desired state of ${desired.owner}/${desired.node} diffed in scope ${scope.owner}/${scope.node}`);
  }
  const tx = new Tx();
  const ours = (ext: Record<string, string>) => isOurs(ext, scope);
  const plan: Plan = desired ? matchExisting(state, desired.bridge, scope) : { bridge: null, keptPorts: new Map(), keptControllers: new Set() };

  // Our rows that are not kept go, in a stable order (bridges first, like a reader expects).
  const removeBridges = [...state.bridges.values()].filter((b) => ours(b.externalIds) && b.uuid !== plan.bridge?.uuid);
  const removePorts = [...state.ports.values()].filter((p) => ours(p.externalIds) && !plan.keptPorts.has(p.uuid));
  const keptIfaces = new Set([...plan.keptPorts.values()].flatMap((p) => p.interfaces));
  const removeIfaces = [...state.interfaces.values()].filter((i) => ours(i.externalIds) && !keptIfaces.has(i.uuid));
  const removeControllers = [...state.controllers.values()].filter((c) => ours(c.externalIds) && !plan.keptControllers.has(c.uuid));

  if (desired) {
    if (state.root === null) {
      throw new DiffConflictError('the database has no Open_vSwitch row (never initialised: run `ovs-vsctl init` or start ovs-vswitchd once)');
    }
    applyDesired(tx, state, desired, plan);
  }
  removeRows(tx, state, scope, { removeBridges, removePorts, removeIfaces, removeControllers });
  return { ops: tx.ops(), changes: tx.changes, warnings: tx.warnings };
}

/** Which existing rows the desired ones are (matched by name / target), refusing foreign ones. */
function matchExisting(state: OvsState, want: DesiredBridge, scope: OwnerScope): Plan {
  const ours = (ext: Record<string, string>) => isOurs(ext, scope);
  const bridge = [...state.bridges.values()].find((b) => b.name === want.name) ?? null;
  if (bridge && !ours(bridge.externalIds)) {
    throw new DiffConflictError(`bridge ${want.name} already exists and is not ours: ${describeOwner(bridge.externalIds)} (remove it, or rename the bridge in the topology)`);
  }
  const portByName = new Map([...state.ports.values()].map((p) => [p.name, p]));
  const ifaceByName = new Map([...state.interfaces.values()].map((i) => [i.name, i]));
  const bridgeOfPort = new Map<string, BridgeRow>();
  for (const b of state.bridges.values()) for (const p of b.ports) bridgeOfPort.set(p, b);

  const keptPorts = new Map<string, PortRow>();
  for (const p of want.ports) {
    const port = portByName.get(p.name);
    if (port && !ours(port.externalIds)) {
      const on = bridgeOfPort.get(port.uuid);
      throw new DiffConflictError(`port ${p.name} already exists${on ? ` on bridge ${on.name}` : ''} and is not ours: ${describeOwner(port.externalIds)}`);
    }
    const iface = ifaceByName.get(p.iface.name);
    if (iface && !ours(iface.externalIds)) {
      throw new DiffConflictError(`interface ${p.iface.name} already exists and is not ours: ${describeOwner(iface.externalIds)}`);
    }
    // Kept only when it is exactly our shape: on our bridge, with our one interface.
    if (port && bridge && bridge.ports.includes(port.uuid) && iface && port.interfaces.length === 1 && port.interfaces[0] === iface.uuid) {
      keptPorts.set(port.uuid, port);
    }
  }

  const keptControllers = new Set<string>();
  if (bridge) {
    const targets = new Set(want.controllers.map((c) => c.target));
    for (const cu of bridge.controllers) {
      const c = state.controllers.get(cu);
      if (c && ours(c.externalIds) && targets.delete(c.target)) keptControllers.add(cu);
    }
  }
  return { bridge, keptPorts, keptControllers };
}

function applyDesired(tx: Tx, state: OvsState, desired: DesiredNode, plan: Plan): void {
  const want = desired.bridge;
  const portRefs: Ref[] = [];
  const keptByName = new Map([...plan.keptPorts.values()].map((p) => [p.name, p]));
  for (const p of want.ports) {
    const kept = keptByName.get(p.name);
    if (kept) updatePort(tx, state, p, kept);
    else portRefs.push(insertPort(tx, p));
  }
  const controllerRefs: Ref[] = [];
  const keptTargets = new Set([...plan.keptControllers].map((u) => state.controllers.get(u)!.target));
  for (const c of want.controllers) {
    if (keptTargets.has(c.target)) {
      const row = [...plan.keptControllers].map((u) => state.controllers.get(u)!).find((r) => r.target === c.target)!;
      const ext = mergeExternalIds(row.externalIds, c.externalIds);
      if (!sameRecord(ext, row.externalIds)) {
        tx.update('controller', c.target, row.uuid, { external_ids: map(ext) }, recordDelta('external_ids', row.externalIds, ext));
      }
    } else {
      controllerRefs.push(tx.insert('controller', c.target, { target: c.target, external_ids: map(c.externalIds) }, `on ${want.name}`));
    }
  }

  const b = plan.bridge;
  if (!b) {
    const ref = tx.insert(
      'bridge',
      want.name,
      {
        name: want.name,
        datapath_type: want.datapathType,
        fail_mode: set(want.failMode),
        protocols: setOf(want.protocols),
        other_config: map(want.otherConfig),
        external_ids: map(want.externalIds),
        controller: setOf(controllerRefs),
        ports: setOf(portRefs),
      },
      `datapath_type=${want.datapathType} dpid=${want.dpid} protocols=${want.protocols.join(',')} fail_mode=${want.failMode}`,
    );
    tx.mutate('Open_vSwitch', state.root!, mutation('bridges', 'insert', set(ref)));
    return;
  }

  const row: Row = {};
  const deltas: string[] = [];
  if (b.datapathType !== want.datapathType) {
    row.datapath_type = want.datapathType;
    deltas.push(`datapath_type ${b.datapathType || '(default)'} -> ${want.datapathType}`);
  }
  if (b.failMode !== want.failMode) {
    row.fail_mode = set(want.failMode);
    deltas.push(`fail_mode ${b.failMode ?? '(unset)'} -> ${want.failMode}`);
  }
  if (!sameSet(b.protocols, want.protocols)) {
    row.protocols = setOf(want.protocols);
    deltas.push(`protocols ${b.protocols.join(',') || '(all)'} -> ${want.protocols.join(',')}`);
  }
  const otherConfig = { ...b.otherConfig, ...want.otherConfig };
  if (!sameRecord(otherConfig, b.otherConfig)) {
    row.other_config = map(otherConfig);
    deltas.push(recordDelta('other_config', b.otherConfig, otherConfig));
  }
  const ext = mergeExternalIds(b.externalIds, want.externalIds);
  if (!sameRecord(ext, b.externalIds)) {
    row.external_ids = map(ext);
    deltas.push(recordDelta('external_ids', b.externalIds, ext));
  }
  if (deltas.length > 0) tx.update('bridge', want.name, b.uuid, row, deltas.join(', '));
  if (portRefs.length > 0) tx.mutate('Bridge', b.uuid, mutation('ports', 'insert', setOf(portRefs)));
  if (controllerRefs.length > 0) tx.mutate('Bridge', b.uuid, mutation('controller', 'insert', setOf(controllerRefs)));
  for (const cu of b.controllers) {
    const c = state.controllers.get(cu);
    if (c && !plan.keptControllers.has(cu) && !isOurs(c.externalIds, desired)) {
      tx.warnings.push(`bridge ${want.name} also has controller ${c.target}, which is not ours (left in place)`);
    }
  }
  for (const pu of b.ports) {
    const p = state.ports.get(pu);
    if (p && !isOurs(p.externalIds, desired)) tx.warnings.push(`bridge ${want.name} also has port ${p.name}, which is not ours (left in place)`);
  }
}

function ifaceRow(p: DesiredPort): Row {
  return {
    name: p.iface.name,
    type: p.iface.type,
    options: map(p.iface.options),
    ofport_request: set(p.iface.ofportRequest),
    external_ids: map(p.iface.externalIds),
  };
}

function describePort(p: DesiredPort): string {
  const opts = fmtRecord(p.iface.options);
  return `${p.iface.type} ofport=${p.iface.ofportRequest}${opts === '{}' ? '' : ` ${opts}`}`;
}

function insertPort(tx: Tx, p: DesiredPort): NamedUuid {
  const iface = tx.insert('interface', p.iface.name, ifaceRow(p), describePort(p));
  return tx.insert('port', p.name, { name: p.name, interfaces: set(iface), external_ids: map(p.externalIds) });
}

function updatePort(tx: Tx, state: OvsState, p: DesiredPort, port: PortRow): void {
  const portExt = mergeExternalIds(port.externalIds, p.externalIds);
  if (!sameRecord(portExt, port.externalIds)) {
    tx.update('port', p.name, port.uuid, { external_ids: map(portExt) }, recordDelta('external_ids', port.externalIds, portExt));
  }
  const iface: InterfaceRow = state.interfaces.get(port.interfaces[0]!)!;
  const row: Row = {};
  const deltas: string[] = [];
  if (iface.type !== p.iface.type) {
    row.type = p.iface.type;
    deltas.push(`type ${iface.type || '(system)'} -> ${p.iface.type}`);
  }
  if (!sameRecord(iface.options, p.iface.options)) {
    row.options = map(p.iface.options);
    deltas.push(recordDelta('options', iface.options, p.iface.options));
  }
  if (iface.ofportRequest !== p.iface.ofportRequest) {
    row.ofport_request = set(p.iface.ofportRequest);
    deltas.push(`ofport_request ${iface.ofportRequest ?? '(unset)'} -> ${p.iface.ofportRequest}`);
  }
  const ext = mergeExternalIds(iface.externalIds, p.iface.externalIds);
  if (!sameRecord(ext, iface.externalIds)) {
    row.external_ids = map(ext);
    deltas.push(recordDelta('external_ids', iface.externalIds, ext));
  }
  if (deltas.length > 0) tx.update('interface', p.iface.name, iface.uuid, row, deltas.join(', '));
}

function removeRows(
  tx: Tx,
  state: OvsState,
  scope: OwnerScope,
  r: { removeBridges: BridgeRow[]; removePorts: PortRow[]; removeIfaces: InterfaceRow[]; removeControllers: ControllerRow[] },
): void {
  const gone = new Set<string>([...r.removeBridges, ...r.removePorts, ...r.removeIfaces, ...r.removeControllers].map((x) => x.uuid));

  // Referrers that stay lose their references; those that go take them along.
  const drop = (table: string, referrer: string, column: string, refs: string[]) => {
    const dead = refs.filter((u) => gone.has(u));
    if (dead.length > 0 && !gone.has(referrer)) tx.mutate(table, referrer, mutation(column, 'delete', setOf(dead.map(uuid))));
  };
  if (state.root !== null) drop('Open_vSwitch', state.root, 'bridges', state.rootBridges);
  for (const b of state.bridges.values()) {
    drop('Bridge', b.uuid, 'ports', b.ports);
    drop('Bridge', b.uuid, 'controller', b.controllers);
  }
  for (const p of state.ports.values()) {
    if (gone.has(p.uuid)) continue;
    const dead = p.interfaces.filter((u) => gone.has(u));
    if (dead.length === 0) continue;
    if (dead.length === p.interfaces.length) {
      // A port must keep one interface: the port is not ours (ours are all in `gone`), so the
      // interface stays with it rather than breaking somebody else's port.
      for (const u of dead) gone.delete(u);
      tx.warnings.push(`interface ${dead.map((u) => state.interfaces.get(u)!.name).join(', ')} is ours but the only interface of port ${p.name}, which is not ours (left in place)`);
      continue;
    }
    tx.mutate('Port', p.uuid, mutation('interfaces', 'delete', setOf(dead.map(uuid))));
  }

  for (const b of r.removeBridges) {
    const foreign = b.ports.map((u) => state.ports.get(u)).filter((p): p is PortRow => !!p && !isOurs(p.externalIds, scope));
    if (foreign.length > 0) {
      tx.warnings.push(`removing bridge ${b.name} also removes port${foreign.length > 1 ? 's' : ''} ${foreign.map((p) => p.name).join(', ')}, which ${foreign.length > 1 ? 'are' : 'is'} not ours`);
    }
    tx.remove('bridge', b.name, b.uuid);
  }
  for (const p of r.removePorts) tx.remove('port', p.name, p.uuid);
  for (const i of r.removeIfaces) if (gone.has(i.uuid)) tx.remove('interface', i.name, i.uuid);
  for (const c of r.removeControllers) tx.remove('controller', c.target, c.uuid);
}

export interface ChangeCounts {
  created: number;
  updated: number;
  removed: number;
}

export function countChanges(changes: readonly Change[]): ChangeCounts {
  const n: ChangeCounts = { created: 0, updated: 0, removed: 0 };
  for (const c of changes) {
    if (c.action === 'create') n.created++;
    else if (c.action === 'update') n.updated++;
    else n.removed++;
  }
  return n;
}

export function formatChange(c: Change): string {
  const sign = c.action === 'create' ? '+' : c.action === 'remove' ? '-' : '~';
  return `${sign} ${c.kind} ${c.name}${c.detail ? `: ${c.detail}` : ''}`;
}
