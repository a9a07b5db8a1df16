/**
 * Broken topologies: each is refused with exactly the listed problems (path: message). The
 * inputs are copies of a valid base with one defect (or a few independent ones).
 */
import t from 'tap';
import { analyzeTopology } from '../../src/topology/analyze.js';
import { formatProblem } from '../../src/topology/problems.js';
import { base } from './fixtures.js';

type Mutate = (topo: Record<string, any>) => unknown;

const cases: [string, Mutate, string[]][] = [
  // references
  ['unknown host in a link', (x) => (x.links[1].host = 'h9'), ['links[1].host: unknown node "h9"']],
  ['unknown peer', (x) => (x.links[0].peer = 'sw9'), ['links[0].peer: unknown node "sw9"']],
  ['link to a switch as host', (x) => (x.links[1].host = 'sw2'), ['links[1].host: "sw2" is a switch, not a host (a switch-switch link names the other switch in "peer")']],
  ['peer that is a host', (x) => (x.links[0].peer = 'h1'), ['links[0].peer: "h1" is a host, not a switch (a switch-host link names the host in "host", with "overlay_ip")']],
  ['switch end that is a host', (x) => (x.links[2].switch = 'h1'), ['links[2].switch: "h1" is a host, not a switch']],
  ['container on an unknown host', (x) => (x.containers.c1.host = 'h9'), ['containers.c1.host: unknown node "h9"']],
  // graph
  ['switch linked to itself', (x) => (x.links[0].peer = 'sw1'), ['links[0].peer: a switch cannot be linked to itself ("sw1")']],
  ['duplicate link (reversed)', (x) => x.links.push({ switch: 'sw2', peer: 'sw1' }), ['links[3]: duplicate link: links[0] already joins "sw2" and "sw1"']],
  [
    'host with two links',
    (x) => x.links.push({ switch: 'sw2', host: 'h1', overlay_ip: '192.168.200.13' }),
    ['links[3].host: host "h1" already has a link (links[1], to switch "sw1"); a host has exactly one link'],
  ],
  ['switch graph not connected', (x) => x.links.splice(0, 1), ['links: the switches are not connected: 2 separate groups [sw1], [sw2]; join them with switch-switch links']],
  ['host linked to no switch', (x) => (x.nodes.h3 = { kind: 'host', region: 'EDGE' }), ['nodes.h3: host "h3" has no link; every host needs exactly one link to a switch']],
  [
    'no switch at all',
    (x) => {
      x.nodes = { h1: { kind: 'host', region: 'CORE' } };
      x.links = [];
      x.containers = {};
    },
    ['nodes: no switch: a topology needs at least one node of kind "switch"', 'nodes.h1: host "h1" has no link; every host needs exactly one link to a switch'],
  ],
  // duplicates
  ['duplicate MAC', (x) => (x.containers.c2.mac = '02:00:00:00:00:01'), ['containers.c2.mac: MAC address 02:00:00:00:00:01 is already used by container "c1"']],
  ['duplicate MAC, other case', (x) => (x.containers.c2.mac = '02:00:00:00:00:01'.toUpperCase()), ['containers.c2.mac: MAC address 02:00:00:00:00:01 is already used by container "c1"']],
  ['container IP = a host overlay IP', (x) => (x.containers.c2.ip = '192.168.200.11'), ['containers.c2.ip: overlay address 192.168.200.11 is already used by host "h1" (links[1].overlay_ip)']],
  ['host overlay IP = internal port IP', (x) => (x.links[2].overlay_ip = '192.168.200.1'), ['links[2].overlay_ip: overlay address 192.168.200.1 is already used by the internal port of switch "sw1" (nodes.sw1.internal_port.ip)']],
  [
    'duplicate VNI',
    (x) => {
      x.links[0].vni = 100;
      x.links[2].vni = 100;
    },
    ['links[2].vni: VNI 100 is already used by links[0]'],
  ],
  [
    'duplicate datapath id (any case)',
    (x) => {
      x.nodes.sw1.dpid = '00000000000000AB';
      x.nodes.h1.dpid = '00000000000000ab';
    },
    ['nodes.h1.dpid: datapath id 00000000000000ab is already used by node "sw1"'],
  ],
  ['duplicate bridge name', (x) => (x.nodes.sw2.bridge = 'sw1_br'), ['nodes.sw2.bridge: bridge name "sw1_br" is already the bridge of node "sw1"; bridge names must be unique']],
  ['default bridge name taken', (x) => (x.nodes.sw1.bridge = 'sw2_br'), ['nodes.sw2: bridge name "sw2_br" (the default) is already the bridge of node "sw1"; bridge names must be unique']],
  [
    'duplicate underlay address',
    (x) => {
      x.nodes.sw1.underlay_ip = '10.0.0.1';
      x.nodes.sw2.underlay_ip = '10.0.0.1';
    },
    ['nodes.sw2.underlay_ip: underlay address 10.0.0.1 is already used by node "sw1"'],
  ],
  [
    'container named like a node',
    (x) => (x.containers.h1 = { mac: '02:00:00:00:00:09', ip: '192.168.200.109', host: 'h1' }),
    ['containers.h1: "h1" is also a node name; node and container names must differ (both name network namespaces)'],
  ],
  // ports
  [
    'internal port named like a tunnel port',
    (x) => (x.nodes.sw1.internal_port.name = 'vx-sw2'),
    ['nodes.sw1.internal_port.name: port name "vx-sw2" on bridge "sw1_br" is also the default name of the tunnel port to "sw2" (links[0]); choose another name'],
  ],
  [
    'named tunnel port clashing with a container port',
    (x) => (x.links[1].host_tunnel = 'c-c1'),
    ['links[1].host_tunnel: port name "c-c1" on bridge "h1_br" is also the default name of container "c1"; choose another name'],
  ],
  ['port named like its bridge', (x) => (x.containers.c1.port = 'h1_br'), ['containers.c1.port: port name "h1_br" is the name of bridge "h1_br" itself (OVS gives it to the bridge\'s local port)']],
  [
    'container port name reused by another container',
    (x) => (x.containers.c2.port = 'c-c1'),
    ['containers.c2.port: port name "c-c1" is already used by container "c1" (containers keep their port name when they migrate)'],
  ],
  [
    'two containers, same port name, same host',
    (x) => {
      x.containers.c1.port = 'eth-web';
      x.containers.c2 = { ...x.containers.c2, host: 'h1', port: 'eth-web' };
    },
    ['containers.c2.port: port name "eth-web" is already used by container "c1" (containers keep their port name when they migrate)'],
  ],
  [
    'host internal port named like a container port',
    (x) => (x.links[1].port = 'c-c1'),
    ['links[1].port: port name "c-c1" on bridge "h1_br" is also the default name of container "c1"; choose another name'],
  ],
  ['port name too long', (x) => (x.containers.c1.port = 'a-very-long-port-name'), ['containers.c1.port: "a-very-long-port-name" is 21 characters; Linux interface names are at most 15']],
  ['bridge name too long', (x) => (x.nodes.sw1.bridge = 'bridge-name-too-long'), ['nodes.sw1.bridge: "bridge-name-too-long" is 20 characters; Linux interface names are at most 15']],
  ['port name with a slash', (x) => (x.links[1].port = 'a/b'), ['links[1].port: "a/b" is not a valid interface name (letters, digits, "_", "." and "-"; not starting with "." or "-")']],
  // overlay subnet
  ['container outside the overlay subnet', (x) => (x.containers.c1.ip = '10.0.0.5'), ['containers.c1.ip: 10.0.0.5 is outside the overlay subnet 192.168.200.0/24']],
  ['internal port outside the overlay subnet', (x) => (x.nodes.sw1.internal_port.ip = '192.168.201.1'), ['nodes.sw1.internal_port.ip: 192.168.201.1 is outside the overlay subnet 192.168.200.0/24']],
  ['overlay IP = network address', (x) => (x.links[1].overlay_ip = '192.168.200.0'), ['links[1].overlay_ip: 192.168.200.0 is the network address of the overlay subnet 192.168.200.0/24']],
  ['container IP = broadcast address', (x) => (x.containers.c1.ip = '192.168.200.255'), ['containers.c1.ip: 192.168.200.255 is the broadcast address of the overlay subnet 192.168.200.0/24']],
  [
    'smaller subnet leaves addresses out',
    (x) => (x.overlay_subnet = '192.168.200.0/26'),
    ['containers.c1.ip: 192.168.200.101 is outside the overlay subnet 192.168.200.0/26', 'containers.c2.ip: 192.168.200.102 is outside the overlay subnet 192.168.200.0/26'],
  ],
  // text syntax
  ['MAC with dashes', (x) => (x.containers.c1.mac = '02-00-00-00-00-01'), ['containers.c1.mac: "02-00-00-00-00-01" is not a MAC address (expected six colon-separated hex octets, e.g. 02:00:00:00:00:01)']],
  ['multicast MAC', (x) => (x.containers.c1.mac = '01:00:5e:00:00:01'), ['containers.c1.mac: "01:00:5e:00:00:01" is a multicast MAC address (the low bit of the first octet is set); a container needs a unicast one']],
  ['all-zero MAC', (x) => (x.containers.c1.mac = '00:00:00:00:00:00'), ['containers.c1.mac: "00:00:00:00:00:00" is the all-zero MAC address']],
  ['IP octet > 255', (x) => (x.containers.c1.ip = '192.168.200.300'), ['containers.c1.ip: "192.168.200.300" is not an IPv4 address (octet 300 is greater than 255)']],
  ['IP with a leading zero', (x) => (x.containers.c1.ip = '192.168.200.010'), ['containers.c1.ip: "192.168.200.010" is not an IPv4 address (octet "010" has a leading zero)']],
  ['IP with three octets', (x) => (x.links[1].overlay_ip = '192.168.200'), ['links[1].overlay_ip: "192.168.200" is not an IPv4 address (expected 4 dotted decimal octets)']],
  ['CIDR with host bits', (x) => (x.overlay_subnet = '192.168.200.1/24'), ['overlay_subnet: "192.168.200.1/24" has host bits set (did you mean 192.168.200.0/24?)']],
  ['CIDR prefix 33', (x) => (x.overlay_subnet = '192.168.200.0/33'), ['overlay_subnet: "192.168.200.0/33" is not a CIDR block (prefix length "33" must be 0 to 32)']],
  ['CIDR without prefix', (x) => (x.overlay_subnet = '192.168.200.0'), ['overlay_subnet: "192.168.200.0" is not a CIDR block (expected address/prefix-length, e.g. 192.168.200.0/24)']],
  ['controller without port', (x) => (x.controller = '10.0.0.1'), ['controller: "10.0.0.1" is not host:port (missing ":port", e.g. 127.0.0.1:6633)']],
  ['node controller port out of range', (x) => (x.nodes.sw1.controller = '10.0.0.1:70000'), ['nodes.sw1.controller: "10.0.0.1:70000" is not host:port (port "70000" must be 1 to 65535)']],
  ['datapath id too short', (x) => (x.nodes.sw1.dpid = '1'), ['nodes.sw1.dpid: "1" is not a datapath id (expected exactly 16 hex digits, e.g. 0000000000000001)']],
  ['datapath id zero', (x) => (x.nodes.sw1.dpid = '0000000000000000'), ['nodes.sw1.dpid: datapath id 0000000000000000 is not usable (OVS treats it as unset)']],
  ['node name starting with a digit', (x) => (x.nodes['1sw'] = { kind: 'switch', region: 'X' }), ['nodes["1sw"]: "1sw" is not a valid node name (a letter, then letters, digits, "_" or "-"; at most 32 characters)']],
  // schema shape
  ['node without kind', (x) => delete x.nodes.h2.kind, ['nodes.h2.kind: required ("switch" or "host")']],
  ['node of unknown kind', (x) => (x.nodes.h2.kind = 'router'), ['nodes.h2.kind: expected "switch" or "host", got string "router"']],
  ['misspelt key', (x) => (x.nodes.sw2.bridgee = 'x'), ['nodes.sw2.bridgee: unknown key (allowed: kind, region, bridge, controller, underlay_ip, ssh, dpid, flavor, internal_port)']],
  ['internal_port on a host', (x) => (x.nodes.h1.internal_port = { ip: '192.168.200.50' }), ['nodes.h1.internal_port: unknown key (allowed: kind, region, bridge, controller, underlay_ip, ssh, dpid, flavor)']],
  ['link with neither host nor peer', (x) => (x.links[0] = { switch: 'sw1' }), ['links[0]: a link needs "host" (switch-host link) or "peer" (switch-switch link)']],
  ['link with both host and peer', (x) => (x.links[0].host = 'h1'), ['links[0]: a link has either "host" (switch-host link) or "peer" (switch-switch link), not both']],
  ['host link without overlay_ip', (x) => delete x.links[1].overlay_ip, ['links[1].overlay_ip: required (a string)']],
  ['link that is not an object', (x) => (x.links[0] = 'sw1-sw2'), ['links[0]: expected an object, got string "sw1-sw2"']],
  ['VNI 0', (x) => (x.links[0].vni = 0), ['links[0].vni: number 0 is out of range (must be >= 1)']],
  ['VNI above 24 bits', (x) => (x.links[0].vni = 16777216), ['links[0].vni: number 16777216 is out of range (must be <= 16777215)']],
  ['VNI not an integer', (x) => (x.links[0].vni = 1.5), ['links[0].vni: expected an integer, got number 1.5']],
  ['VNI as a string', (x) => (x.links[0].vni = '100'), ['links[0].vni: expected a number, got string "100"']],
  ['empty region', (x) => (x.nodes.sw1.region = ''), ['nodes.sw1.region: must not be empty']],
  [
    'bad ssh settings',
    (x) => (x.nodes.sw1.ssh = { port: 0, user: '' }),
    ['nodes.sw1.ssh.user: must not be empty', 'nodes.sw1.ssh.port: number 0 is out of range (must be >= 1)'],
  ],
  ['missing name', (x) => delete x.name, ['name: required (a string)']],
  ['unknown top-level key', (x) => (x.switches = []), ['switches: unknown key (allowed: $schema, name, description, controller, overlay_subnet, nodes, links, containers)']],
  ['nodes as an array', (x) => (x.nodes = []), ['nodes: expected an object, got an array']],
  ['not an object at all', () => ({ replace: 5 }), ['expected an object, got number 5']],
  // several independent problems are all reported, and a broken node does not cascade
  [
    'several problems at once',
    (x) => {
      x.nodes.h1.region = 5;
      x.links[2].host = 'h9';
      x.containers.c2.mac = 'zz';
    },
    [
      'nodes.h1.region: expected a string, got number 5',
      'containers.c2.mac: "zz" is not a MAC address (expected six colon-separated hex octets, e.g. 02:00:00:00:00:01)',
      'links[2].host: unknown node "h9"',
    ],
  ],
];

for (const [name, mutate, expected] of cases) {
  t.test(name, async (t) => {
    const topo = base();
    const replaced = mutate(topo);
    // A mutator returning { replace: v } checks v instead of the base.
    const input = replaced !== null && typeof replaced === 'object' && 'replace' in replaced ? (replaced as { replace: unknown }).replace : topo;
    const { topology, problems } = analyzeTopology(input);
    t.equal(topology, null, 'refused');
    t.same(
      problems.map((p) => formatProblem(p)),
      expected,
    );
  });
}

t.test('the base itself is valid', async (t) => {
  const { topology, problems } = analyzeTopology(base());
  t.same(problems, []);
  t.ok(topology);
});
