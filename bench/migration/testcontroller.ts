/**
 * Open vSwitch's own C learning controller as a migration baseline: `ovs-testcontroller -O
 * OpenFlow13 --wildcards ptcp:PORT:HOST` (Debian openvswitch-testcontroller), every bridge of the overlay
 * pointed at it. It learns MAC → port from packet-ins and installs (in_port, eth_src, eth_dst) flows (idle
 * timeout 60 s, its default); like os-ken it learns a moved container only from its traffic.
 */
import { existsSync } from 'node:fs';
import { startLogged, waitListening, type Child } from '../../testbed/workload/processes.js';

export const OVS_TESTCONTROLLER = '/usr/bin/ovs-testcontroller';

/** Why ovs-testcontroller cannot run here, or null when it can. */
export function testControllerMissing(): string | null {
  return existsSync(OVS_TESTCONTROLLER) ? null : `${OVS_TESTCONTROLLER} not found (Debian package openvswitch-testcontroller)`;
}


/** Starts ovs-testcontroller on host:port (its control socket at `ctlFile`) and waits until it accepts connections. */
export async function startTestController(options: { host: string; port: number; logFile: string; ctlFile: string; timeoutMs?: number }): Promise<Child> {
  const missing = testControllerMissing();
  if (missing) throw new Error(`ovs-testcontroller: ${missing}`);
  // Its own control socket: the default path is shared by every instance on the machine.
  const child = startLogged('ovs-testcontroller', [OVS_TESTCONTROLLER, '-O', 'OpenFlow13', '--wildcards', `--unixctl=${options.ctlFile}`, '-vconsole:warn', `ptcp:${options.port}:${options.host}`], options.logFile);
  return waitListening(child, 'ovs-testcontroller', { host: options.host, port: options.port, logFile: options.logFile, timeoutMs: options.timeoutMs ?? 30_000, pollMs: 100 });
}
