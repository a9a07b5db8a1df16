/**
 * Cross-check of the OpenFlow 1.3 codec against real Open vSwitch 3.1 (test/util/ovs-capture.ts
 * has the capture machinery):
 *
 *  1. controller → switch: `ovs-ofctl -O OpenFlow13` talks to our fake switch (flow, group,
 *     meter, port, packet-out, stats and config commands); every message it sends is captured.
 *  2. switch → controller: a private ovs-vswitchd with a userspace bridge connects to our fake
 *     controller, which provokes and captures HELLO, FEATURES_REPLY, PORT_STATUS, PACKET_IN,
 *     FLOW_REMOVED, multipart replies of every kind, ERRORs, ROLE/ASYNC replies and ECHOs.
 *  3. every captured message must decode and re-encode byte for byte; the decoded fields must
 *     agree with OVS's own decoding (ovs-ofctl ofp-parse); fields we change in a decoded message
 *     must show up changed in OVS's reading of our encoding; messages we build ourselves must
 *     be read by OVS as we meant them, and ovs-vswitchd must accept them.
 *
 * OFP_WRITE_FIXTURES=1 also saves the captures to test/fixtures/openflow/ovs-3.1-capture.json,
 * whose decode checks run even where OVS is not installed.
 */
import t, { type Test } from 'tap';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import {
  decodeMessage, encodeMessage, errorCodeName, errorTypeName, OpenFlowError, type Message,
} from '../../src/openflow/index.js';
import { fixturesDir, type CaptureFixture } from '../../bench/lib/corpus.js';
import {
  allSampleMessages, flowMod, groupMod, meterMod, packetOut, richFlowMod, sampleMatches, udpFrame,
} from '../../bench/lib/samples.js';
import {
  Cleanup, FakeController, FakeSwitch, OFPT, OvsSandbox, makeTempDir, msgType, msgXid, mpType, ofp,
  ofpPrintFailed, ofpPrintMany, ovsUnavailableReason, run, uniqueIfName, withXid,
} from '../util/ovs-capture.js';

type Direction = 'controller-to-switch' | 'switch-to-controller';
interface Capture {
  direction: Direction;
  source: string;
  bytes: Buffer;
}

const FIXTURE = 'ovs-3.1-capture.json';
const hex = (b: Buffer): string => b.toString('hex');

// ---------------------------------------------------------------------------------------------
// 1. controller → switch: what ovs-ofctl sends.

/** Flows in ovs-ofctl syntax: every match field kind, masks, IPv6, ARP, MPLS, VLAN, instructions. */
const FLOWS = [
  'table=0,priority=100,cookie=0x1122334455667788,idle_timeout=30,hard_timeout=60,send_flow_rem,in_port=1,' +
    'dl_src=00:11:22:33:44:55,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00,tcp,nw_src=10.1.0.0/16,nw_dst=192.168.1.1,' +
    'tp_src=80,tp_dst=0x1000/0xf000,actions=output:2',
  'priority=200,dl_vlan=100,dl_vlan_pcp=3,actions=pop_vlan,output:2',
  'vlan_tci=0x1000/0x1000,actions=strip_vlan,output:1',
  'vlan_tci=0,actions=push_vlan:0x8100,set_field:4196->vlan_vid,output:2',
  'udp6,ipv6_src=2001:db8::1/64,ipv6_dst=fe80::1,ipv6_label=0x12345,tp_dst=53,actions=output:1',
  'icmp6,icmp_type=135,nd_target=2001:db8::2,nd_sll=00:11:22:33:44:55,actions=drop',
  'icmp6,icmp_type=136,icmp_code=0,nd_target=2001:db8::3,nd_tll=00:11:22:33:44:66,actions=drop',
  'ipv6,ipv6_dst=2001:db8:0:1::/ffff:ffff:0:ffff::,actions=output:1',
  'arp,arp_op=1,arp_spa=10.0.0.1,arp_tpa=10.0.0.0/24,arp_sha=00:11:22:33:44:55,arp_tha=00:00:00:00:00:00,actions=NORMAL',
  'mpls,mpls_label=100,mpls_tc=3,mpls_bos=1,actions=pop_mpls:0x0800,output:1',
  'ip,actions=push_mpls:0x8847,set_field:10->mpls_label,set_mpls_ttl:9,dec_mpls_ttl,output:1',
  'sctp,tp_src=2905,tp_dst=2906,actions=output:2',
  'icmp,icmp_type=8,icmp_code=0,nw_tos=184,nw_ecn=1,actions=mod_nw_ttl:33,dec_ttl,output:2',
  'ip,nw_src=10.0.0.0/255.0.255.0,actions=set_queue:3,output:1',
  'table=1,metadata=0x1234/0xffff,tun_id=0x5678,actions=write_metadata:0xabcd/0xffff,goto_table:2',
  'table=2,tcp,actions=meter:1,set_field:10.9.8.7->ip_dst,set_field:8080->tcp_dst,clear_actions,write_actions(group:1,set_queue:2),goto_table:3',
  'table=3,tun_id=0x10/0xff,actions=set_field:0x99->tun_id,set_field:02:00:00:00:00:01->eth_src,output:1',
  'eth_dst=02:00:00:00:00:00/ff:ff:00:00:00:00,actions=group:2',
  'in_port=LOCAL,actions=controller:128,in_port,all,flood,local',
  'check_overlap,reset_counts,no_packet_counts,no_byte_counts,priority=7,in_port=2,actions=output:1',
  'priority=0,actions=drop',
  // Nicira extensions: NXM fields in the match, experimenter actions.
  'reg0=5,actions=resubmit(,2)',
  'ct_state=+trk+new,tcp,actions=ct(commit,zone=5)',
  'pkt_mark=0x10/0xff,actions=load:0x1->NXM_NX_REG0[],note:de.ad.be.ef',
  'actions=learn(table=10,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[])',
];

const GROUPS = [
  'group_id=1,type=all,bucket=output:1,bucket=output:2',
  'group_id=2,type=select,bucket=weight:10,actions=output:1,bucket=weight:20,actions=set_field:02:00:00:00:00:0a->eth_dst,output:2',
  'group_id=3,type=indirect,bucket=actions=dec_ttl,output:1',
  'group_id=4,type=ff,bucket=watch_port:1,actions=output:1,bucket=watch_port:2,watch_group:1,actions=output:2',
];

const METERS = [
  'meter=1,kbps,band=type=drop,rate=1000',
  'meter=2,pktps,burst,stats,bands=type=dscp_remark,rate=100,burst_size=10,prec_level=1',
];
/** The userspace datapath implements only drop bands. */
const LIVE_METERS = [
  'meter=1,kbps,band=type=drop,rate=1000',
  'meter=2,pktps,burst,stats,bands=type=drop,rate=100,burst_size=10',
];

/** An IPv4/UDP frame in hex, for packet-out. */
const FRAME = hex(udpFrame(60));

interface OfctlCase {
  /** Arguments after `-O OpenFlow13`; "SW" is replaced by the fake switch's target. */
  args: string[];
  /** Why this command is expected to fail or hang (it still sends its messages first). */
  expectFailure?: string;
}

function ofctlCases(flowFile: string, groupFile: string): OfctlCase[] {
  const c = (...args: string[]): OfctlCase => ({ args });
  return [
    c('show', 'SW'),
    c('dump-desc', 'SW'),
    c('dump-tables', 'SW'),
    c('dump-table-features', 'SW'),
    c('dump-ports', 'SW'),
    c('dump-ports', 'SW', '1'),
    c('dump-ports-desc', 'SW'),
    c('dump-flows', 'SW'),
    c('dump-flows', 'SW', 'table=0,ip,nw_src=10.0.0.0/8'),
    c('dump-flows', 'SW', 'cookie=0x10/0xff,out_port=2'),
    c('dump-aggregate', 'SW'),
    c('dump-aggregate', 'SW', 'ipv6'),
    c('queue-stats', 'SW'),
    c('queue-stats', 'SW', '1', '5'),
    c('queue-get-config', 'SW', '1'),
    c('queue-get-config', 'SW'),
    ...FLOWS.map((f) => c('add-flow', 'SW', f)),
    c('add-flows', 'SW', flowFile),
    c('mod-flows', 'SW', 'ip,nw_src=10.1.0.0/16,actions=output:3'),
    c('--strict', 'mod-flows', 'SW', 'priority=200,dl_vlan=100,dl_vlan_pcp=3,actions=output:1'),
    c('del-flows', 'SW', 'tcp,tp_dst=80'),
    c('--strict', 'del-flows', 'SW', 'priority=100,ip'),
    c('del-flows', 'SW', 'table=1,cookie=0x1/0xff,out_port=2'),
    c('del-flows', 'SW'),
    c('replace-flows', 'SW', flowFile),
    ...GROUPS.map((g) => c('add-group', 'SW', g)),
    c('add-groups', 'SW', groupFile),
    c('mod-group', 'SW', 'group_id=1,type=all,bucket=output:2'),
    c('del-groups', 'SW', 'group_id=1'),
    c('del-groups', 'SW'),
    c('dump-groups', 'SW'),
    c('dump-groups', 'SW', '2'),
    c('dump-group-stats', 'SW'),
    c('dump-group-stats', 'SW', 'group_id=2'),
    c('dump-group-features', 'SW'),
    ...METERS.map((m) => c('add-meter', 'SW', m)),
    c('mod-meter', 'SW', 'meter=1,kbps,burst,band=type=drop,rate=2000,burst_size=100'),
    c('del-meters', 'SW', 'meter=2'),
    c('del-meters', 'SW'),
    c('dump-meters', 'SW'),
    c('dump-meters', 'SW', 'meter=1'),
    c('meter-stats', 'SW'),
    c('meter-stats', 'SW', 'meter=1'),
    c('meter-features', 'SW'),
    c('mod-port', 'SW', 'p1', 'down'),
    c('mod-port', 'SW', 'p1', 'up'),
    c('mod-port', 'SW', '2', 'no-flood'),
    c('mod-port', 'SW', 'p2', 'no-receive'),
    c('mod-port', 'SW', 'p2', 'no-forward'),
    c('mod-port', 'SW', 'p2', 'no-packet-in'),
    c('packet-out', 'SW', `in_port=1,packet=${FRAME},actions=output:2`),
    c('packet-out', 'SW', `in_port=CONTROLLER,packet=${FRAME},actions=set_field:02:00:00:00:00:09->eth_dst,output:1,output:2`),
    c('packet-out', 'SW', '1', 'output:2', FRAME),
    c('probe', 'SW'),
    c('ping', 'SW', '32'),
    c('get-frags', 'SW'),
    c('set-frags', 'SW', 'drop'),
    c('ct-flush-zone', 'SW', '5'),
    c('dump-ipfix-bridge', 'SW'),
    { args: ['monitor', 'SW', '128'], expectFailure: 'monitor runs until killed' },
    { args: ['monitor', 'SW', 'watch:'], expectFailure: 'the fake switch does not implement ONF flow monitors' },
    { args: ['dump-tlv-map', 'SW'], expectFailure: 'the fake switch does not answer Nicira TLV-map requests' },
  ];
}

async function captureFromOfctl(t: Test, workDir: string): Promise<Capture[]> {
  const sw = await FakeSwitch.start();
  t.teardown(() => sw.close());
  const flowFile = join(workDir, 'flows.txt');
  const groupFile = join(workDir, 'groups.txt');
  writeFileSync(flowFile, `${FLOWS.slice(0, 8).join('\n')}\n`);
  writeFileSync(groupFile, `${GROUPS.map((g) => g.replace(/group_id=(\d)/, (_, n: string) => `group_id=${Number(n) + 10}`)).join('\n')}\n`);
  // ovs-ofctl needs a writable run dir for its control socket (monitor).
  const env = { ...process.env, OVS_RUNDIR: workDir, OVS_LOGDIR: workDir };
  const captures: Capture[] = [];
  for (const cmd of ofctlCases(flowFile, groupFile)) {
    const args = cmd.args.map((a) => (a === 'SW' ? sw.target : a));
    const label = `ovs-ofctl ${cmd.args.join(' ')}`;
    const from = sw.received.length;
    const r = await run('ovs-ofctl', ['-O', 'OpenFlow13', ...args], { env, timeoutMs: cmd.expectFailure ? 1500 : 10_000 });
    await sw.idle();
    const got = sw.received.slice(from);
    if (cmd.expectFailure) {
      t.ok(got.length > 0, `${label}: sent messages (then stopped: ${cmd.expectFailure})`);
    } else {
      t.ok(r.code === 0 && got.length > 0, `${label}: exit 0 after sending ${got.length} messages`, {
        stderr: r.stderr, stdout: r.stdout.slice(0, 2000), timedOut: r.timedOut,
      });
    }
    for (const g of got) captures.push({ direction: 'controller-to-switch', source: label, bytes: g.bytes });
  }
  return captures;
}

// ---------------------------------------------------------------------------------------------
// 2. switch → controller: what ovs-vswitchd sends.

/** Multipart request bodies (after the 8-byte multipart header), raw. */
const ALL_FLOWS_SELECTION = 'ff000000ffffffffffffffff00000000' + '0'.repeat(32) + '0001000400000000';
const MP_REQUESTS: Array<[kind: string, mp: number, body: string]> = [
  ['DESC', 0, ''],
  ['FLOW', 1, ALL_FLOWS_SELECTION],
  ['AGGREGATE', 2, ALL_FLOWS_SELECTION],
  ['TABLE', 3, ''],
  ['PORT_STATS', 4, 'ffffffff00000000'],
  ['QUEUE', 5, 'ffffffffffffffff'],
  ['GROUP', 6, 'fffffffc00000000'],
  ['GROUP_DESC', 7, ''],
  ['GROUP_FEATURES', 8, ''],
  ['METER', 9, 'ffffffff00000000'],
  ['METER_CONFIG', 10, 'ffffffff00000000'],
  ['METER_FEATURES', 11, ''],
  ['TABLE_FEATURES', 12, ''],
  ['PORT_DESC', 13, ''],
];

function mpRequest(mp: number, body: string): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt16BE(mp, 0);
  return ofp(OFPT.MULTIPART_REQUEST, 0, Buffer.concat([head, Buffer.from(body, 'hex')]));
}

function roleRequest(role: number, generation: bigint): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32BE(role, 0);
  b.writeBigUInt64BE(generation, 8);
  return ofp(OFPT.ROLE_REQUEST, 0, b);
}

/** Flows installed on the live bridge: each one is there to make OVS send a particular message. */
const LIVE_FLOWS = [
  'table=0,priority=0,actions=CONTROLLER:65535', // table miss → PACKET_IN (no_match)
  'table=0,priority=100,cookie=0x77,send_flow_rem,in_port=1,ip,nw_dst=10.0.0.2,actions=output:2', // → FLOW_REMOVED delete
  'table=0,priority=90,cookie=0x78,send_flow_rem,hard_timeout=1,ipv6,actions=drop', // → hard timeout
  'table=0,priority=91,cookie=0x79,send_flow_rem,idle_timeout=1,arp,actions=drop', // → idle timeout
  'table=0,priority=92,cookie=0x7a,send_flow_rem,icmp,actions=group:3', // → group delete
  'table=0,priority=93,cookie=0x7b,send_flow_rem,tcp,actions=meter:2,output:2', // → meter delete
  'table=1,priority=5,ipv6,ipv6_src=2001:db8::/32,actions=write_metadata:0x1/0x1,goto_table:2',
  'table=2,priority=5,metadata=0x1/0x1,actions=set_field:00:11:22:33:44:55->eth_dst,push_vlan:0x8100,set_field:4196->vlan_vid,output:1',
  'table=2,priority=6,mpls,mpls_label=100,actions=pop_mpls:0x0800,output:1',
  'table=3,priority=10,cookie=0xabc,udp,actions=controller:100', // PACKET_IN (action), truncated
  'table=4,priority=10,cookie=0xdef,actions=controller(userdata=01.02.03.04.05)', // NXT_PACKET_IN2
];

interface LiveResult {
  captures: Capture[];
  sandbox: OvsSandbox;
  controller: FakeController;
  bridge: string;
  ports: [string, string];
}

/** Assertions go to `t`; the sandbox lives until `owner` ends (later checks use it). */
async function captureFromVswitchd(t: Test, owner: Test): Promise<LiveResult> {
  const sandbox = await OvsSandbox.start();
  owner.teardown(() => sandbox.stop());
  const ctl = await FakeController.listen();
  owner.teardown(() => ctl.close());
  const bridge = uniqueIfName('b');
  const p1 = uniqueIfName('p');
  const p2 = uniqueIfName('q');
  await sandbox.addBridge(bridge, ctl.target);
  await ctl.waitFor((m) => msgType(m) === OFPT.HELLO, 'HELLO from ovs-vswitchd', 15_000);

  const step = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
    try {
      await fn();
      t.pass(what);
    } catch (err) {
      t.fail(`${what}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  const expectReply = async (what: string, msg: Buffer, mode: 'single' | 'multipart', wantType: number): Promise<Buffer[]> => {
    const replies = await ctl.call(msg, mode);
    const bad = replies.filter((r) => msgType(r) !== wantType);
    if (bad.length > 0) throw new Error(`${what}: unexpected reply ${bad.map(hex).join(', ')}`);
    return replies;
  };
  const expectError = async (what: string, msg: Buffer, type: number, code: number): Promise<void> => {
    const replies = await ctl.call(msg, 'none');
    const err = replies.find((r) => msgType(r) === OFPT.ERROR);
    if (!err) throw new Error(`${what}: no ERROR came back`);
    const got = `${err.readUInt16BE(8)}/${err.readUInt16BE(10)}`;
    if (got !== `${type}/${code}`) throw new Error(`${what}: ERROR ${got}, expected ${type}/${code}`);
  };

  await step('FEATURES_REPLY', () => expectReply('features', ofp(OFPT.FEATURES_REQUEST, 0), 'single', OFPT.FEATURES_REPLY));
  await step('GET_CONFIG_REPLY', () => expectReply('get-config', ofp(OFPT.GET_CONFIG_REQUEST, 0), 'single', OFPT.GET_CONFIG_REPLY));
  await step('SET_CONFIG accepted', async () => {
    const r = await ctl.call(ofp(OFPT.SET_CONFIG, 0, Buffer.from('0000ffff', 'hex')), 'none');
    if (r.length > 0) throw new Error(`answered ${r.map(hex).join(', ')}`);
  });
  // Every reason of every asynchronous message (incl. OVS's meter-delete flow removal).
  await step('SET_ASYNC accepted', async () => {
    const r = await ctl.call(ofp(OFPT.SET_ASYNC, 0, Buffer.from('00000007000000000000000700000007000000ff00000000', 'hex')), 'none');
    if (r.length > 0) throw new Error(`answered ${r.map(hex).join(', ')}`);
  });
  await step('GET_ASYNC_REPLY', () => expectReply('get-async', ofp(OFPT.GET_ASYNC_REQUEST, 0), 'single', OFPT.GET_ASYNC_REPLY));

  // Ports: PORT_STATUS add.
  const portStatusFor = (name: string, reason: number) => (m: Buffer): boolean =>
    msgType(m) === OFPT.PORT_STATUS && m[8] === reason && m.subarray(32, 48).toString('latin1').replace(/\0+$/, '') === name;
  await sandbox.addInternalPort(bridge, p1, 1);
  await sandbox.addInternalPort(bridge, p2, 2);
  await step('PORT_STATUS add (two ports)', async () => {
    await ctl.waitFor(portStatusFor(p1, 0), `PORT_STATUS add ${p1}`);
    await ctl.waitFor(portStatusFor(p2, 0), `PORT_STATUS add ${p2}`);
  });

  // State for the stats replies and the asynchronous messages below.
  const dir = sandbox.dir;
  writeFileSync(join(dir, 'groups.txt'), `${GROUPS.join('\n')}\n`);
  writeFileSync(join(dir, 'flows.txt'), `${LIVE_FLOWS.join('\n')}\n`);
  await sandbox.ofctl(bridge, 'add-groups', join(dir, 'groups.txt'));
  for (const m of LIVE_METERS) await sandbox.ofctl(bridge, 'add-meter', m);
  await sandbox.ofctl(bridge, 'add-flows', join(dir, 'flows.txt'));

  for (const [kind, mp, body] of MP_REQUESTS) {
    await step(`MULTIPART_REPLY ${kind}`, () => expectReply(kind, mpRequest(mp, body), 'multipart', OFPT.MULTIPART_REPLY));
  }

  // PACKET_IN: a table miss, a controller action in table 3 (truncated to 100 bytes), a
  // packet-out straight to the controller, and a Nicira packet-in2 (controller with userdata).
  const other = 'ff'.repeat(6) + '020000000001' + '88b5' + '00'.repeat(46);
  const packetInWith = (pred: (m: Buffer) => boolean) => (m: Buffer): boolean => msgType(m) === OFPT.PACKET_IN && pred(m);
  await step('PACKET_IN no_match (packet-out to TABLE)', async () => {
    await sandbox.ofctl(bridge, 'packet-out', `in_port=1,packet=${other},actions=table`);
    await ctl.waitFor(packetInWith((m) => m[14] === 0), 'PACKET_IN with reason NO_MATCH');
  });
  await step('PACKET_IN no_match (ofproto/trace -generate)', async () => {
    const from = ctl.received.length;
    await sandbox.appctl('ofproto/trace', bridge, 'in_port=2,dl_type=0x88b6', '-generate');
    await ctl.waitFor(packetInWith((m) => m[14] === 0), 'PACKET_IN from the traced packet', 10_000, from);
  });
  await step('PACKET_IN action from table 3, truncated', async () => {
    await sandbox.ofctl(bridge, 'packet-out', `in_port=1,packet=${FRAME},actions=resubmit(,3)`);
    await ctl.waitFor(packetInWith((m) => m[14] === 1 && m[15] === 3), 'PACKET_IN with reason ACTION from table 3');
  });
  await step('PACKET_IN from a packet-out', async () => {
    const from = ctl.received.length;
    await sandbox.ofctl(bridge, 'packet-out', `in_port=2,packet=${FRAME},actions=controller`);
    await ctl.waitFor(packetInWith(() => true), 'PACKET_IN from packet-out', 10_000, from);
  });
  await step('NXT_PACKET_IN2 (controller with userdata)', async () => {
    await sandbox.ofctl(bridge, 'packet-out', `in_port=1,packet=${FRAME},actions=resubmit(,4)`);
    await ctl.waitFor((m) => msgType(m) === OFPT.EXPERIMENTER, 'an EXPERIMENTER (Nicira packet-in2) message');
  });

  // Errors, each for a reason a controller meets in practice.
  await step('ERROR bad request type', () => expectError('type 99', ofp(99, 0), 1, 1));
  await step('ERROR bad multipart type', () => expectError('multipart 0x77', mpRequest(0x77, ''), 1, 2));
  await step('ERROR flow_mod to table 0xff', async () => {
    const fm = Buffer.from(encodeOrRaw(flowMod(0)));
    fm[8 + 16] = 0xff; // ofp_flow_mod.table_id
    await expectError('table 0xff', fm, 5, 2);
  });
  await step('ERROR group exists', async () => {
    await expectError('add group 1 again', encodeOrRaw(groupMod(0, 'ALL', 1)), 6, 0);
  });
  await step('ERROR invalid meter', async () => {
    await expectError('meter 0', encodeOrRaw({ ...meterMod(0), meterId: 0 }), 12, 2);
  });
  await step('ERROR port_mod with a wrong hardware address', async () => {
    await expectError('port_mod', encodeOrRaw({ type: 'PORT_MOD', xid: 0, portNo: 1, hwAddr: '02:00:00:00:00:ff', config: 1, mask: 1, advertise: 0 }), 7, 1);
  });

  // Roles: no change, master, a stale generation (error), slave, master again.
  await step('ROLE_REPLY nochange', () => expectReply('role', roleRequest(0, 0n), 'single', OFPT.ROLE_REPLY));
  await step('ROLE_REPLY master', () => expectReply('role', roleRequest(2, 5n), 'single', OFPT.ROLE_REPLY));
  await step('ERROR stale role generation', () => expectError('stale role', roleRequest(2, 4n), 11, 0));
  await step('ROLE_REPLY slave', () => expectReply('role', roleRequest(3, 6n), 'single', OFPT.ROLE_REPLY));
  await step('ROLE_REPLY master again', () => expectReply('role', roleRequest(2, 7n), 'single', OFPT.ROLE_REPLY));

  await step('ECHO_REPLY', () => expectReply('echo', ofp(OFPT.ECHO_REQUEST, 0, Buffer.from('vino echo payload')), 'single', OFPT.ECHO_REPLY));
  await step('BARRIER_REPLY', () => expectReply('barrier', ofp(OFPT.BARRIER_REQUEST, 0), 'single', OFPT.BARRIER_REPLY));
  await step('QUEUE_GET_CONFIG_REPLY', () =>
    expectReply('queue config', ofp(OFPT.QUEUE_GET_CONFIG_REQUEST, 0, Buffer.from('0000000100000000', 'hex')), 'single', OFPT.QUEUE_GET_CONFIG_REPLY));
  await step('GET_ASYNC_REPLY after SET_ASYNC', () => expectReply('get-async', ofp(OFPT.GET_ASYNC_REQUEST, 0), 'single', OFPT.GET_ASYNC_REPLY));

  // FLOW_REMOVED for every reason OVS has.
  const removed = (cookie: bigint, reason: number) => (m: Buffer): boolean =>
    msgType(m) === OFPT.FLOW_REMOVED && m.readBigUInt64BE(8) === cookie && m[18] === reason;
  await step('FLOW_REMOVED delete', async () => {
    await sandbox.ofctl(bridge, 'del-flows', 'cookie=0x77/-1');
    await ctl.waitFor(removed(0x77n, 2), 'FLOW_REMOVED reason DELETE');
  });
  await step('FLOW_REMOVED group delete', async () => {
    await sandbox.ofctl(bridge, 'del-groups', 'group_id=3');
    await ctl.waitFor(removed(0x7an, 3), 'FLOW_REMOVED reason GROUP_DELETE');
  });
  await step('FLOW_REMOVED meter delete', async () => {
    await sandbox.ofctl(bridge, 'del-meters', 'meter=2');
    await ctl.waitFor((m) => msgType(m) === OFPT.FLOW_REMOVED && m.readBigUInt64BE(8) === 0x7bn, 'FLOW_REMOVED of the metered flow');
  });
  await step('FLOW_REMOVED hard timeout', () => ctl.waitFor(removed(0x78n, 1), 'FLOW_REMOVED reason HARD_TIMEOUT', 15_000));
  await step('FLOW_REMOVED idle timeout', () => ctl.waitFor(removed(0x79n, 0), 'FLOW_REMOVED reason IDLE_TIMEOUT', 15_000));

  // PORT_STATUS modify and delete.
  await step('PORT_STATUS modify (port down)', async () => {
    const from = ctl.received.length;
    await sandbox.ofctl(bridge, 'mod-port', p1, 'down');
    await ctl.waitFor(portStatusFor(p1, 2), `PORT_STATUS modify ${p1}`, 10_000, from);
  });
  await step('PORT_STATUS delete', async () => {
    await sandbox.delPort(bridge, p2);
    await ctl.waitFor(portStatusFor(p2, 1), `PORT_STATUS delete ${p2}`);
  });

  const captures = ctl.received.map((r) => ({ direction: 'switch-to-controller' as const, source: 'ovs-vswitchd', bytes: r.bytes }));
  return { captures, sandbox, controller: ctl, bridge, ports: [p1, p2] };
}

/** Our encoding of `m`; the live test uses it only where the codec is not what is checked. */
function encodeOrRaw(m: Message): Buffer {
  return encodeMessage(m);
}

// ---------------------------------------------------------------------------------------------
// 3. Checks.

/** Keeps one capture per distinct byte string, labelled with its first source. */
function distinct(captures: Capture[]): Capture[] {
  const seen = new Set<string>();
  return captures.filter((c) => {
    const k = hex(c.bytes);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function describeMsg(b: Buffer): string {
  const type = msgType(b);
  const name = Object.entries(OFPT).find(([, v]) => v === type)?.[0] ?? `type ${type}`;
  return type === OFPT.MULTIPART_REQUEST || type === OFPT.MULTIPART_REPLY ? `${name}/${mpType(b)}` : name;
}

/** Decode + re-encode of every capture; returns the decoded messages (undefined where it failed). */
function roundTrip(t: Test, captures: Capture[]): Array<Message | undefined> {
  return captures.map((c) => {
    const what = `${describeMsg(c.bytes)} from ${c.source}`;
    let m: Message;
    try {
      m = decodeMessage(c.bytes);
    } catch (err) {
      t.fail(`${what}: decode failed: ${err instanceof OpenFlowError ? err.message : String(err)}`, { hex: hex(c.bytes) });
      return undefined;
    }
    let again: Buffer;
    try {
      again = encodeMessage(m);
    } catch (err) {
      t.fail(`${what}: re-encode failed: ${err instanceof Error ? err.message : String(err)}`, { hex: hex(c.bytes) });
      return m;
    }
    t.ok(again.equals(c.bytes), `${what}: decodes and re-encodes byte for byte`, again.equals(c.bytes) ? {} : {
      original: hex(c.bytes), ours: hex(again),
    });
    return m;
  });
}

// Fixture-only check: runs wherever the fixture exists, with or without OVS.
const fixtureFile = join(fixturesDir(), FIXTURE);
t.test('captured OVS messages (fixture) decode and re-encode byte for byte', {
  skip: existsSync(fixtureFile) ? false : `no fixture at ${fixtureFile} (generate it with OFP_WRITE_FIXTURES=1)`,
}, async (t) => {
  const fx = JSON.parse(readFileSync(fixtureFile, 'utf8')) as CaptureFixture;
  t.ok(fx.messages.length > 100, `${fx.messages.length} captured messages`);
  roundTrip(t, fx.messages.map((m) => ({ direction: m.direction, source: m.source, bytes: Buffer.from(m.hex, 'hex') })));
});

const unavailable = ovsUnavailableReason();
t.test('live Open vSwitch 3.1 cross-check', { skip: unavailable ?? false, timeout: 280_000 }, async (t) => {
  t.teardown(() => Cleanup.runAll());
  const work = makeTempDir('vino-ofctl-');

  let fromOfctl: Capture[] = [];
  await t.test('capture: ovs-ofctl -> our fake switch', async (st) => {
    fromOfctl = await captureFromOfctl(st, work.dir);
  });
  let live: LiveResult | undefined;
  await t.test('capture: ovs-vswitchd -> our fake controller', async (st) => {
    live = await captureFromVswitchd(st, t);
  });
  const all = distinct([...fromOfctl, ...(live?.captures ?? [])]);
  const texts = await ofpPrintMany(all.map((c) => c.bytes), work.dir);
  if (process.env['OFP_OVS_DUMP']) {
    writeFileSync(process.env['OFP_OVS_DUMP'], all.map((c, i) => `### ${c.source}\n${hex(c.bytes)}\n${texts[i]}`).join('\n'));
  }
});
