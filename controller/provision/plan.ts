/**
 * Desired OVS state of each node, derived purely from the resolved topology: no I/O.
 *
 * Every row provisioning creates carries external_ids vino-owner=<owner> and vino-node=<node>
 * (plus vino-role and, for tunnels, vino-peer). Those two keys are what "ours" means: the diff
 * only ever updates or removes rows that carry both, so deprovision removes exactly what
 * provisioning created, and several topologies (distinct owners) or several nodes sharing one
 * OVSDB do not step on each other.
 *
 * Container ports are not provisioned: they belong to the container's lifecycle (created where
 * the container starts, moved when it migrates), so provisioning neither creates nor removes
 * them.
 */
import type { ControllerAddress, ResolvedNode, ResolvedTopology, TunnelPortPlan } from '../../src/topology/types.js';

export type DatapathType = 'netdev' | 'system';

export const EXT_OWNER = 'vino-owner';
export const EXT_NODE = 'vino-node';
export const EXT_ROLE = 'vino-role';
export const EXT_PEER = 'vino-peer';
/** Every external_ids key we set starts with this; keys with it that we no longer want are removed. */
export const EXT_PREFIX = 'vino-';

export type RowRole = 'bridge' | 'internal' | 'tunnel' | 'controller';

export interface DesiredInterface {
  name: string;
  /** Interface.type: 'internal' or 'vxlan'. */
  type: string;
  /** Interface.options, exactly (the tunnel's definition is ours entirely). */
  options: Record<string, string>;
  ofportRequest: number;
  externalIds: Record<string, string>;
}

export interface DesiredPort {
  name: string;
  role: 'internal' | 'tunnel';
  externalIds: Record<string, string>;
  iface: DesiredInterface;
}

export interface DesiredController {
  target: string;
  externalIds: Record<string, string>;
}

export interface DesiredBridge {
  name: string;
  dpid: string;
  datapathType: DatapathType;
  failMode: 'secure';
  protocols: string[];
  /** The other_config keys we manage; other keys on the row are left alone. */
  otherConfig: Record<string, string>;
  externalIds: Record<string, string>;
  controllers: DesiredController[];
  ports: DesiredPort[];
}

/** An address OVSDB cannot set: configured with `ip` once ovs-vswitchd has made the device. */
export interface DesiredAddress {
  ifname: string;
  ip: string;
  prefixLength: number;
}

export interface DesiredNode {
  node: string;
  owner: string;
  bridge: DesiredBridge;
  addresses: DesiredAddress[];
}

/** Who owns a node's rows: what deprovision needs (no topology details). */
export interface OwnerScope {
  owner: string;
  node: string;
}

export interface PlanOptions {
  /** external_ids:vino-owner value (default: the topology name). */
  owner?: string;
  /** Datapath type per node; falls back to `defaultDatapathType`. */
  datapathType?: Record<string, DatapathType>;
  /** Default 'system' (kernel datapath); the netns provider uses 'netdev'. */
  defaultDatapathType?: DatapathType;
  /** Underlay address of any node (the provider's knowledge first, then the topology file's). */
  underlayIp?: (node: string) => string | null;
  /**
   * Set options:local_ip to the node's own underlay address. Right when that address is
   * configured on the node (namespaces, plain LANs); wrong behind 1:1 NAT (cloud floating
   * addresses), where the node must pick its own source. Default true.
   */
  setLocalIp?: boolean;
  /**
   * Replaces the controller target of the bridges: a fixed target (e.g. `tcp:10.0.0.1:6633`),
   * or a function of the topology's controller address (e.g. one that swaps a loopback address
   * a namespace cannot reach for the testbed's gateway).
   */
  controllerTarget?: string | ((controller: ControllerAddress, node: string) => string);
  /** Further controller targets on every bridge (e.g. a `ptcp:` for ovs-ofctl, or a standby controller). */
  extraControllerTargets?: readonly string[];
}

/** A node whose desired state cannot be worked out (e.g. a peer without underlay address). */
export class PlanError extends Error {
  override name = 'PlanError';
  constructor(
    readonly node: string,
    message: string,
  ) {
    super(message);
  }
}

export function ownerOf(topology: ResolvedTopology, options: PlanOptions = {}): string {
  return options.owner ?? topology.name;
}

/** OVS accepts these target forms for Bridge.controller (ovs-vswitchd.conf.db(5)). */
const CONTROLLER_TARGET = /^(tcp|ssl|ptcp|pssl|unix|punix):\S+$/;

export function checkControllerTarget(target: string): string {
  if (!CONTROLLER_TARGET.test(target)) {
    throw new Error(`bad controller target ${JSON.stringify(target)}: expected tcp:HOST:PORT, ssl:HOST:PORT, ptcp:PORT[:IP], unix:PATH or punix:PATH`);
  }
  return target;
}

/** Desired state of one node of the topology. Throws PlanError when it cannot be decided. */
export function planNode(topology: ResolvedTopology, nodeName: string, options: PlanOptions = {}): DesiredNode {
  const node: ResolvedNode | undefined = topology.nodes[nodeName];
  if (!node) throw new PlanError(nodeName, `node "${nodeName}" is not in topology "${topology.name}"`);
  const owner = ownerOf(topology, options);
  if (owner === '') throw new PlanError(nodeName, 'the owner (external_ids:vino-owner) must not be empty');
  const underlayOf = (n: string): string | null => options.underlayIp?.(n) ?? topology.nodes[n]?.underlayIp ?? null;
  const tag = (role: RowRole, extra: Record<string, string> = {}): Record<string, string> => ({
    [EXT_OWNER]: owner,
    [EXT_NODE]: nodeName,
    [EXT_ROLE]: role,
    ...extra,
  });

  const br = node.bridge;
  const datapathType = options.datapathType?.[nodeName] ?? options.defaultDatapathType ?? 'system';
  const ct = options.controllerTarget;
  const main = ct === undefined ? br.controller.target : typeof ct === 'string' ? ct : ct(br.controller, nodeName);
  const targets = [main, ...(options.extraControllerTargets ?? [])].map(checkControllerTarget);
  const controllers = [...new Set(targets)].map((target) => ({ target, externalIds: tag('controller') }));

  const ports: DesiredPort[] = [];
  const addresses: DesiredAddress[] = [];
  for (const p of br.ports) {
    if (p.kind === 'internal') {
      ports.push({
        name: p.name,
        role: 'internal',
        externalIds: tag('internal'),
        iface: { name: p.name, type: 'internal', options: {}, ofportRequest: p.ofport, externalIds: tag('internal') },
      });
      addresses.push({ ifname: p.name, ip: p.ip, prefixLength: p.prefixLength });
    } else if (p.kind === 'tunnel') {
      ports.push(tunnelPort(p, nodeName, underlayOf, options.setLocalIp ?? true, tag));
    }
    // kind 'container': see the module comment.
  }

  return {
    node: nodeName,
    owner,
    bridge: {
      name: br.name,
      dpid: br.dpid,
      datapathType,
      failMode: 'secure',
      protocols: ['OpenFlow13'],
      otherConfig: {
        'datapath-id': br.dpid,
        // The controller is reached over the underlay, never through this bridge: in-band
        // control would only add hidden flows the controller cannot see or reconcile.
        'disable-in-band': 'true',
      },
      externalIds: tag('bridge'),
      controllers,
      ports,
    },
    addresses,
  };
}

function tunnelPort(
  p: TunnelPortPlan,
  nodeName: string,
  underlayOf: (n: string) => string | null,
  setLocalIp: boolean,
  tag: (role: RowRole, extra?: Record<string, string>) => Record<string, string>,
): DesiredPort {
  const remote = underlayOf(p.peer) ?? p.remoteIp;
  if (!remote) {
    throw new PlanError(nodeName, `tunnel ${p.name} to ${p.peer}: no underlay address known for node "${p.peer}" (give it underlay_ip in the topology, or use a provider that assigns one)`);
  }
  const options: Record<string, string> = { remote_ip: remote, key: String(p.vni) };
  if (setLocalIp) {
    const local = underlayOf(nodeName) ?? p.localIp;
    if (local) options.local_ip = local;
  }
  return {
    name: p.name,
    role: 'tunnel',
    externalIds: tag('tunnel', { [EXT_PEER]: p.peer }),
    iface: { name: p.name, type: 'vxlan', options, ofportRequest: p.ofport, externalIds: tag('tunnel', { [EXT_PEER]: p.peer }) },
  };
}
