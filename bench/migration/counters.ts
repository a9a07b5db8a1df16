/**
 * Where frames of a migration run are lost: kernel and switch counters read before and after
 * the run, kept as differences in the run's file (run-<mode>-<n>.json, see --keep).
 *
 *   container  /proc/net/snmp and /proc/net/netstat of the migrating container's namespace
 *              (Udp RcvbufErrors: datagrams its socket had no room for; TcpExt ListenOverflows:
 *              handshakes its listener's accept queue had no room for) and its interfaces'
 *              rx/tx drops (`ip -s link`);
 *   switches   OpenFlow port counters of the container's ports on the old and new host's bridge
 *              (tx_dropped: frames the switch could not hand to the veth) and the datapath's
 *              drop coverage counters (ovs-appctl coverage/show: drop_action_*, datapath_drop_*).
 *              datapath_drop_meter is a real loss (a meter band dropped the frame whole);
 *              datapath_drop_userspace_action_error is not: dpif-netdev counts there every frame
 *              it handed to the controller (the upcall of a controller action answers EAGAIN).
 *   probe      the probe server's own totals (probe-server --counters-file): udpOutOfOrder,
 *              datagrams it received after a later one of their session (reordered on the way
 *              in), and udpDuplicates.
 *
 * Counters that did not move are left out.
 */
import { readFile } from 'node:fs/promises';
import type { Overlay } from '../../testbed/workload/overlay.js';

export type Counters = Record<string, number>;

/** "Udp: InDatagrams ..." header/value line pairs of /proc/net/snmp and /proc/net/netstat. */
export function parseProcNet(text: string): Counters {
  const out: Counters = {};
  const lines = text.split('\n').filter((l) => l.includes(':'));
  for (let i = 0; i + 1 < lines.length; i++) {
    const [head, ...keys] = lines[i]!.trim().split(/\s+/);
    const [head2, ...vals] = lines[i + 1]!.trim().split(/\s+/);
    if (head !== head2 || keys.length !== vals.length || !keys.some((k) => !/^-?\d+$/.test(k))) continue;
    const proto = head!.replace(/:$/, '');
    keys.forEach((k, j) => {
      const v = Number(vals[j]);
      if (Number.isFinite(v)) out[`${proto}.${k}`] = v;
    });
    i++;
  }
  return out;
}

/** `ip -s -j link` → "<ifname>.rx_dropped" and the like. */
export function parseIpLinkStats(json: string): Counters {
  const out: Counters = {};
  const links = JSON.parse(json || '[]') as { ifname?: string; stats64?: { rx?: Record<string, number>; tx?: Record<string, number> } }[];
  for (const l of links) {
    if (!l.ifname || !l.stats64) continue;
    for (const dir of ['rx', 'tx'] as const) {
      for (const [k, v] of Object.entries(l.stats64[dir] ?? {})) if (typeof v === 'number') out[`${l.ifname}.${dir}_${k}`] = v;
    }
  }
  return out;
}

/** `ovs-ofctl dump-ports BR PORT` (OpenFlow 1.3 text) → "rx_pkts", "tx_dropped", ... */
export function parseDumpPorts(text: string, prefix: string): Counters {
  const out: Counters = {};
  let dir = '';
  for (const tok of text.split(/[\s,]+/)) {
    if (tok === 'rx' || tok === 'tx') dir = tok;
    const m = /^(pkts|bytes|drop|errs|frame|over|crc|coll)=(\d+)$/.exec(tok);
    if (m && dir) out[`${prefix}.${dir}_${m[1]}`] = Number(m[2]);
  }
  return out;
}

/** `ovs-appctl coverage/show` → the drop counters' totals. */
export function parseCoverage(text: string, prefix: string): Counters {
  const out: Counters = {};
  for (const line of text.split('\n')) {
    const m = /^(\S*drop\S*)\s+.*total:\s*(\d+)/.exec(line.trim());
    if (m) out[`${prefix}.${m[1]}`] = Number(m[2]);
  }
  return out;
}

/** The probe server's counters file (JSON object of totals) → its numeric fields. */
export function parseProbeCounters(json: string, prefix: string): Counters {
  const out: Counters = {};
  for (const [k, v] of Object.entries(JSON.parse(json) as Record<string, unknown>)) if (typeof v === 'number') out[`${prefix}.${k}`] = v;
  return out;
}

async function orEmpty(p: Promise<Counters>): Promise<Counters> {
  try {
    return await p;
  } catch {
    return {};
  }
}

/** A snapshot of every counter above; `ports`: the container's port on each bridge (node → port name). */
export async function readCounters(ov: Overlay, container: string, ports: Record<string, string>): Promise<Counters> {
  const bed = ov.bed;
  const parts = await Promise.all([
    orEmpty(bed.execInContainer(container, ['cat', '/proc/net/snmp', '/proc/net/netstat']).then((r) => prefixed(parseProcNet(r.stdout), `${container}`))),
    orEmpty(bed.execInContainer(container, ['ip', '-s', '-j', 'link']).then((r) => prefixed(parseIpLinkStats(r.stdout), `${container}`))),
    orEmpty(readFile(ov.probeCountersFile(container), 'utf8').then((t) => parseProbeCounters(t, `${container}.probe`))),
    ...Object.entries(ports).flatMap(([node, port]) => [
      orEmpty(ov.ofctl(node, 'dump-ports', port).then((t) => parseDumpPorts(t, `${node}:${port}`))),
      orEmpty(ov.appctl(node, 'coverage/show').then((t) => parseCoverage(t, node))),
    ]),
  ]);
  return Object.assign({}, ...parts) as Counters;
}

function prefixed(c: Counters, prefix: string): Counters {
  return Object.fromEntries(Object.entries(c).map(([k, v]) => [`${prefix}.${k}`, v]));
}

/** after − before, only what moved. */
export function counterDelta(before: Counters, after: Counters): Counters {
  const out: Counters = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}
