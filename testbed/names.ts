/**
 * Names of everything a run creates. All carry the run id (`vt` + 4 hex digits), so a run only
 * ever touches its own objects and `cleanupStale` can recognise leftovers of crashed runs:
 *
 *   namespaces   <run>-<node>, <run>-<container>   (topology names: letter first, [A-Za-z0-9_-])
 *                <run>.underlay                    ('.' cannot occur in a node name)
 *   root links   <run>-gw                          (gateway veth; its peer `gw` is in <run>.underlay)
 *   folders      <baseDir>/<run>/                  (OVS_RUNDIR etc. of each node, run.json)
 *
 * Inside the namespaces names need no run id: `br0` and `u<index>` in the underlay namespace,
 * `underlay` and `br-phy` in a node, `eth0` in a container.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { listNetns } from './proc.js';

export const RUN_ID_PATTERN = /^vt[0-9a-f]{4}$/;
/** Matches every namespace and root link name a run makes; group 1 is the run id. */
export const RUN_OBJECT_PATTERN = /^(vt[0-9a-f]{4})[-.]/;
/** Node and container names (the topology's rule). */
export const NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;
export const IFNAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/;

export const UNDERLAY_BRIDGE = 'br0';
export const NODE_UNDERLAY_IF = 'underlay';
export const PHY_BRIDGE = 'br-phy';
export const CONTAINER_IF = 'eth0';
export const GATEWAY_PEER_IF = 'gw';

export const defaultBaseDir = () => path.join(os.tmpdir(), 'vino-testbed');

export const nodeNetns = (runId: string, node: string) => `${runId}-${node}`;
export const containerNetns = (runId: string, container: string) => `${runId}-${container}`;
export const underlayNetns = (runId: string) => `${runId}.underlay`;
export const gatewayLink = (runId: string) => `${runId}-gw`;
export const underlayPort = (index: number) => `u${index}`;

/** A run id not used by any namespace or run folder present now. */
export function newRunId(baseDir: string): string {
  const taken = new Set(listNetns().map((n) => RUN_OBJECT_PATTERN.exec(n)?.[1]).filter(Boolean));
  for (let i = 0; i < 1000; i++) {
    const id = `vt${randomBytes(2).toString('hex')}`;
    if (!taken.has(id) && !existsSync(path.join(baseDir, id))) return id;
  }
  throw new Error('testbed: no free run id (1000 tries); remove stale runs with `vino-controller testbed down --all`');
}

export function checkName(kind: string, name: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new Error(`testbed: invalid ${kind} name "${name}" (a letter, then up to 31 letters, digits, "_" or "-")`);
  }
}

export function checkIfname(what: string, name: string): void {
  if (!IFNAME_PATTERN.test(name)) {
    throw new Error(`testbed: invalid ${what} "${name}" (1 to 15 characters: letters, digits, "_", "." or "-", not starting with "." or "-")`);
  }
}

/** Deterministic, locally administered, unicast MAC for br-phy of node `index` in run `runId`. */
export function underlayMac(runId: string, index: number): string {
  const hex = runId.slice(2);
  const b = [0x02, 0x76, parseInt(hex.slice(0, 2), 16), parseInt(hex.slice(2, 4), 16), (index >> 8) & 0xff, index & 0xff];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}
