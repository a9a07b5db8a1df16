/**
 * The overlay address of a bridge's internal port: OVSDB cannot set IP addresses, so once
 * ovs-vswitchd has created the device this reads it with `ip -j addr show` and runs only the
 * `ip` commands that change something (a second run runs none).
 */
import type { Change } from './diff.js';
import { shellQuote, type NodeAccess } from './node-access.js';
import type { DesiredAddress } from './plan.js';

export interface InetAddress {
  ip: string;
  prefixLength: number;
  scope: string;
}

export interface LinkAddresses {
  ifname: string;
  up: boolean;
  inet: InetAddress[];
}

/** Parses `ip -j addr show dev IF` (iproute2 JSON output). */
export function parseIpAddrJson(stdout: string, ifname: string): LinkAddresses {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    throw new Error(`cannot read \`ip -j addr show dev ${ifname}\` output (not JSON): ${stdout.slice(0, 200)}`);
  }
  const link = Array.isArray(parsed) ? (parsed as Array<Record<string, unknown>>).find((l) => l && l.ifname === ifname) : undefined;
  if (!link) throw new Error(`\`ip -j addr show dev ${ifname}\` does not list ${ifname}`);
  const flags = Array.isArray(link.flags) ? link.flags : [];
  const info = Array.isArray(link.addr_info) ? (link.addr_info as Array<Record<string, unknown>>) : [];
  return {
    ifname,
    up: flags.includes('UP'),
    inet: info
      .filter((a) => a.family === 'inet' && typeof a.local === 'string' && typeof a.prefixlen === 'number')
      .map((a) => ({ ip: a.local as string, prefixLength: a.prefixlen as number, scope: typeof a.scope === 'string' ? a.scope : 'global' })),
  };
}

export interface AddressStep {
  change: Change;
  argv: string[];
}

/**
 * The commands taking `have` to `want`: other global IPv4 addresses on our port go (it is ours,
 * and a stale overlay address would answer for an address that moved), the wanted one is set,
 * the link brought up.
 */
export function addressSteps(have: LinkAddresses, want: DesiredAddress): AddressStep[] {
  const steps: AddressStep[] = [];
  const cidr = `${want.ip}/${want.prefixLength}`;
  let present = false;
  for (const a of have.inet) {
    if (a.ip === want.ip && a.prefixLength === want.prefixLength) present = true;
    else if (a.scope === 'global') {
      steps.push({
        change: { action: 'remove', kind: 'address', name: `${a.ip}/${a.prefixLength}`, detail: `stale, on ${want.ifname}` },
        argv: ['ip', 'addr', 'del', `${a.ip}/${a.prefixLength}`, 'dev', want.ifname],
      });
    }
  }
  if (!present) {
    steps.push({ change: { action: 'create', kind: 'address', name: cidr, detail: `on ${want.ifname}` }, argv: ['ip', 'addr', 'replace', cidr, 'dev', want.ifname] });
  }
  if (!have.up) {
    steps.push({ change: { action: 'update', kind: 'link', name: want.ifname, detail: 'down -> up' }, argv: ['ip', 'link', 'set', 'dev', want.ifname, 'up'] });
  }
  return steps;
}

export async function readLinkAddresses(access: Pick<NodeAccess, 'exec'>, ifname: string, timeoutMs?: number): Promise<LinkAddresses> {
  const { stdout } = await access.exec(['ip', '-j', 'addr', 'show', 'dev', ifname], timeoutMs === undefined ? {} : { timeoutMs });
  return parseIpAddrJson(stdout, ifname);
}

/** The steps as one command: starting a command on a node is what costs (a process, an SSH channel). */
export function combinedArgv(steps: readonly AddressStep[]): string[] {
  if (steps.length === 1) return steps[0]!.argv;
  return ['sh', '-c', steps.map((s) => s.argv.map(shellQuote).join(' ')).join(' && ')];
}

/**
 * Reads the device and runs what is missing in one command (nothing when `dryRun`); returns
 * what changed (or would). `fresh`: ovs-vswitchd has just created the device for a port our
 * transaction added, so it has no address and is down: no need to read it first.
 */
export async function ensureAddress(
  access: Pick<NodeAccess, 'exec'>,
  want: DesiredAddress,
  options: { dryRun?: boolean; fresh?: boolean; timeoutMs?: number } = {},
): Promise<Change[]> {
  const opts = options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };
  const have = options.fresh && !options.dryRun ? { ifname: want.ifname, up: false, inet: [] } : await readLinkAddresses(access, want.ifname, options.timeoutMs);
  const steps = addressSteps(have, want);
  if (!options.dryRun && steps.length > 0) await access.exec(combinedArgv(steps), opts);
  return steps.map((s) => s.change);
}
