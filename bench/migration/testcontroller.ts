/**
 * Open vSwitch's own C learning controller as a migration baseline: `ovs-testcontroller -O
 * OpenFlow13 --wildcards ptcp:PORT:HOST` (Debian openvswitch-testcontroller), every bridge of the overlay
 * pointed at it. It learns MAC → port from packet-ins and installs (in_port, eth_src, eth_dst) flows (idle
 * timeout 60 s, its default); like os-ken it learns a moved container only from its traffic.
 */
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { sleep, startLogged, type Child } from '../../testbed/workload/processes.js';

export const OVS_TESTCONTROLLER = '/usr/bin/ovs-testcontroller';

/** Why ovs-testcontroller cannot run here, or null when it can. */
export function testControllerMissing(): string | null {
  return existsSync(OVS_TESTCONTROLLER) ? null : `${OVS_TESTCONTROLLER} not found (Debian package openvswitch-testcontroller)`;
}

function listening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Starts ovs-testcontroller on host:port (its control socket at `ctlFile`) and waits until it accepts connections. */
export async function startTestController(options: { host: string; port: number; logFile: string; ctlFile: string; timeoutMs?: number }): Promise<Child> {
  const missing = testControllerMissing();
  if (missing) throw new Error(`ovs-testcontroller: ${missing}`);
  // Its own control socket: the default path is shared by every instance on the machine.
  const child = startLogged('ovs-testcontroller', [OVS_TESTCONTROLLER, '-O', 'OpenFlow13', '--wildcards', `--unixctl=${options.ctlFile}`, '-vconsole:warn', `ptcp:${options.port}:${options.host}`], options.logFile);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!child.running()) throw new Error(`ovs-testcontroller exited before listening; ${options.logFile}:\n${child.tail()}`);
    if (await listening(options.host, options.port)) return child;
    await sleep(100);
  }
  await child.stop(1000);
  throw new Error(`ovs-testcontroller did not listen on ${options.host}:${options.port} within ${timeoutMs} ms; ${options.logFile}:\n${child.tail()}`);
}
