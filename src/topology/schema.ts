/**
 * The topology file format (JSON), as zod schemas. This file is the single source of truth:
 * schema/topology.schema.json is generated from it (`npm run gen:schema`) and the README documents
 * the same defaults. Syntax and per-field checks live here; checks that need the whole file
 * (references, uniqueness, connectivity) live in analyze.ts.
 */
import { z } from 'zod';
import {
  CIDR_PATTERN,
  HOST_PORT_PATTERN,
  IPV4_PATTERN,
  MAC_PATTERN,
  parseCidr,
  parseHostPort,
  parseIpv4,
  parseMac,
  type Parsed,
} from './net.js';

/** Linux IFNAMSIZ is 16 including the terminating NUL. */
export const IFNAME_MAX = 15;
/** Node and container names start with a letter: JSON objects keep their key order then. */
export const NAME_PATTERN = '^[A-Za-z][A-Za-z0-9_-]{0,31}$';
export const TOPOLOGY_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';
export const IFNAME_PATTERN = '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$';
export const DPID_PATTERN = '^[0-9A-Fa-f]{16}$';
export const VNI_MAX = 0xffffff;

export const DEFAULT_CONTROLLER = '127.0.0.1:6633';
export const DEFAULT_OVERLAY_SUBNET = '192.168.200.0/24';
export const DEFAULT_SWITCH_FLAVOR = 'm1.small';
export const DEFAULT_HOST_FLAVOR = 'm1.tiny';
export const DEFAULT_SSH_USER = 'root';
export const DEFAULT_SSH_PORT = 22;

/** A string checked by one of the net.ts parsers, with a loose pattern for editors. */
function parsedText(pattern: string, parse: (text: string) => Parsed<unknown>, description: string) {
  return z
    .string()
    .meta({ pattern, description })
    .superRefine((text, ctx) => {
      const r = parse(text);
      if (!r.ok) ctx.addIssue({ code: 'custom', message: r.message });
    });
}

function named(pattern: string, what: string, rule: string, description: string) {
  const re = new RegExp(pattern);
  return z
    .string()
    .meta({ pattern, description: `${description} ${rule}` })
    .superRefine((text, ctx) => {
      if (!re.test(text)) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(text)} is not a valid ${what} (${rule})` });
    });
}

const NAME_RULE = 'a letter, then letters, digits, "_" or "-"; at most 32 characters';

export const NodeName = named(NAME_PATTERN, 'node name', NAME_RULE, 'Node name:');
export const ContainerName = named(NAME_PATTERN, 'container name', NAME_RULE, 'Container name:');

/** An interface name as Linux and OVS accept it (bridges and ports). */
function ifname(description: string) {
  return z
    .string()
    .meta({ pattern: IFNAME_PATTERN, description })
    .superRefine((text, ctx) => {
      if (text.length > IFNAME_MAX) {
        ctx.addIssue({
          code: 'custom',
          message: `"${text}" is ${text.length} characters; Linux interface names are at most ${IFNAME_MAX}`,
        });
      } else if (!new RegExp(IFNAME_PATTERN).test(text)) {
        ctx.addIssue({
          code: 'custom',
          message: `"${text}" is not a valid interface name (letters, digits, "_", "." and "-"; not starting with "." or "-")`,
        });
      }
    });
}

const Ipv4 = (description: string) => parsedText(IPV4_PATTERN, parseIpv4, description);
const HostPortText = (description: string) => parsedText(HOST_PORT_PATTERN, parseHostPort, description);

const Vni = z
  .number()
  .int()
  .min(1)
  .max(VNI_MAX)
  .meta({ description: 'VXLAN network identifier (tunnel key) of this link, 1 to 16777215. Default: derived from the two end names, unique per topology.' });

const Dpid = z
  .string()
  .meta({
    pattern: DPID_PATTERN,
    description: 'OpenFlow datapath id of the node\'s bridge, 16 hex digits. Default: derived from the node name (0000 + a locally administered MAC-like 48-bit hash).',
  })
  .superRefine((text, ctx) => {
    if (!new RegExp(DPID_PATTERN).test(text)) {
      ctx.addIssue({ code: 'custom', message: `"${text}" is not a datapath id (expected exactly 16 hex digits, e.g. 0000000000000001)` });
    } else if (/^0+$/.test(text)) {
      ctx.addIssue({ code: 'custom', message: 'datapath id 0000000000000000 is not usable (OVS treats it as unset)' });
    }
  });

export const Ssh = z
  .strictObject({
    user: z.string().min(1).default(DEFAULT_SSH_USER).meta({ description: `Login user. Default: "${DEFAULT_SSH_USER}".` }),
    port: z.number().int().min(1).max(65535).default(DEFAULT_SSH_PORT).meta({ description: `TCP port. Default: ${DEFAULT_SSH_PORT}.` }),
    key: z.string().min(1).optional().meta({ description: 'Private key file. Default: none (ssh-agent / the client\'s default keys).' }),
  })
  .meta({ description: 'How a provisioner reaches the node; the SSH target is underlay_ip.' });

const commonNodeFields = {
  region: z.string().min(1).meta({ description: 'Region (site) the node runs in, e.g. CORE or EDGE-TR1.' }),
  bridge: ifname('OVS bridge on the node (every node runs one; it is a VXLAN tunnel end point). Default: "<node>_br", shortened with a hash when longer than 15 characters.').optional(),
  controller: HostPortText('OpenFlow controller of this node\'s bridge, host:port. Default: the top-level controller.').optional(),
  underlay_ip: Ipv4('Underlay (provider network) IPv4 address: remote end of the VXLAN tunnels to this node and SSH target. Optional: a provider fills it in.').optional(),
  ssh: Ssh.optional(),
  dpid: Dpid.optional(),
};

export const InternalPort = z
  .strictObject({
    name: ifname('Internal port name. Default: "int-<node>" (shortened with a hash past 15 characters).').optional(),
    ip: Ipv4('Overlay IPv4 address of the internal port, inside overlay_subnet.'),
  })
  .meta({ description: 'An OVS internal port on the switch\'s bridge that carries an overlay address (the DSL\'s int_ip).' });

export const SwitchNode = z
  .strictObject({
    kind: z.literal('switch').meta({ description: 'Node kind.' }),
    ...commonNodeFields,
    flavor: z.string().min(1).default(DEFAULT_SWITCH_FLAVOR).meta({ description: `VM flavor. Default: "${DEFAULT_SWITCH_FLAVOR}".` }),
    internal_port: InternalPort.optional(),
  })
  .meta({ description: 'An OVS switch node.' });

export const HostNode = z
  .strictObject({
    kind: z.literal('host').meta({ description: 'Node kind.' }),
    ...commonNodeFields,
    flavor: z.string().min(1).default(DEFAULT_HOST_FLAVOR).meta({ description: `VM flavor. Default: "${DEFAULT_HOST_FLAVOR}".` }),
  })
  .meta({ description: 'A host node: containers attach to its bridge; it has exactly one link, to a switch.' });

export const Node = z.discriminatedUnion('kind', [SwitchNode, HostNode]);

export const HostLink = z
  .strictObject({
    switch: z.string().meta({ description: 'Name of a switch node.' }),
    host: z.string().meta({ description: 'Name of a host node.' }),
    overlay_ip: Ipv4('Overlay IPv4 address on the host\'s end of the link: an internal port on the host\'s bridge (not a container address).'),
    port: ifname('Name of the internal port on the host\'s bridge that carries overlay_ip. Default: "int-<host>".').optional(),
    vni: Vni.optional(),
    switch_tunnel: ifname('Name of the VXLAN port on the switch\'s bridge, for an overlay built with other names. Default: "vx-<host>".').optional(),
    host_tunnel: ifname('Name of the VXLAN port on the host\'s bridge. Default: "vx-<switch>".').optional(),
  })
  .meta({ description: 'A VXLAN link between a switch and a host.' });

export const SwitchLink = z
  .strictObject({
    switch: z.string().meta({ description: 'Name of a switch node.' }),
    peer: z.string().meta({ description: 'Name of another switch node.' }),
    vni: Vni.optional(),
    switch_tunnel: ifname('Name of the VXLAN port on the switch\'s bridge, for an overlay built with other names. Default: "vx-<peer>".').optional(),
    peer_tunnel: ifname('Name of the VXLAN port on the peer\'s bridge. Default: "vx-<switch>".').optional(),
  })
  .meta({ description: 'A VXLAN link between two switches.' });

export const Link = z.union([HostLink, SwitchLink]);

export const Container = z
  .strictObject({
    mac: parsedText(MAC_PATTERN, parseMac, 'Unicast MAC address, six colon-separated hex octets.'),
    ip: Ipv4('Overlay IPv4 address of the container, inside overlay_subnet.'),
    host: z.string().meta({ description: 'Node whose bridge the container attaches to (normally a host).' }),
    port: ifname('OVS port name of the container\'s interface. Default: "c-<container>" (shortened with a hash past 15 characters).').optional(),
  })
  .meta({ description: 'A container attached to a node\'s bridge.' });

export const TopologyFileSchema = z
  .strictObject({
    $schema: z.string().optional().meta({ description: 'Path or URL of this JSON Schema (for editors); ignored.' }),
    name: named(TOPOLOGY_NAME_PATTERN, 'topology name', 'letters, digits, "_", "." or "-", not starting with "." or "-"; at most 64 characters', 'Topology name:'),
    description: z.string().optional().meta({ description: 'Free text.' }),
    controller: HostPortText(`OpenFlow controller of every bridge, host:port. Default: "${DEFAULT_CONTROLLER}".`).default(DEFAULT_CONTROLLER),
    overlay_subnet: parsedText(CIDR_PATTERN, parseCidr, `Overlay IPv4 subnet: every overlay address (links, internal ports, containers) lies in it. Default: "${DEFAULT_OVERLAY_SUBNET}".`).default(
      DEFAULT_OVERLAY_SUBNET,
    ),
    nodes: z.record(NodeName, Node).meta({ description: 'Switches and hosts, by name. Each runs one OVS bridge.' }),
    links: z.array(Link).default([]).meta({ description: 'VXLAN links. Each host has exactly one; the switches must form a connected graph.' }),
    containers: z.record(ContainerName, Container).default({}).meta({ description: 'Containers, by name.' }),
  })
  .meta({ title: 'vino-controller topology', description: 'A ViNO overlay: OVS switches and hosts joined by VXLAN links, and containers on the hosts.' });

/** What a file may contain (defaults optional). */
export type TopologyFileInput = z.input<typeof TopologyFileSchema>;
/** A file after schema parsing: static defaults filled in. */
export type TopologyFile = z.output<typeof TopologyFileSchema>;
export type NodeSpec = z.output<typeof Node>;
export type SwitchNodeSpec = z.output<typeof SwitchNode>;
export type HostNodeSpec = z.output<typeof HostNode>;
export type LinkSpec = z.output<typeof Link>;
export type HostLinkSpec = z.output<typeof HostLink>;
export type SwitchLinkSpec = z.output<typeof SwitchLink>;
export type ContainerSpec = z.output<typeof Container>;

export function isHostLink(link: LinkSpec): link is HostLinkSpec {
  return 'host' in link;
}

/** The JSON Schema of the file format, as committed in schema/topology.schema.json. */
export function topologyJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(TopologyFileSchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
}
